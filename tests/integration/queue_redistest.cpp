// Work queues against a real redis-server: Node-compatible lists and bytes, blocking waits,
// statistics, leases with redelivery and dead-lettering, a consumer killed with SIGKILL.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <csignal>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"
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
using hydra::test::service_document;
using namespace std::chrono_literals;

namespace {

const std::string kSvc = "worker";

// An initialised Hydra (no registration needed for queues) and its Queue.
struct Worker {
  asio::io_context io;
  hydra::Hydra hydra{io.get_executor()};
  std::unique_ptr<hydra::Queue> queue;
  explicit Worker(const RedisServer& server, const std::string& name = kSvc) {
    run_on(io,
           [&]() -> asio::awaitable<void> { co_await hydra.init(service_document(server, name)); });
    queue = std::make_unique<hydra::Queue>(hydra);
  }
  ~Worker() {
    queue.reset();
    try {
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra.shutdown(); });
    } catch (...) {
    }
  }
  template <class F>
  auto run(F f, std::chrono::milliseconds limit = 20s) {
    return run_on(io, f, limit);
  }
  hydra::Result put(boost::json::object body, const std::string& to = kSvc + ":/") {
    boost::json::object m;
    m["to"] = to;
    m["from"] = "client:/";
    m["body"] = std::move(body);
    return run(
        [&]() -> asio::awaitable<hydra::Result> { co_return co_await queue->queue_message(m); });
  }
  std::optional<QueuedMessage> get() {
    return run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
      co_return co_await queue->get_queued_message(kSvc);
    });
  }
  std::optional<QueuedMessage> take_leased(std::chrono::milliseconds lease, unsigned max = 5,
                                           std::chrono::milliseconds wait = 0ms) {
    hydra::LeaseOptions o;
    o.lease = lease;
    o.max_attempts = max;
    return run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
      co_return co_await queue->wait_queued_message(kSvc, wait, o);
    });
  }
  // A leased blocking wait (lease 10 s, at most 5 s) during which {k: 1} is queued after 200 ms.
  std::optional<QueuedMessage> leased_wait_for_a_late_item() {
    return run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await hydra::test::sleep_for(200ms);
            boost::json::object m;
            m["to"] = kSvc + ":/";
            m["from"] = "client:/";
            m["body"] = boost::json::object{{"k", 1}};
            co_await queue->queue_message(m);
          },
          asio::detached);
      hydra::LeaseOptions o;
      o.lease = 10s;
      co_return co_await queue->wait_queued_message(kSvc, 5s, o);
    });
  }
  bool mark(const QueuedMessage& item, bool completed, std::string reason = {}) {
    return run([&]() -> asio::awaitable<bool> {
      co_return co_await queue->mark_queue_message(item, completed, reason);
    });
  }
  hydra::MarkAndTake mark_and_take(const QueuedMessage& item, bool completed,
                                   std::string reason = {},
                                   std::optional<std::chrono::milliseconds> lease = {}) {
    std::optional<hydra::LeaseOptions> o;
    if (lease) {
      o.emplace();
      o->lease = *lease;
    }
    return run([&]() -> asio::awaitable<hydra::MarkAndTake> {
      co_return co_await queue->mark_and_take_next(item, completed, reason, o);
    });
  }
  std::size_t reclaim(unsigned max = 5) {
    hydra::LeaseOptions o;
    o.max_attempts = max;
    return run([&]() -> asio::awaitable<std::size_t> {
      co_return co_await queue->reclaim_expired(kSvc, o);
    });
  }
};

std::vector<std::string> lrange(const RedisServer& s, const std::string& key) {
  auto out = s.cli({"LRANGE", key, "0", "-1"});
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < out.size()) {
    auto nl = out.find('\n', pos);
    lines.push_back(out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return lines;
}

std::string body_field(const QueuedMessage& item, const char* key) {
  return hydra::json::stringify(item.message.body().as_object().at(key));
}

}  // namespace

