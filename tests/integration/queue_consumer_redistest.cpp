// QueueConsumer against a real redis-server: every item handled once and marked from the
// handler's outcome, leases kept while a slow handler runs (and lost without that), expired
// leases of a dead consumer reclaimed, stop() finishing the item in hand.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "hydra/hydra.hpp"
#include "hydra/queue.hpp"
#include "hydra/queue_consumer.hpp"
#include "queue/queue_logic.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace qd = hydra::queue_detail;
using hydra::QueuedMessage;
using hydra::test::RedisServer;
using hydra::test::run_on;
using hydra::test::run_until;
using hydra::test::sleep_for;
using namespace std::chrono_literals;

namespace {

const std::string kSvc = "consumer-worker";

struct Node {
  asio::io_context io;
  hydra::Hydra hydra{io.get_executor()};
  hydra::Queue queue{hydra};
  explicit Node(const RedisServer& server) {
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await hydra.init(hydra::test::service_document(server, kSvc));
    });
  }
  ~Node() {
    try {
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra.shutdown(); });
    } catch (...) {
    }
  }
  void put(long n) {
    boost::json::object m{{"to", kSvc + ":/"}, {"from", "client:/"}, {"body", {{"n", n}}}};
    auto r = run_on(
        io, [&]() -> asio::awaitable<hydra::Result> { co_return co_await queue.queue_message(m); });
    ASSERT_TRUE(r.ok()) << r.reason;
  }
  void stop(hydra::QueueConsumer& c, std::chrono::milliseconds limit = 10s) {
    run_on(
        io, [&]() -> asio::awaitable<void> { co_await c.stop(); }, limit);
  }
};

long body_n(const QueuedMessage& item) {
  return item.message.body().as_object().at("n").as_int64();
}

std::string llen(const RedisServer& s, const std::string& key) {
  return s.cli({"LLEN", key});
}

// The one item a dead consumer left leased, as a new consumer handles it: {attempt, body n,
// how many leases that consumer reclaimed}. Checks that nothing is left in progress.
struct Redelivery {
  unsigned attempt = 0;
  long n = 0;
  std::uint64_t reclaimed = 0;
};
Redelivery handle_left_item(Node& node, const RedisServer& server, hydra::ConsumerOptions options) {
  Redelivery seen;
  hydra::QueueConsumer consumer(
      node.hydra,
      [&](const QueuedMessage& item) -> asio::awaitable<void> {
        seen.attempt = item.attempt;
        seen.n = body_n(item);
        co_return;
      },
      std::move(options));
  consumer.start();
  EXPECT_TRUE(run_until(
      node.io, [&] { return consumer.stats().completed >= 1; }, 10s));
  node.stop(consumer);
  seen.reclaimed = consumer.stats().reclaimed;
  EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  return seen;
}

}  // namespace

TEST(QueueConsumer, HandlesEveryItemOnceAndMarksItComplete) {
  RedisServer server;
  Node node(server);
  for (long n = 0; n < 40; ++n)
    node.put(n);
  std::multiset<long> seen;
  hydra::ConsumerOptions options;
  options.concurrency = 3;
  hydra::QueueConsumer consumer(
      node.hydra,
      [&](const QueuedMessage& item) -> asio::awaitable<void> {
        seen.insert(body_n(item));
        EXPECT_EQ(item.attempt, 1u);
        EXPECT_TRUE(item.lease_until);
        co_await sleep_for(1ms);
      },
      options);
  consumer.start();
  EXPECT_TRUE(consumer.running());
  ASSERT_TRUE(run_until(
      node.io, [&] { return consumer.stats().completed >= 40; }, 10s));
  // Items queued while it runs are taken too (the workers wait without polling).
  for (long n = 40; n < 45; ++n)
    node.put(n);
  ASSERT_TRUE(run_until(
      node.io, [&] { return consumer.stats().completed >= 45; }, 10s));
  node.stop(consumer);
  EXPECT_FALSE(consumer.running());

  ASSERT_EQ(seen.size(), 45u);
  for (long n = 0; n < 45; ++n)
    EXPECT_EQ(seen.count(n), 1u) << n;
  auto stats = consumer.stats();
  EXPECT_EQ(stats.taken, 45u);
  EXPECT_EQ(stats.completed, 45u);
  EXPECT_EQ(stats.incomplete, 0u);
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_EQ(llen(server, qd::received_key(kSvc)), "0");
  EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "0");
  EXPECT_EQ(llen(server, qd::incomplete_key(kSvc)), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"HLEN", qd::attempts_key(kSvc)}), "0");
}

