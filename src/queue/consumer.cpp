// QueueConsumer: workers that take items of one queue, run the handler, keep the lease while it
// runs and mark each item from its outcome.
#include "hydra/queue_consumer.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "hydra/error.hpp"
#include "hydra/hydra.hpp"

namespace hydra {

namespace asio = boost::asio;

namespace {

// How a handler ended: complete, or incomplete with the reason stored in the item.
struct Outcome {
  bool completed = true;
  std::string reason;
};

asio::awaitable<Outcome> run_handler(const QueueConsumer::Handler& handler,
                                     const QueuedMessage& item) {
  try {
    co_await handler(item);
    co_return Outcome{};
  } catch (const std::exception& e) {
    co_return Outcome{false, e.what()};
  } catch (...) {
    co_return Outcome{false, "the queue handler failed with an unknown exception"};
  }
}

// Extends the item's lease every third of its length until cancelled. It never finishes on its
// own: a failed extension is retried at the next beat, and a lost lease (the item was
// reclaimed) is simply no longer extended.
asio::awaitable<void> keep_leased(Queue& queue, QueuedMessage& item,
                                  std::chrono::milliseconds lease) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto beat = std::max(lease / 3, std::chrono::milliseconds(1));
  bool held = true;
  for (;;) {
    if (held) {
      timer.expires_after(beat);
    } else {
      timer.expires_at(asio::steady_timer::time_point::max());
    }
    co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled
    try {
      held = co_await queue.extend_lease(item, lease);
    } catch (const std::exception&) {
      // Redis did not answer this time; the next beat tries again while the lease lasts.
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

}  // namespace

struct QueueConsumer::State {
  State(Hydra& h, Handler fn, ConsumerOptions opts)
      : hydra(h), handler(std::move(fn)), options(std::move(opts)), finished(h.get_executor()) {
    finished.expires_at(asio::steady_timer::time_point::max());
  }

  Hydra& hydra;
  Handler handler;
  ConsumerOptions options;
  std::string service;
  // What each worker owns: a Queue (its blocking wait holds a connection of its own) and the
  // timer of its pause after an error.
  struct Worker {
    Worker(Hydra& h, const asio::any_io_executor& ex) : queue(h), pause(ex) {}
    Queue queue;
    asio::steady_timer pause;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  asio::steady_timer finished;  // cancelled when the last worker returns
  std::size_t workers_left = 0;
  bool started = false;
  bool stopping = false;
  std::chrono::steady_clock::time_point next_reclaim{};
  ConsumerStats stats;

  void request_stop() {
    stopping = true;
    for (auto& w : workers) {
      w->queue.stop();
      w->pause.cancel();
    }
  }

  void log_error(const std::string& what) {
    hydra.send_to_health_log("error", "queue consumer of " + service + ": " + what);
  }

  asio::awaitable<Outcome> handle(Queue& queue, QueuedMessage& item) {
    if (!options.lease || !options.keep_lease || !item.lease_until) {
      co_return co_await run_handler(handler, item);
    }
    auto ex = co_await asio::this_coro::executor;
    // The first to finish is always the handler (the heartbeat only ends when cancelled); the
    // group returns once both have, so `item` outlives the heartbeat's last extension.
    auto [order, handler_error, outcome, beat_error] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(ex, run_handler(handler, item), asio::deferred),
            asio::co_spawn(ex, keep_leased(queue, item, options.lease->lease), asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::deferred);
    (void)order;
    (void)beat_error;  // the heartbeat's cancellation
    if (handler_error) std::rethrow_exception(handler_error);
    co_return outcome;
  }

  asio::awaitable<void> reclaim_if_due(Queue& queue) {
    if (!options.lease || options.reclaim_interval.count() <= 0) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_reclaim) co_return;
    next_reclaim = now + options.reclaim_interval;
    stats.reclaimed += co_await queue.reclaim_expired(service, *options.lease);
  }

  asio::awaitable<void> pause(asio::steady_timer& timer) {
    timer.expires_after(options.retry_pause);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // One worker: wait for an item, handle it, mark it and take the next in one round trip, until
  // stopped. An item it holds is always handled and marked before it returns. The worker owns
  // the state (the consumer may be destroyed first).
  static asio::awaitable<void> work(std::shared_ptr<State> self, std::size_t worker) {
    State& s = *self;
    Worker& own = *s.workers[worker];
    Queue& queue = own.queue;
    std::optional<QueuedMessage> next;
    for (;;) {
      if (s.stopping && !next) break;
      bool failed = false;
      try {
        // Worker 0 returns expired leases, starting with those a consumer that died left.
        if (worker == 0 && !s.stopping) co_await s.reclaim_if_due(queue);
        std::optional<QueuedMessage> item = std::move(next);
        next.reset();
        if (!item) {
          if (s.stopping) break;
          item = co_await queue.wait_queued_message(s.service, s.options.wait, s.options.lease);
          if (!item) continue;
        }
        ++s.stats.taken;
        Outcome outcome = co_await s.handle(queue, *item);
        MarkAndTake done;
        if (s.stopping) {
          done.marked = co_await queue.mark_queue_message(*item, outcome.completed, outcome.reason);
        } else {
          done = co_await queue.mark_and_take_next(*item, outcome.completed, outcome.reason,
                                                   s.options.lease);
        }
        if (!done.marked) {
          ++s.stats.lost;
        } else if (outcome.completed) {
          ++s.stats.completed;
        } else {
          ++s.stats.incomplete;
        }
        next = std::move(done.next);
      } catch (const std::exception& e) {
        // stop() ends a blocking wait with errc::stopped: not an error.
        if (!s.stopping) {
          ++s.stats.errors;
          s.log_error(e.what());
          failed = true;
        }
      }
      if (failed && !s.stopping) co_await s.pause(own.pause);
    }
    if (--s.workers_left == 0) s.finished.cancel();
  }
};

QueueConsumer::QueueConsumer(Hydra& hydra, Handler handler, ConsumerOptions options)
    : state_(std::make_shared<State>(hydra, std::move(handler), std::move(options))) {}

QueueConsumer::~QueueConsumer() {
  if (state_) state_->request_stop();
}

void QueueConsumer::start() {
  auto& s = *state_;
  if (s.started) throw Error(errc::invalid_argument, "queue consumer: already started");
  if (s.options.concurrency == 0)
    throw Error(errc::invalid_argument, "queue consumer: concurrency must be at least 1");
  if (!s.handler) throw Error(errc::invalid_argument, "queue consumer: no handler");
  // A zero wait would not block: the workers would spin on an empty queue.
  if (s.options.wait.count() <= 0)
    throw Error(errc::invalid_argument, "queue consumer: the wait must be positive");
  s.service = s.options.service.empty() ? s.hydra.service_name() : s.options.service;
  s.started = true;
  auto ex = s.hydra.get_executor();
  for (std::size_t i = 0; i < s.options.concurrency; ++i)
    s.workers.push_back(std::make_unique<State::Worker>(s.hydra, ex));
  s.workers_left = s.options.concurrency;
  for (std::size_t i = 0; i < s.options.concurrency; ++i)
    asio::co_spawn(ex, State::work(state_, i), asio::detached);
}

asio::awaitable<void> QueueConsumer::stop() {
  auto s = state_;
  s->request_stop();
  if (!s->started || s->workers_left == 0) co_return;
  boost::system::error_code ec;
  co_await s->finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

bool QueueConsumer::running() const {
  return state_->started && state_->workers_left > 0;
}

ConsumerStats QueueConsumer::stats() const {
  return state_->stats;
}

}  // namespace hydra
