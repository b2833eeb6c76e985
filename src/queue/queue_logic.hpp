// Pure parts of the work queues (key names, reason insertion, statistics, lease scripts), kept
// free of I/O so they can be unit tested byte for byte.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hydra/queue.hpp"

namespace hydra::queue_detail {

/// `hydra:service:<svc>:mqrecieved` (Node's spelling), the list producers LPUSH to.
std::string received_key(std::string_view service);
/// `hydra:service:<svc>:mqinprogress`, where RPOPLPUSH moves items being processed.
std::string in_progress_key(std::string_view service);
/// `hydra:service:<svc>:mqincomplete`, where failed (and dead-lettered) items end up.
std::string incomplete_key(std::string_view service);
/// `hydra:service:<svc>:mqleases`: ZSET member = stored string, score = deadline (ms epoch).
std::string leases_key(std::string_view service);
/// `hydra:service:<svc>:mqattempts`: HASH field = stored string, value = deliveries so far.
std::string attempts_key(std::string_view service);
/// `hydra:service:<svc>:mqclaimed`: items a leased blocking wait moved out of mqrecieved and its
/// take has not yet leased (normally for the time of one script). Every leased take looks here
/// first, and reclaim_expired returns what it finds here to mqrecieved.
std::string claimed_key(std::string_view service);

/// Node's default when markQueueMessage gets no reason.
inline constexpr std::string_view kDefaultReason = "reason not provided";

/// What Node's markQueueMessage writes to mqincomplete for the stored string `raw`: the parsed
/// object with `bdy.reason` (or `body.reason` when there is no truthy `bdy`) set to `reason`
/// (default "reason not provided"), re-serialised like JSON.stringify. The stored keys and their
/// order are kept; `reason` replaces an existing one in place or is appended, as a JS property
/// assignment does. Text that is not a JSON object, or whose body is not an object, is returned
/// unchanged (there is nowhere to put the reason).
std::string with_reason(std::string_view raw, std::string_view reason);

/// The reason written when an item is dead-lettered after `attempts` deliveries.
std::string dead_letter_reason(unsigned attempts);

/// The UMF timestamp (`ts`, or the long `timestamp`) of a stored item; nullopt if unreadable.
std::optional<std::chrono::system_clock::time_point> item_timestamp(std::string_view raw);

/// Builds QueueStats from the three lengths and the oldest waiting item (LINDEX mqrecieved -1).
/// The age is `now - ts`, never negative (clock skew between producers is clamped to zero).
QueueStats make_stats(long long received, long long in_progress, long long incomplete,
                      const std::optional<std::string>& oldest_raw,
                      std::chrono::system_clock::time_point now);

/// A stored item as a QueuedMessage. Malformed items (not a JSON object) keep their raw text with
/// an empty message, so callers can still mark them and nothing is lost or crashes.
QueuedMessage make_item(std::string raw, std::string service);

/// Redis' fractional-second timeout argument for a blocking pop ("0.25" for 250 ms).
std::string blocking_timeout_arg(std::chrono::milliseconds timeout);

/// Milliseconds since the epoch as a time_point.
std::chrono::system_clock::time_point from_epoch_ms(long long ms);

}  // namespace hydra::queue_detail