namespace {

// A consumer whose handler records each item's `n` in `seen`.
hydra::QueueConsumer recording_consumer(Node& node, std::set<long>& seen,
                                        const hydra::ConsumerOptions& options) {
  return hydra::QueueConsumer(
      node.hydra,
      [&seen](const QueuedMessage& item) -> asio::awaitable<void> {
        seen.insert(body_n(item));
        co_return;
      },
      options);
}

}  // namespace

// Idle workers do not all wait on Redis: one of them does and hands the wait on when it takes
// an item, so an item that arrives at an idle consumer of 8 workers costs one blocking wait and
// three scripts. (Before, every idle worker waited on Redis, and as a leased wait then moved
// nothing, each of them woke for every item: 240 blocking waits and 300 scripts for these 30.)
TEST(QueueConsumer, OneIdleWorkerWaitsOnRedisForAll) {
  RedisServer server;
  Node node(server);
  std::set<long> seen;
  hydra::ConsumerOptions options;
  options.concurrency = 8;
  auto consumer = recording_consumer(node, seen, options);
  consumer.start();
  run_on(node.io, [&]() -> asio::awaitable<void> { co_await sleep_for(200ms); });
  const long waits0 = server.command_calls("blmove");
  const long scripts0 = server.command_calls("evalsha");
  constexpr long kItems = 30;
  for (long n = 0; n < kItems; ++n) {
    node.put(n);
    ASSERT_TRUE(run_until(
        node.io, [&] { return static_cast<long>(consumer.stats().completed) >= n + 1; }, 10s));
  }
  const long waits = server.command_calls("blmove") - waits0;
  const long scripts = server.command_calls("evalsha") - scripts0;
  node.stop(consumer);
  std::printf("%ld items: %ld BLMOVE, %ld EVALSHA\n", kItems, waits, scripts);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kItems));
  // Per item: the waiter's wake-up, its take, the mark-take, and the take of the woken worker
  // that becomes the next waiter (its wait then blocks without another take).
  EXPECT_LE(waits, 3 * kItems) << "blocking waits";
  EXPECT_LE(scripts, 3 * kItems + kItems / 2) << "scripts";
  EXPECT_GE(waits, kItems) << "the items were waited for, not polled";
}

TEST(QueueConsumer, AThrowingHandlerMarksTheItemIncompleteWithItsMessage) {
  RedisServer server;
  Node node(server);
  node.put(1);
  node.put(2);
  node.put(3);
  hydra::QueueConsumer consumer(node.hydra,
                                [&](const QueuedMessage& item) -> asio::awaitable<void> {
                                  if (body_n(item) == 2) throw std::runtime_error("disk full");
                                  co_return;
                                });
  consumer.start();
  ASSERT_TRUE(run_until(
      node.io, [&] { return consumer.stats().completed + consumer.stats().incomplete >= 3; }));
  node.stop(consumer);
  EXPECT_EQ(consumer.stats().completed, 2u);
  EXPECT_EQ(consumer.stats().incomplete, 1u);
  EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "0");
  auto dead = server.cli({"LRANGE", qd::incomplete_key(kSvc), "0", "-1"});
  auto v = boost::json::parse(dead).as_object();
  EXPECT_EQ(v.at("bdy").at("n").as_int64(), 2);
  EXPECT_EQ(v.at("bdy").at("reason").as_string(), "disk full");
}

