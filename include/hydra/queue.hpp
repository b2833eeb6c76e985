/// @brief Hydra work queues on Redis lists, compatible with Node Hydra's queueMessage /
/// getQueuedMessage / markQueueMessage, plus blocking dequeue, statistics and at-least-once
/// delivery with leases for hydra-cpp consumers. Guarantees: docs/queues.md.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hydra/result.hpp"
#include "hydra/umf.hpp"

namespace hydra {

class Hydra;

/// An item taken from a queue: the message, the exact string that was stored (markQueueMessage
/// removes exactly that string, so Node and C++ can finish each other's items) and the queue it
/// came from.
struct QueuedMessage {
  umf::Message message;
  std::string raw;
  std::string service_name;
  /// How many times it was delivered (1 the first time; more after lease expiries).
  unsigned attempt = 1;
  /// Set when taken with a lease; the item returns to mqrecieved if not marked before it.
  std::optional<std::chrono::system_clock::time_point> lease_until;
};

/// Lengths of the three lists and the age of the oldest waiting item.
struct QueueStats {
  long long received = 0;     ///< hydra:service:<svc>:mqrecieved (sic)
  long long in_progress = 0;  ///< :mqinprogress
  /// Of those, the items leased by hydra-cpp consumers (:mqleases). The rest were taken without
  /// a lease (Node consumers, get_queued_message): nothing returns them if their consumer died.
  long long leased = 0;
  long long incomplete = 0;  ///< :mqincomplete
  /// :mqclaimed, items a leased blocking wait moved out of mqrecieved and has not leased yet;
  /// normally 0 (an item stays there for one script), else left by a waiter that died, until
  /// the next leased take or reclaim_expired.
  long long claimed = 0;
  /// Age of the oldest item in mqrecieved from its UMF timestamp; nullopt when empty/unknown.
  std::optional<std::chrono::milliseconds> oldest_age;
};

/// What Queue::mark_and_take_next did.
struct MarkAndTake {
  /// The marked item was still in progress (mark_queue_message's result).
  bool marked = false;
  /// The next item; nullopt when the queue was empty.
  std::optional<QueuedMessage> next;
};

/// Options of a leased (at-least-once) consumer.
struct LeaseOptions {
  /// How long an item may stay in progress before it is given to another consumer.
  std::chrono::milliseconds lease{30000};
  /// Deliveries before an item is dead-lettered to mqincomplete with a reason.
  unsigned max_attempts = 5;
};

/// Queue operations of one Hydra instance (uses its Redis connection and service name).
class Queue {
 public:
  explicit Queue(Hydra& hydra);
  /// Stops a pending blocking wait (it fails with `errc::stopped`).
  ~Queue();
  /// Ends a pending `wait_queued_message` at once with `errc::stopped` (e.g. on SIGTERM); later
  /// blocking waits fail the same way. Non-blocking calls keep working.
  void stop();

  /// Node's queueMessage: validates the UMF (400 `UMF message requires "to", "from" and "body"
  /// fields`), parses `to` (400 with the route error) and LPUSHes the short form to
  /// `hydra:service:<svc>:mqrecieved`. The result carries the stored message's mid.
  boost::asio::awaitable<Result> queue_message(const boost::json::object& message);
  /// The same, moving the message's values out of `message` instead of copying them.
  boost::asio::awaitable<Result> queue_message(boost::json::object&& message);
  boost::asio::awaitable<Result> queue_message(const umf::Message& message);

  /// Node's getQueuedMessage: RPOPLPUSH mqrecieved → mqinprogress; nullopt when empty.
  /// At-most-once for the item if this consumer dies (as Node).
  boost::asio::awaitable<std::optional<QueuedMessage>> get_queued_message(std::string service);

  /// Waits up to `timeout` for an item (on a connection of its own, so other commands are not
  /// blocked): BRPOPLPUSH, or with `lease` an item taken and leased atomically once the queue
  /// has one (at-least-once, see LeaseOptions; one item wakes one waiter; docs/queues.md,
  /// "Blocking waits").
  /// A zero (or negative) timeout does not wait: one attempt, atomic take-and-lease with `lease`.
  /// An empty `service` means this Hydra's own service (also for the other calls).
  boost::asio::awaitable<std::optional<QueuedMessage>> wait_queued_message(
      std::string service, std::chrono::milliseconds timeout,
      std::optional<LeaseOptions> lease = std::nullopt);

  /// Node's markQueueMessage: LREM of the exact stored string from mqinprogress; then
  /// `bdy.reason` = reason (default 'reason not provided'); incomplete items are RPUSHed to
  /// mqincomplete. Releases the lease if there was one. Returns false when the item was no longer
  /// in progress (e.g. its lease expired and it was redelivered).
  boost::asio::awaitable<bool> mark_queue_message(const QueuedMessage& item, bool completed,
                                                  std::string reason);
  /// The same with Node's default reason. (An overload rather than a default argument: g++ 12
  /// has generated invalid code for default-argument temporaries in co_await expressions.)
  boost::asio::awaitable<bool> mark_queue_message(const QueuedMessage& item, bool completed) {
    return mark_queue_message(item, completed, std::string());
  }

  /// A consumer's step in one round trip instead of two: marks `item` exactly as
  /// mark_queue_message does and takes the next item of the same queue as get_queued_message
  /// does (with `lease`: leased, as wait_queued_message with a zero timeout), the commands
  /// written together. Redis runs the mark first. A loop of get + mark waits for Redis twice per
  /// item; a loop of mark_and_take_next once. Node consumers on the same lists see nothing new.
  boost::asio::awaitable<MarkAndTake> mark_and_take_next(const QueuedMessage& item, bool completed,
                                                         std::string reason,
                                                         std::optional<LeaseOptions> lease);
  boost::asio::awaitable<MarkAndTake> mark_and_take_next(const QueuedMessage& item, bool completed,
                                                         std::string reason) {
    return mark_and_take_next(item, completed, std::move(reason), std::nullopt);
  }
  boost::asio::awaitable<MarkAndTake> mark_and_take_next(const QueuedMessage& item,
                                                         bool completed) {
    return mark_and_take_next(item, completed, std::string(), std::nullopt);
  }

  /// Extends the lease of an item being processed.
  boost::asio::awaitable<bool> extend_lease(QueuedMessage& item, std::chrono::milliseconds lease);

  /// Returns expired leased items of `service` to mqrecieved (or dead-letters them), and items
  /// a leased blocking wait claimed but never took (mqclaimed: its waiter died between its
  /// wake-up and its take); returns how many were moved. Consumers call it periodically; any
  /// instance may.
  boost::asio::awaitable<std::size_t> reclaim_expired(std::string service,
                                                      LeaseOptions options = {});

  /// Lengths and age of the oldest waiting item.
  boost::asio::awaitable<QueueStats> stats(std::string service);

  /// The waiting items, oldest first (LRANGE, at most `limit`).
  boost::asio::awaitable<std::vector<std::string>> peek(std::string service,
                                                        std::size_t limit = 10);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hydra