TEST(QueueRedis, QueueGetAndMarkCompleteLeaveNothingInProgress) {
  RedisServer server;
  Worker w(server);
  auto r = w.put({{"job", 42}});
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.mid.size(), 36u);
  auto stored = server.cli({"LINDEX", qd::received_key(kSvc), "0"});
  EXPECT_EQ(stored.rfind(R"({"to":"worker:/","frm":"client:/","mid":")" + r.mid + "\"", 0), 0u)
      << stored;
  EXPECT_NE(stored.find(R"("ver":"UMF/1.4.6","bdy":{"job":42}})"), std::string::npos) << stored;

  auto item = w.get();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->raw, stored);
  EXPECT_EQ(item->message.mid(), r.mid);
  EXPECT_EQ(item->service_name, kSvc);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "1");
  EXPECT_TRUE(w.mark(*item, true));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::incomplete_key(kSvc)}), "0");
  EXPECT_FALSE(w.get());
}

// A message handed over as an rvalue is moved into the item, not copied: the same bytes are
// stored as for the same message passed by reference.
TEST(QueueRedis, AMovedMessageIsStoredLikeACopiedOne) {
  RedisServer server;
  Worker w(server);
  auto make = [] {
    boost::json::object m;
    m["to"] = kSvc + ":/";
    m["from"] = "client:/";
    m["mid"] = "fixed-mid";
    m["timestamp"] = "2026-11-21T10:00:00.000Z";
    m["body"] = {{"text", std::string(100, 'x')}, {"n", 7}};
    return m;
  };
  const auto copied = make();
  auto moved = make();
  auto r1 = w.run([&]() -> asio::awaitable<hydra::Result> {
    co_return co_await w.queue->queue_message(copied);
  });
  auto r2 = w.run([&]() -> asio::awaitable<hydra::Result> {
    co_return co_await w.queue->queue_message(std::move(moved));
  });
  ASSERT_TRUE(r1.ok()) << r1.reason;
  ASSERT_TRUE(r2.ok()) << r2.reason;
  EXPECT_EQ(r2.mid, "fixed-mid");
  const auto first = server.cli({"LINDEX", qd::received_key(kSvc), "1"});
  EXPECT_EQ(first, server.cli({"LINDEX", qd::received_key(kSvc), "0"}));
  EXPECT_EQ(
      first,
      R"({"to":"worker:/","frm":"client:/","mid":"fixed-mid","ts":"2026-11-21T10:00:00.000Z",)"
      R"("ver":"UMF/1.4.6","bdy":{"text":")" +
          std::string(100, 'x') + R"(","n":7}})");
  EXPECT_EQ(copied.at("body").at("text").as_string().size(), 100u);  // the copy's source is intact
}

TEST(QueueRedis, MarkIncompleteStoresTheReason) {
  RedisServer server;
  Worker w(server);
  w.put({{"job", 1}});
  w.put({{"job", 2}});
  auto a = w.get();
  auto b = w.get();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(w.mark(*a, false, "could not process"));
  EXPECT_TRUE(w.mark(*b, false));
  auto incomplete = lrange(server, qd::incomplete_key(kSvc));
  ASSERT_EQ(incomplete.size(), 2u);
  EXPECT_EQ(incomplete[0], qd::with_reason(a->raw, "could not process"));
  EXPECT_NE(incomplete[0].find(R"("bdy":{"job":1,"reason":"could not process"}})"),
            std::string::npos);
  EXPECT_NE(incomplete[1].find(R"("bdy":{"job":2,"reason":"reason not provided"}})"),
            std::string::npos);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  // Marking again: no longer in progress (Node semantics: still RPUSHed when incomplete).
  EXPECT_FALSE(w.mark(*a, true));
}