// The lease is 300 ms; the handler takes 1.2 s while another instance reclaims expired leases.
// With keep_lease the item stays with its handler; without it the item is taken away and the
// handler's mark finds it gone.
TEST(QueueConsumer, KeepsTheLeaseOfASlowHandlerAndLosesItWithout) {
  for (bool keep : {true, false}) {
    SCOPED_TRACE(keep ? "keep_lease" : "no keep_lease");
    RedisServer server;
    Node node(server);
    Node other(server);
    node.put(7);
    hydra::ConsumerOptions options;
    options.lease = hydra::LeaseOptions{300ms, 5};
    options.keep_lease = keep;
    options.reclaim_interval = 0ms;  // only `other` reclaims
    bool started = false;
    hydra::QueueConsumer consumer(
        node.hydra,
        [&](const QueuedMessage&) -> asio::awaitable<void> {
          started = true;
          co_await sleep_for(1200ms);
        },
        options);
    consumer.start();
    ASSERT_TRUE(run_until(node.io, [&] { return started; }));
    std::size_t reclaimed = 0;
    for (int i = 0; i < 4; ++i) {
      hydra::test::pump(node.io, 250ms);
      reclaimed += run_on(other.io, [&]() -> asio::awaitable<std::size_t> {
        co_return co_await other.queue.reclaim_expired(kSvc, hydra::LeaseOptions{300ms, 5});
      });
    }
    ASSERT_TRUE(run_until(
        node.io,
        [&] {
          return consumer.stats().taken >= 1 &&
                 (consumer.stats().completed + consumer.stats().lost) >= 1;
        },
        5s));
    if (keep) {
      EXPECT_EQ(reclaimed, 0u);
      EXPECT_EQ(consumer.stats().completed, 1u);
      EXPECT_EQ(consumer.stats().lost, 0u);
      EXPECT_EQ(llen(server, qd::received_key(kSvc)), "0");
      EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "0");
    } else {
      EXPECT_EQ(reclaimed, 1u);
      EXPECT_EQ(consumer.stats().lost, 1u);
      EXPECT_EQ(consumer.stats().completed, 0u);
    }
    node.stop(consumer);
  }
}

// A consumer that died holding a leased item: a new consumer reclaims it when it starts and
// handles it as a second delivery.
TEST(QueueConsumer, ReclaimsTheLeaseOfADeadConsumerWhenItStarts) {
  RedisServer server;
  Node node(server);
  node.put(5);
  auto taken = run_on(node.io, [&]() -> asio::awaitable<std::optional<QueuedMessage>> {
    co_return co_await node.queue.wait_queued_message(kSvc, 0ms, hydra::LeaseOptions{100ms, 5});
  });
  ASSERT_TRUE(taken);
  std::this_thread::sleep_for(200ms);
  auto seen = handle_left_item(node, server, {});
  EXPECT_EQ(seen.n, 5);
  EXPECT_EQ(seen.attempt, 2u);
  EXPECT_EQ(seen.reclaimed, 1u);
}

// A QueueConsumer in another process hangs in its handler (still extending the lease) and is
// killed with SIGKILL: the heartbeat dies with it, the lease expires, and a consumer here gets
// the item as its second delivery.
TEST(QueueConsumer, TheItemOfAKilledConsumerProcessIsHandledAgain) {
  RedisServer server;
  Node node(server);
  node.put(9);
  hydra::test::Process other({std::string(HYDRA_BINARY_DIR) + "/tests/hydra_queue_consumer",
                              server.url(), kSvc, "400", "handler"},
                             {}, true);
  auto line = other.wait_for_line("TOOK ", 15s);
  ASSERT_TRUE(line) << other.output(100ms);
  // Alive and hanging: its lease is kept past several lease lengths.
  std::this_thread::sleep_for(1200ms);
  auto reclaimed = run_on(node.io, [&]() -> asio::awaitable<std::size_t> {
    co_return co_await node.queue.reclaim_expired(kSvc, hydra::LeaseOptions{400ms, 5});
  });
  EXPECT_EQ(reclaimed, 0u);
  EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "1");
  other.signal(SIGKILL);
  ASSERT_TRUE(other.wait(5s));

  hydra::ConsumerOptions options;
  options.lease = hydra::LeaseOptions{400ms, 5};
  options.reclaim_interval = 100ms;
  auto seen = handle_left_item(node, server, options);
  EXPECT_EQ(seen.n, 9);
  EXPECT_EQ(seen.attempt, 2u);
}

