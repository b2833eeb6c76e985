// When a connection writes its reply handlers' follow-ups early (Connection, write_early): the
// policy as a pure function, so it is tested without sockets.
#pragma once

#include <algorithm>
#include <cstddef>

namespace hydra::redis {

/// The follow-ups of a batch of replies go out in groups of about half the requests the
/// connection has outstanding, so about this many groups are in circulation: Redis works on one
/// while the client handles the replies to the other, and neither waits for the other to finish
/// a whole batch. Also the most early writes per batch of replies. Two groups are what two
/// processes need to overlap, and each group more costs both sides a system call: quarters were
/// measured against halves on four days and lost on three (docs/benchmarks.md, "Early writes in
/// halves"). The bare hiredis client of bench/messaging_bench flushes the same way, every 8
/// commands at 16 in flight.
inline constexpr unsigned kEarlyWriteGroups = 2;

/// Whether the `queued` follow-ups waiting to be written go out now. `outstanding`: the requests
/// the connection has written and not yet seen answered, plus the queued ones; `min_group`:
/// Config::early_write_threshold (0 = never early); `early_writes`: those made in this batch of
/// replies so far.
constexpr bool early_write_due(std::size_t queued, std::size_t outstanding, std::size_t min_group,
                               unsigned early_writes) {
  if (min_group == 0 || early_writes >= kEarlyWriteGroups) return false;
  return queued >= std::max(min_group, outstanding / kEarlyWriteGroups);
}

}  // namespace hydra::redis