TEST(QueueRedis, InvalidMessagesAre400) {
  RedisServer server;
  Worker w(server);
  boost::json::object no_body{{"to", "worker:/"}, {"from", "c:/"}};
  auto r = w.run([&]() -> asio::awaitable<hydra::Result> {
    co_return co_await w.queue->queue_message(no_body);
  });
  EXPECT_EQ(r.status_code, 400);
  EXPECT_EQ(r.reason, R"(UMF message requires "to", "from" and "body" fields)");
  auto bad = w.put({{"x", 1}}, "no-colon-route");
  EXPECT_EQ(bad.status_code, 400);
  EXPECT_EQ(bad.reason, hydra::umf::parse_route("no-colon-route").error);
  EXPECT_FALSE(bad.reason.empty());
  EXPECT_EQ(server.cli({"KEYS", "*mq*"}), "");
}

TEST(QueueRedis, FifoOrder) {
  RedisServer server;
  Worker w(server);
  for (int i = 0; i < 5; ++i)
    w.put({{"n", i}});
  for (int i = 0; i < 5; ++i) {
    auto item = w.get();
    ASSERT_TRUE(item);
    EXPECT_EQ(body_field(*item, "n"), std::to_string(i));
  }
  EXPECT_FALSE(w.get());
}

TEST(QueueRedis, BlockingWaitTimesOutAndReturnsALaterItem) {
  RedisServer server;
  Worker w(server);
  auto start = std::chrono::steady_clock::now();
  auto none = w.run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
    co_return co_await w.queue->wait_queued_message(kSvc, 300ms);
  });
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(none);
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);

  // A producer pushes while the consumer waits; the shared command connection stays usable.
  std::chrono::steady_clock::duration ping_latency{};
  auto got = w.run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
    asio::co_spawn(
        w.io,
        [&]() -> asio::awaitable<void> {
          co_await hydra::test::sleep_for(300ms);
          auto t0 = std::chrono::steady_clock::now();
          co_await w.hydra.redis().exec(hydra::redis::cmd("PING"));
          ping_latency = std::chrono::steady_clock::now() - t0;
          boost::json::object m;
          m["to"] = kSvc + ":/";
          m["from"] = "client:/";
          boost::json::object body;
          body["late"] = true;
          m["body"] = body;
          co_await w.queue->queue_message(m);
        },
        asio::detached);
    co_return co_await w.queue->wait_queued_message(kSvc, 5s);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(body_field(*got, "late"), "true");
  EXPECT_FALSE(got->lease_until);
  EXPECT_LT(ping_latency, 1s);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "1");
}

TEST(QueueRedis, StatsAndPeek) {
  RedisServer server;
  Worker w(server);
  auto empty = w.run(
      [&]() -> asio::awaitable<hydra::QueueStats> { co_return co_await w.queue->stats(kSvc); });
  EXPECT_EQ(empty.received, 0);
  EXPECT_FALSE(empty.oldest_age);
  for (int i = 0; i < 4; ++i)
    w.put({{"n", i}});
  std::this_thread::sleep_for(50ms);
  auto item = w.get();
  w.mark(*w.get(), false, "x");
  auto s = w.run(
      [&]() -> asio::awaitable<hydra::QueueStats> { co_return co_await w.queue->stats(kSvc); });
  EXPECT_EQ(s.received, 2);
  EXPECT_EQ(s.in_progress, 1);
  EXPECT_EQ(s.leased, 0);
  EXPECT_EQ(s.incomplete, 1);
  ASSERT_TRUE(s.oldest_age);
  EXPECT_GE(s.oldest_age->count(), 40);
  EXPECT_LT(s.oldest_age->count(), 10000);
  auto peeked = w.run([&]() -> asio::awaitable<std::vector<std::string>> {
    co_return co_await w.queue->peek(kSvc, 10);
  });
  ASSERT_EQ(peeked.size(), 2u);
  EXPECT_NE(peeked[0].find(R"("bdy":{"n":2})"), std::string::npos);
  EXPECT_NE(peeked[1].find(R"("bdy":{"n":3})"), std::string::npos);
  auto one = w.run([&]() -> asio::awaitable<std::vector<std::string>> {
    co_return co_await w.queue->peek(kSvc, 1);
  });
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], peeked[0]);
  // A leased take counts as in progress and as leased.
  ASSERT_TRUE(w.take_leased(10s));
  s = w.run(
      [&]() -> asio::awaitable<hydra::QueueStats> { co_return co_await w.queue->stats(kSvc); });
  EXPECT_EQ(s.received, 1);
  EXPECT_EQ(s.in_progress, 2);
  EXPECT_EQ(s.leased, 1);
  EXPECT_EQ(s.claimed, 0);
  // An item a leased wait claimed and did not take (its waiter died) is counted as claimed.
  server.cli({"RPOPLPUSH", qd::received_key(kSvc), qd::claimed_key(kSvc)});
  s = w.run(
      [&]() -> asio::awaitable<hydra::QueueStats> { co_return co_await w.queue->stats(kSvc); });
  EXPECT_EQ(s.received, 0);
  EXPECT_EQ(s.claimed, 1);
  (void)item;
}