TEST(QueueConsumer, StopEndsAWaitAtOnceAndFinishesTheItemInHand) {
  RedisServer server;
  Node node(server);
  hydra::ConsumerOptions options;
  options.wait = 30s;
  bool in_handler = false;
  bool handler_done = false;
  hydra::QueueConsumer consumer(
      node.hydra,
      [&](const QueuedMessage&) -> asio::awaitable<void> {
        in_handler = true;
        co_await sleep_for(300ms);
        handler_done = true;
      },
      options);
  consumer.start();
  hydra::test::pump(node.io, 200ms);  // the workers are in their blocking wait
  node.put(1);
  ASSERT_TRUE(run_until(node.io, [&] { return in_handler; }));
  EXPECT_FALSE(handler_done);
  auto start = std::chrono::steady_clock::now();
  node.stop(consumer);
  EXPECT_TRUE(handler_done);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(consumer.stats().completed, 1u);
  EXPECT_EQ(llen(server, qd::in_progress_key(kSvc)), "0");
  EXPECT_FALSE(consumer.running());

  // An idle consumer in a 30 s wait stops at once.
  hydra::QueueConsumer idle(
      node.hydra, [](const QueuedMessage&) -> asio::awaitable<void> { co_return; }, options);
  idle.start();
  hydra::test::pump(node.io, 200ms);
  start = std::chrono::steady_clock::now();
  node.stop(idle);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(idle.stats().errors, 0u);
}

TEST(QueueConsumer, RejectsABadStart) {
  RedisServer server;
  Node node(server);
  hydra::ConsumerOptions options;
  options.concurrency = 0;
  hydra::QueueConsumer none(
      node.hydra, [](const QueuedMessage&) -> asio::awaitable<void> { co_return; }, options);
  EXPECT_THROW(none.start(), hydra::Error);
  hydra::ConsumerOptions spinning;
  spinning.wait = 0ms;
  hydra::QueueConsumer polling(
      node.hydra, [](const QueuedMessage&) -> asio::awaitable<void> { co_return; }, spinning);
  EXPECT_THROW(polling.start(), hydra::Error);
  EXPECT_FALSE(polling.running());
  hydra::QueueConsumer once(node.hydra,
                            [](const QueuedMessage&) -> asio::awaitable<void> { co_return; });
  once.start();
  EXPECT_THROW(once.start(), hydra::Error);
  node.stop(once);
  hydra::QueueConsumer never(node.hydra,
                             [](const QueuedMessage&) -> asio::awaitable<void> { co_return; });
  node.stop(never);  // completes at once
  EXPECT_FALSE(never.running());
}

// Redis restarts under a running consumer: the worker counts the error, pauses and goes on.
TEST(QueueConsumer, GoesOnAfterRedisRestarts) {
  RedisServer server;
  Node node(server);
  node.put(1);
  hydra::ConsumerOptions options;
  options.retry_pause = 100ms;
  options.wait = 200ms;
  std::set<long> seen;
  auto consumer = recording_consumer(node, seen, options);
  consumer.start();
  ASSERT_TRUE(run_until(node.io, [&] { return consumer.stats().completed >= 1; }));
  server.restart();
  hydra::test::pump(node.io, 1500ms);
  node.put(2);
  ASSERT_TRUE(run_until(
      node.io, [&] { return consumer.stats().completed >= 2; }, 15s));
  EXPECT_EQ(seen, (std::set<long>{1, 2}));
  node.stop(consumer);
}
