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
  // What each worker owns: a Queue (its blocking wait holds a connection of its own), the timer
  // of its pause after an error, and the item whose handler is running (null between handlers),
  // which its heartbeat extends.
  struct Worker {
    Worker(Hydra& h, const asio::any_io_executor& ex) : queue(h), pause(ex), wake(ex) {}
    Queue queue;
    asio::steady_timer pause;
    asio::steady_timer wake;  // an idle worker's wait for the waiter's call (see take_when_idle)
    QueuedMessage* handling = nullptr;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  // Workers with nothing to do: at most one waits on Redis (`waiting`); the others wait here to
  // be woken, newest last.
  bool waiting = false;
  std::vector<std::size_t> idle;
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
      w->wake.cancel();
    }
  }

  // Wakes the idle worker that went idle last, if any: an item was just taken from an empty
  // queue, and another may have come with it.
  void wake_one_idle() {
    if (idle.empty()) return;
    const std::size_t w = idle.back();
    idle.pop_back();
    workers[w]->wake.cancel();
  }

  // The take of a worker whose queue was empty. One idle worker waits on Redis (a blocking wait
  // of at most `wait`), and every other idle worker waits here until that one takes an item or
  // `wait` passes. Each worker that takes an item wakes the next idle one, so a burst wakes them
  // one after another, while an idle consumer keeps one client blocked on Redis, not one per
  // idle worker, and each of its blocking waits that times out is renewed once, not by every
  // worker. (A blocking wait pops, so an item wakes one waiter either way: docs/queues.md,
  // "Blocking waits".) A woken worker that finds nobody waiting on Redis becomes the waiter:
  // the wait's first take is its take, and when it finds nothing the wait blocks at once (no
  // second take just to learn the queue is still empty). One that finds a waiter tries a take
  // that does not block.
  asio::awaitable<std::optional<QueuedMessage>> take_when_idle(std::size_t worker) {
    Worker& own = *workers[worker];
    if (waiting) {
      own.wake.expires_after(options.wait);
      idle.push_back(worker);
      boost::system::error_code ec;
      co_await own.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::erase(idle, worker);  // still listed when `wait` passed
      if (stopping) co_return std::nullopt;
    }
    std::optional<QueuedMessage> item;
    if (!waiting) {
      waiting = true;
      struct Clear {
        bool& flag;
        ~Clear() { flag = false; }
      } clear{waiting};
      item = co_await own.queue.wait_queued_message(service, options.wait, options.lease);
    } else {
      item = co_await own.queue.wait_queued_message(service, std::chrono::milliseconds(0),
                                                    options.lease);
    }
    if (item) wake_one_idle();
    co_return item;
  }

  void log_error(const std::string& what) {
    hydra.send_to_health_log("error", "queue consumer of " + service + ": " + what);
  }

  asio::awaitable<Outcome> handle(Worker& own, QueuedMessage& item) {
    own.handling = &item;
    Outcome outcome = co_await run_handler(handler, item);
    own.handling = nullptr;
    co_return outcome;
  }

  bool keeps_leases() const { return options.lease && options.keep_lease; }

  // A worker's heartbeat: every third of the lease it extends the lease of the item whose
  // handler is running, if any. An item is taken at most a third of the lease before the next
  // beat, so its lease is extended before it expires, and again at every beat while its
  // handler runs. One timer per worker, not one per item: a handler that finishes between two
  // beats costs nothing. The extension works on a copy (the worker may finish with the item
  // meanwhile; the script then finds no lease for that delivery and changes nothing); the
  // item's lease_until is updated when it is still being handled. A failed extension is tried
  // again at the next beat. Ends when cancelled (its worker has returned).
  static asio::awaitable<void> beat(std::shared_ptr<State> self, std::size_t worker) {
    State& s = *self;
    Worker& own = *s.workers[worker];
    const auto lease = s.options.lease->lease;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      timer.expires_after(std::max(lease / 3, std::chrono::milliseconds(1)));
      co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled
      if (!own.handling || !own.handling->lease_until) continue;
      QueuedMessage held = *own.handling;
      try {
        if (co_await own.queue.extend_lease(held, lease) && own.handling &&
            own.handling->raw == held.raw && own.handling->attempt == held.attempt) {
          own.handling->lease_until = held.lease_until;
        }
      } catch (const std::exception&) {
        // Redis did not answer this time; the next beat tries again while the lease lasts.
      }
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
  }

  // A worker and, when leases are kept, its heartbeat; the heartbeat is cancelled when the
  // worker returns, and this returns once both have (no extension outlives the consumer).
  static asio::awaitable<void> run_worker(std::shared_ptr<State> self, std::size_t worker) {
    if (self->keeps_leases()) {
      auto ex = co_await asio::this_coro::executor;
      auto [order, work_error, beat_error] =
          co_await asio::experimental::make_parallel_group(
              asio::co_spawn(ex, work(self, worker), asio::deferred),
              asio::co_spawn(ex, beat(self, worker), asio::deferred))
              .async_wait(asio::experimental::wait_for_one(), asio::deferred);
      (void)order;
      (void)work_error;  // work() handles its own errors
      (void)beat_error;  // the heartbeat's cancellation
    } else {
      co_await work(self, worker);
    }
    if (--self->workers_left == 0) self->finished.cancel();
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
          item = co_await s.take_when_idle(worker);
          if (!item) continue;
        }
        ++s.stats.taken;
        Outcome outcome = co_await s.handle(own, *item);
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
    asio::co_spawn(ex, State::run_worker(state_, i), asio::detached);
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
