// When a connection writes its reply handlers' follow-ups early (Connection, write_early): the
// policy as a pure function, so it is tested without sockets.
#pragma once

#include <algorithm>
#include <cstddef>

namespace hydra::redis {

/// The follow-ups of a batch of replies go out in groups of about a quarter of the requests the
/// connection has outstanding, so about this many groups are in circulation: Redis works on one
/// while the client handles the replies to another, and neither waits for the other to finish a
/// whole batch. Also the most early writes per batch of replies.
inline constexpr unsigned kEarlyWriteGroups = 4;

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