TEST(QueueRedis, MarkAndTakeNextDrainsInOrderAndMarksEachItem) {
  RedisServer server;
  Worker w(server);
  for (int i = 0; i < 5; ++i)
    w.put({{"n", i}});
  auto item = w.get();
  ASSERT_TRUE(item);
  std::vector<std::string> seen = {body_field(*item, "n")};
  for (;;) {
    // Item 2 fails: it must land in mqincomplete with its reason, like mark_queue_message.
    const bool ok = body_field(*item, "n") != "2";
    auto step = w.mark_and_take(*item, ok, ok ? "" : "item two failed");
    EXPECT_TRUE(step.marked);
    // The mark ran before the take: only the new item is in progress.
    EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), step.next ? "1" : "0");
    if (!step.next) break;
    item = std::move(step.next);
    seen.push_back(body_field(*item, "n"));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  auto incomplete = lrange(server, qd::incomplete_key(kSvc));
  ASSERT_EQ(incomplete.size(), 1u);
  EXPECT_NE(incomplete[0].find(R"("bdy":{"n":2,"reason":"item two failed"}})"), std::string::npos)
      << incomplete[0];
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  // An item no longer in progress is reported as such, and the take still happens.
  w.put({{"n", 5}});
  auto step = w.mark_and_take(*item, true);
  EXPECT_FALSE(step.marked);
  ASSERT_TRUE(step.next);
  EXPECT_EQ(body_field(*step.next, "n"), "5");
}

TEST(QueueRedis, MarkAndTakeNextWithLeasesSurvivesAScriptFlush) {
  RedisServer server;
  Worker w(server);
  for (int i = 0; i < 4; ++i)
    w.put({{"n", i}});
  // The first call loads the scripts (steps one after the other); the second pipelines them;
  // before the third, Redis forgets its scripts and the NOSCRIPT answers must be handled.
  auto item = w.take_leased(5s);
  ASSERT_TRUE(item);
  std::vector<std::string> seen = {body_field(*item, "n")};
  for (int round = 0; round < 4; ++round) {
    if (round == 2) {
      EXPECT_EQ(server.cli({"SCRIPT", "FLUSH"}), "OK");
    }
    auto step = w.mark_and_take(*item, true, "", 5s);
    EXPECT_TRUE(step.marked) << "round " << round;
    if (!step.next) break;
    EXPECT_EQ(step.next->attempt, 1u);
    ASSERT_TRUE(step.next->lease_until);
    EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1") << "only the new item is leased";
    item = std::move(step.next);
    seen.push_back(body_field(*item, "n"));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"HLEN", qd::attempts_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::incomplete_key(kSvc)}), "0");
}

// Queues jobs "a" and "b" and takes "a" with a lease of 300 ms.
std::optional<QueuedMessage> lease_a_of_a_and_b(Worker& w) {
  w.put({{"job", "a"}});
  w.put({{"job", "b"}});
  return w.take_leased(300ms);
}

