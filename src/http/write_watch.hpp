// When a WebSocket connection's writes count as stalled (WebSocketOptions::stalled_write_timeout):
// the decision of each look of the connection's write watch, as a pure function, so it is tested
// without sockets.
#pragma once

#include <cstdint>

namespace hydra::http {

/// What a look at a connection sees: the messages written so far, and the bytes the kernel
/// still holds for the peer (written or not, not yet acknowledged: TIOCOUTQ).
struct WriteProgress {
  std::uint64_t writes_done = 0;
  std::int64_t kernel_unacked = 0;
};

enum class WatchVerdict {
  stop,   // nothing waits for the peer: the watch ends until the writer starts again
  again,  // data waits and moved since the last look: look again after another period
  drop,   // data waits and nothing moved for a whole period: the peer does not take it
};

/// `writing`: the writer has a message in hand or queued. Data waits for the peer when it does,
/// or when the kernel still holds bytes for it. Any change since the last look counts as
/// movement: a completed write, or acknowledged bytes (a partial write of a large message
/// changes the count too, and it only gets room when the peer took something).
constexpr WatchVerdict judge_write_progress(WriteProgress before, WriteProgress now, bool writing) {
  if (!writing && now.kernel_unacked <= 0) return WatchVerdict::stop;
  if (now.writes_done != before.writes_done || now.kernel_unacked != before.kernel_unacked)
    return WatchVerdict::again;
  return WatchVerdict::drop;
}

}  // namespace hydra::http
