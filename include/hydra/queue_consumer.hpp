/// @brief A queue consumer that runs a handler for every item of a Hydra queue: it waits for
/// items without polling, leases them, keeps the lease while the handler runs, marks each item
/// complete or incomplete from the handler's outcome and returns expired leases to the queue.
/// Guarantees: docs/queues.md.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hydra/queue.hpp"

namespace hydra {

/// How a QueueConsumer takes and finishes items.
struct ConsumerOptions {
  /// The queue's service; empty means the Hydra's own service.
  std::string service;
  /// Items are leased (at-least-once, the default). With nullopt they are taken as Node's
  /// getQueuedMessage takes them: an item whose consumer dies stays in mqinprogress.
  std::optional<LeaseOptions> lease = LeaseOptions{};
  /// Handlers running at once. Each worker waits on a Redis connection of its own.
  std::size_t concurrency = 1;
  /// Longest single blocking wait, more than zero; stop() ends a wait at once
  /// either way.
  std::chrono::milliseconds wait{1000};
  /// How often the consumer returns the queue's expired leases to mqrecieved (or dead-letters
  /// them after LeaseOptions::max_attempts); zero never. Only with a lease.
  std::chrono::milliseconds reclaim_interval{5000};
  /// The pause after a Redis error before the worker tries again.
  std::chrono::milliseconds retry_pause{1000};
  /// Extends the lease every third of its length while the handler runs, so a slow handler
  /// that is still alive keeps its item. Without it a handler must finish within the lease.
  bool keep_lease = true;
};

/// What a QueueConsumer has done so far.
struct ConsumerStats {
  std::uint64_t taken = 0;       ///< items handed to the handler
  std::uint64_t completed = 0;   ///< marked complete (the handler returned)
  std::uint64_t incomplete = 0;  ///< marked incomplete (the handler threw)
  /// Marks that found the item no longer in progress: its lease had expired and the item was
  /// given to another consumer (or dead-lettered) while the handler ran.
  std::uint64_t lost = 0;
  std::uint64_t reclaimed = 0;  ///< expired leases returned to the queue or dead-lettered
  std::uint64_t errors = 0;     ///< Redis errors (each followed by a pause and a retry)
};

/// Runs `handler` for the items of one queue until stopped.
///
///     hydra::QueueConsumer consumer(hydra, [](const hydra::QueuedMessage& item)
///                                              -> boost::asio::awaitable<void> {
///       co_await work(item.message.body());  // throw to mark the item incomplete
///     });
///     consumer.start();
///     ...
///     co_await consumer.stop();
///
/// A handler that returns marks its item complete; one that throws marks it incomplete with the
/// exception's message as `bdy.reason` (Node's markQueueMessage(message, false, reason)), so
/// the item goes to mqincomplete. The next item is taken in the same round trip as the mark.
/// Handlers run on the Hydra's executor. The Hydra must outlive the consumer's work: await
/// stop() before shutting it down.
class QueueConsumer {
 public:
  using Handler = std::function<boost::asio::awaitable<void>(const QueuedMessage&)>;

  QueueConsumer(Hydra& hydra, Handler handler, ConsumerOptions options = {});
  /// Ends blocking waits at once and lets the workers finish on their own (see stop()).
  ~QueueConsumer();
  QueueConsumer(const QueueConsumer&) = delete;
  QueueConsumer& operator=(const QueueConsumer&) = delete;

  /// Starts the workers. Throws `Error(invalid_argument)` for a concurrency of zero, a wait
  /// that is not positive, no handler or a second start.
  void start();
  /// Stops taking items. Waits for items already taken: their handlers finish and the items
  /// are marked, so nothing a worker took is left in mqinprogress. Completes when every worker
  /// has returned; at once when the consumer was never started.
  boost::asio::awaitable<void> stop();
  /// True from start() until every worker has returned.
  bool running() const;
  ConsumerStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace hydra