TEST(QueueRedis, ExpiredLeaseIsRedeliveredAndTheOldHolderCannotMark) {
  RedisServer server;
  Worker w(server);
  auto first = lease_a_of_a_and_b(w);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->attempt, 1u);
  ASSERT_TRUE(first->lease_until);
  auto left = *first->lease_until - std::chrono::system_clock::now();
  EXPECT_GT(left, 100ms);
  EXPECT_LT(left, 2s);
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");
  EXPECT_EQ(w.reclaim(), 0u);  // not expired yet

  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(w.reclaim(), 1u);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  // Requeued and not yet taken again: its attempt count still matches the old delivery's, but
  // the lease is gone, so the old holder's mark is refused and changes nothing.
  EXPECT_FALSE(w.mark(*first, true));
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "2");
  EXPECT_EQ(server.cli({"HGET", qd::attempts_key(kSvc), first->raw}), "1");
  EXPECT_EQ(server.cli({"LLEN", qd::incomplete_key(kSvc)}), "0");
  // Requeued at the consuming end: it comes back before "b".
  auto again = w.take_leased(5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->raw, first->raw);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_FALSE(w.mark(*first, true));  // the old delivery lost its lease
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "1");
  EXPECT_TRUE(w.mark(*again, false, "nope"));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"HLEN", qd::attempts_key(kSvc)}), "0");
  EXPECT_EQ(lrange(server, qd::incomplete_key(kSvc)),
            std::vector<std::string>{qd::with_reason(first->raw, "nope")});
  auto b = w.get();
  ASSERT_TRUE(b);
  EXPECT_EQ(body_field(*b, "job"), "\"b\"");
}

// The leased mark-and-take is one script: a mark refused because the lease was lost changes
// nothing, and the take still happens; a mark that succeeds removes the lease and the attempt
// count, and an incomplete item goes to mqincomplete with its reason.
TEST(QueueRedis, MarkAndTakeNextWithALostLeaseStillTakesTheNextItem) {
  RedisServer server;
  Worker w(server);
  auto first = lease_a_of_a_and_b(w);
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(w.reclaim(), 1u);  // "a" is back at the consuming end, its lease gone

  auto step = w.mark_and_take(*first, true, "", 5s);
  EXPECT_FALSE(step.marked);
  ASSERT_TRUE(step.next);
  EXPECT_EQ(step.next->raw, first->raw);
  EXPECT_EQ(step.next->attempt, 2u);
  ASSERT_TRUE(step.next->lease_until);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "1");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");

  auto again = std::move(*step.next);
  step = w.mark_and_take(again, false, "boom", 5s);
  EXPECT_TRUE(step.marked);
  ASSERT_TRUE(step.next);
  EXPECT_EQ(body_field(*step.next, "job"), "\"b\"");
  EXPECT_EQ(step.next->attempt, 1u);
  EXPECT_EQ(lrange(server, qd::incomplete_key(kSvc)),
            std::vector<std::string>{qd::with_reason(first->raw, "boom")});
  EXPECT_EQ(server.cli({"HEXISTS", qd::attempts_key(kSvc), first->raw}), "0");
  EXPECT_EQ(server.cli({"ZSCORE", qd::leases_key(kSvc), first->raw}), "");

  step = w.mark_and_take(*step.next, true, "", 5s);
  EXPECT_TRUE(step.marked);
  EXPECT_FALSE(step.next);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"HLEN", qd::attempts_key(kSvc)}), "0");
}

TEST(QueueRedis, ExtendedLeaseIsNotReclaimed) {
  RedisServer server;
  Worker w(server);
  w.put({{"job", 1}});
  auto item = w.take_leased(300ms);
  ASSERT_TRUE(item);
  auto before = *item->lease_until;
  EXPECT_TRUE(w.run(
      [&]() -> asio::awaitable<bool> { co_return co_await w.queue->extend_lease(*item, 5s); }));
  EXPECT_GT(*item->lease_until, before + 3s);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(w.reclaim(), 0u);
  EXPECT_TRUE(w.mark(*item, true));
  EXPECT_FALSE(w.run(
      [&]() -> asio::awaitable<bool> { co_return co_await w.queue->extend_lease(*item, 5s); }));
}

TEST(QueueRedis, DeadLetteredAfterMaxAttempts) {
  RedisServer server;
  Worker w(server);
  w.put({{"job", "poison"}});
  auto one = w.take_leased(100ms, 2);
  ASSERT_TRUE(one);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(w.reclaim(2), 1u);
  auto two = w.take_leased(100ms, 2);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->attempt, 2u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(w.reclaim(2), 1u);
  EXPECT_FALSE(w.get());
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"HLEN", qd::attempts_key(kSvc)}), "0");
  auto dead = lrange(server, qd::incomplete_key(kSvc));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], qd::with_reason(one->raw, "dead-lettered after 2 attempts (lease expired)"));
  EXPECT_FALSE(w.mark(*two, true));
}

TEST(QueueRedis, BlockingLeasedWaitLeasesTheItem) {
  RedisServer server;
  Worker w(server);
  auto got = w.leased_wait_for_a_late_item();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->lease_until);
  EXPECT_EQ(got->attempt, 1u);
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");
  EXPECT_TRUE(w.mark(*got, true));
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
}

// Two leased blocking waits on one empty queue: an item wakes one of them, which takes it, and
// the other goes on waiting (it does not give up early) until the next item. What is in
// progress is leased whenever the test looks, and nothing is left claimed.
TEST(QueueRedis, LeasedBlockingWaitersShareItemsAndKeepWaiting) {
  RedisServer server;
  Worker w(server);
  hydra::Queue second(w.hydra);
  std::vector<std::optional<QueuedMessage>> got(2);
  std::vector<std::string> unleased_seen;
  w.run([&]() -> asio::awaitable<void> {
    hydra::LeaseOptions o;
    o.lease = 10s;
    int done = 0;
    auto waiter = [&](hydra::Queue& q, std::size_t slot) -> asio::awaitable<void> {
      got[slot] = co_await q.wait_queued_message(kSvc, 5s, o);
      ++done;
    };
    asio::co_spawn(w.io, waiter(*w.queue, 0), asio::detached);
    asio::co_spawn(w.io, waiter(second, 1), asio::detached);
    for (int n = 0; n < 2; ++n) {
      co_await hydra::test::sleep_for(300ms);
      boost::json::object m;
      m["to"] = kSvc + ":/";
      m["from"] = "client:/";
      m["body"] = boost::json::object{{"n", n}};
      co_await w.queue->queue_message(m);
      // What is in progress is leased at every look (both counted in one atomic step).
      for (int look = 0; look < 20 && done < n + 1; ++look) {
        co_await hydra::test::sleep_for(10ms);
        auto counts = server.cli({"EVAL",
                                  "return {redis.call('LLEN', KEYS[1]), "
                                  "redis.call('ZCARD', KEYS[2])}",
                                  "2", qd::in_progress_key(kSvc), qd::leases_key(kSvc)});
        auto nl = counts.find('\n');
        if (nl == std::string::npos || counts.substr(0, nl) != counts.substr(nl + 1))
          unleased_seen.push_back("after item " + std::to_string(n) + ": " + counts);
      }
    }
    while (done < 2)
      co_await hydra::test::sleep_for(10ms);
  });
  EXPECT_TRUE(unleased_seen.empty()) << unleased_seen.front();
  ASSERT_TRUE(got[0]);
  ASSERT_TRUE(got[1]);
  EXPECT_NE(got[0]->raw, got[1]->raw);
  for (const auto& item : got) {
    EXPECT_TRUE(item->lease_until);
    EXPECT_EQ(item->attempt, 1u);
  }
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "2");
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");
}

// Four leased blocking waits on one empty queue, as four consumer processes would hold them
// (each Queue waits on a connection of its own): an item wakes one of them, not all four, so
// Redis runs one take for it. Before, each wait was a BLMOVE of mqrecieved onto itself, which
// moved nothing and so woke every waiter, each then running a take.
TEST(QueueRedis, AnItemWakesOneLeasedWaiterNotAll) {
  RedisServer server;
  Worker w(server);
  constexpr int kWaiters = 4;
  std::vector<std::unique_ptr<hydra::Queue>> queues;
  for (int i = 0; i < kWaiters; ++i)
    queues.push_back(std::make_unique<hydra::Queue>(w.hydra));
  int returned = 0, with_item = 0;
  long takes = -1;
  w.run([&]() -> asio::awaitable<void> {
    hydra::LeaseOptions o;
    o.lease = 10s;
    auto waiter = [&](hydra::Queue& q) -> asio::awaitable<void> {
      try {
        if (co_await q.wait_queued_message(kSvc, 10s, o)) ++with_item;
      } catch (const std::exception&) {
        // stop() below ends the waits still pending
      }
      ++returned;
    };
    for (auto& q : queues)
      asio::co_spawn(w.io, waiter(*q), asio::detached);
    // Every waiter blocked (its first take done) before the count starts.
    const auto all_blocked = [&] {
      const auto clients = server.cli({"INFO", "clients"});
      return clients.find("blocked_clients:" + std::to_string(kWaiters)) != std::string::npos;
    };
    for (int i = 0; i < 500 && !all_blocked(); ++i)
      co_await hydra::test::sleep_for(10ms);
    const long takes0 = server.command_calls("evalsha");
    boost::json::object m;
    m["to"] = kSvc + ":/";
    m["from"] = "client:/";
    m["body"] = boost::json::object{{"n", 1}};
    co_await w.queue->queue_message(m);
    for (int i = 0; i < 200 && with_item == 0; ++i)
      co_await hydra::test::sleep_for(10ms);
    co_await hydra::test::sleep_for(300ms);  // time for any other waiter to wake
    takes = server.command_calls("evalsha") - takes0;
    for (auto& q : queues)
      q->stop();
    while (returned < kWaiters)
      co_await hydra::test::sleep_for(10ms);
  });
  EXPECT_EQ(with_item, 1);
  EXPECT_EQ(takes, 1) << "takes run for one item with " << kWaiters << " waiters";
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");
}

// A waiter that dies between its wake-up and its take leaves the item it claimed in mqclaimed.
// The next leased take of any consumer takes that item first (the plain take and the one of
// mark_and_take_next), and reclaim_expired returns what is left there to the consuming end of
// mqrecieved, where Node consumers see it again.
TEST(QueueRedis, AClaimedItemIsTakenFirstAndReclaimReturnsIt) {
  RedisServer server;
  Worker w(server);
  for (int i = 0; i < 4; ++i)
    w.put({{"n", i}});
  const auto claim = [&] {
    server.cli({"RPOPLPUSH", qd::received_key(kSvc), qd::claimed_key(kSvc)});
  };
  claim();  // n 0, the oldest
  auto first = w.take_leased(10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(body_field(*first, "n"), "0");
  EXPECT_TRUE(first->lease_until);
  EXPECT_EQ(first->attempt, 1u);
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");

  claim();  // n 1
  auto step = w.mark_and_take(*first, true, {}, 10s);
  EXPECT_TRUE(step.marked);
  ASSERT_TRUE(step.next);
  EXPECT_EQ(body_field(*step.next, "n"), "1");
  EXPECT_TRUE(step.next->lease_until);
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");

  claim();  // n 2
  claim();  // n 3
  EXPECT_EQ(w.reclaim(), 2u);
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");
  // Back at the consuming end, oldest first: a Node-style take gets n 2, then n 3.
  auto two = w.get();
  auto three = w.get();
  ASSERT_TRUE(two);
  ASSERT_TRUE(three);
  EXPECT_EQ(body_field(*two, "n"), "2");
  EXPECT_EQ(body_field(*three, "n"), "3");
}

// On a server without BLMOVE (Redis < 6.2, here renamed away) a leased blocking wait claims with
// BRPOPLPUSH instead, leases what it claimed, and times out as asked.
TEST(QueueRedis, LeasedBlockingWaitWorksWithoutBlmove) {
  RedisServer server({"--rename-command", "BLMOVE", ""});
  Worker w(server);
  hydra::LeaseOptions o;
  o.lease = 10s;
  const auto t0 = std::chrono::steady_clock::now();
  auto none = w.run([&]() -> asio::awaitable<std::optional<QueuedMessage>> {
    co_return co_await w.queue->wait_queued_message(kSvc, 300ms, o);
  });
  EXPECT_FALSE(none);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  auto got = w.leased_wait_for_a_late_item();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->lease_until);
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");
  EXPECT_EQ(server.cli({"LLEN", qd::claimed_key(kSvc)}), "0");
  EXPECT_GE(server.command_calls("brpoplpush"), 1);
  EXPECT_TRUE(w.mark(*got, true));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
}

TEST(QueueRedis, ItemOfAKilledConsumerIsRedelivered) {
  RedisServer server;
  Worker w(server);
  auto r = w.put({{"job", "survive"}});
  hydra::test::Process consumer(
      {std::string(HYDRA_BINARY_DIR) + "/tests/hydra_queue_consumer", server.url(), kSvc, "500"},
      {}, true);
  auto line = consumer.wait_for_line("TOOK ", 15s);
  ASSERT_TRUE(line) << consumer.output(100ms);
  EXPECT_EQ(*line, "TOOK " + r.mid);
  consumer.signal(SIGKILL);
  ASSERT_TRUE(consumer.wait(5s));
  EXPECT_FALSE(w.get());  // still held (in progress, leased)
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "1");
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(w.reclaim(), 1u);
  auto again = w.take_leased(5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message.mid(), r.mid);
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_TRUE(w.mark(*again, true));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
}

TEST(QueueRedis, MalformedItemsDoNotBreakConsumers) {
  RedisServer server;
  Worker w(server);
  server.cli({"LPUSH", qd::received_key(kSvc), "not json {"});
  server.cli({"LPUSH", qd::received_key(kSvc), "[1,2]"});
  auto s = w.run(
      [&]() -> asio::awaitable<hydra::QueueStats> { co_return co_await w.queue->stats(kSvc); });
  EXPECT_EQ(s.received, 2);
  EXPECT_FALSE(s.oldest_age);
  auto peeked = w.run([&]() -> asio::awaitable<std::vector<std::string>> {
    co_return co_await w.queue->peek(kSvc);
  });
  EXPECT_EQ(peeked, (std::vector<std::string>{"not json {", "[1,2]"}));
  auto bad = w.get();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->raw, "not json {");
  EXPECT_FALSE(bad->message.validate());
  EXPECT_TRUE(w.mark(*bad, false, "malformed"));
  EXPECT_EQ(lrange(server, qd::incomplete_key(kSvc)), std::vector<std::string>{"not json {"});
  auto arr = w.take_leased(5s);
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->raw, "[1,2]");
  EXPECT_TRUE(w.mark(*arr, true));
}

namespace {

TEST(QueueStop, EndsAPendingBlockingWaitAtOnce) {
  hydra::test::RedisServer server;
  boost::asio::io_context io;
  hydra::Hydra h(io.get_executor());
  hydra::test::run_on(io, [&]() -> boost::asio::awaitable<void> {
    co_await h.init(hydra::test::service_document(server, "stopper"));
  });
  hydra::Queue queue(h);
  std::optional<std::error_code> outcome;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        try {
          co_await queue.wait_queued_message("stopper", std::chrono::seconds(30));
          outcome = std::error_code{};
        } catch (const hydra::Error& e) {
          outcome = e.code();
        }
      },
      boost::asio::detached);
  hydra::test::pump(io, std::chrono::milliseconds(200));
  EXPECT_FALSE(outcome);
  auto start = std::chrono::steady_clock::now();
  queue.stop();
  while (!outcome && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    io.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(outcome);
  EXPECT_EQ(*outcome, hydra::errc::stopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_THROW(hydra::test::run_on(io,
                                   [&]() -> boost::asio::awaitable<void> {
                                     co_await queue.wait_queued_message("stopper",
                                                                        std::chrono::seconds(1));
                                   }),
               hydra::Error);
  hydra::test::run_on(io, [&]() -> boost::asio::awaitable<void> { co_await h.shutdown(); });
}

}  // namespace
