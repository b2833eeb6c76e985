// The Redis connection against a real redis-server: pipelining, errors, pub/sub, reconnect,
// AUTH with ACL users, Unix sockets and timeouts.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "hydra/error.hpp"
#include "hydra/redis/connection.hpp"
#include "redis/early_write.hpp"
#include "support/async.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::redis::cmd;
using hydra::redis::Command;
using hydra::redis::Connection;
using hydra::redis::Reply;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

hydra::redis::Config config_for(const RedisServer& server, int db = 0) {
  hydra::redis::Config c;
  c.host = server.host();
  c.port = server.port();
  c.db = db;
  c.reconnect_min_delay = 20ms;
  c.reconnect_max_delay = 200ms;
  return c;
}

// A single-threaded connection to a private server, started and past its first PING.
struct StartedLink {
  RedisServer server;
  asio::io_context io;
  Connection conn;
  StartedLink() : conn(io.get_executor(), single_threaded(config_for(server))) {
    conn.start();
    run_on(io, [&]() -> asio::awaitable<void> { (co_await conn.exec(cmd("PING"))).check(); });
  }
  static hydra::redis::Config single_threaded(hydra::redis::Config c) {
    c.single_threaded = true;
    return c;
  }
};

// A request whose callback throws (made by `issue`) is the caller's error: it leaves
// io_context::run() and the connection carries on, as with a posted handler.
void expect_throw_leaves_run_and_the_link_stays(asio::io_context& io, Connection& conn,
                                                const std::function<void()>& issue) {
  issue();
  EXPECT_THROW(io.run_for(2s), std::runtime_error);
  io.restart();
  auto r =
      run_on(io, [&]() -> asio::awaitable<Reply> { co_return co_await conn.exec(cmd("PING")); });
  EXPECT_EQ(r.as_string(), "PONG");
  EXPECT_EQ(conn.connect_count(), 1u);
}

TEST(Connection, SetGetAndErrorReplies) {
  RedisServer server;
  asio::io_context io;
  Connection conn(io.get_executor(), config_for(server, 3));
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> {
    (co_await conn.exec(cmd("SET", "k", "v"))).check();
    EXPECT_EQ((co_await conn.exec(cmd("GET", "k"))).as_string(), "v");
    EXPECT_TRUE((co_await conn.exec(cmd("GET", "missing"))).is_nil());
    Reply err = co_await conn.exec(cmd("INCR", "k"));
    EXPECT_TRUE(err.is_error());
    EXPECT_THROW(err.check(), hydra::Error);
  });
  // SELECT 3 happened: the key lives in db 3 only.
  EXPECT_EQ(server.cli({"GET", "k"}, 3), "v");
  EXPECT_EQ(server.cli({"EXISTS", "k"}, 0), "0");
}

TEST(Connection, ManyConcurrentCommandsArePipelinedAndMatchedInOrder) {
  RedisServer server;
  asio::io_context io;
  Connection conn(io.get_executor(), config_for(server));
  conn.start();
  constexpr int kCount = 2000;
  int ok = 0;
  for (int i = 0; i < kCount; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto key = "key:" + std::to_string(i);
          co_await conn.exec(cmd("SET", key, std::to_string(i * 7)));
          auto r = co_await conn.exec(cmd("GET", key));
          if (r.as_string() == std::to_string(i * 7)) ++ok;
        },
        asio::detached);
  }
  hydra::test::pump(io, 50ms);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ok < kCount && std::chrono::steady_clock::now() < deadline)
    io.run_for(10ms);
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(conn.connect_count(), 1u);
}

// Many coroutines with large values: writes that the socket takes only in part must keep every
// request's bytes in order and match every reply to its request. With threshold 1 these are early
// writes (up to four per batch of replies), the reader's writes of the remaining follow-ups and the
// writer's; with 0 only the last two.
class ConnectionPartialWrites : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ConnectionPartialWrites, KeepOrderWhenTheSocketTakesOnlyPart) {
  RedisServer server;
  asio::io_context io;
  auto config = config_for(server);
  config.single_threaded = true;
  config.early_write_threshold = GetParam();
  Connection conn(io.get_executor(), config);
  conn.start();
  constexpr int kWorkers = 32;
  constexpr int kRounds = 20;
  int ok = 0;
  for (int w = 0; w < kWorkers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          for (int i = 0; i < kRounds; ++i) {
            auto key = "big:" + std::to_string(w) + ":" + std::to_string(i);
            // 96 KiB values, different per request, so a misplaced byte cannot go unnoticed.
            std::string value(96 * 1024, static_cast<char>('a' + (w + i) % 26));
            value += key;
            co_await conn.exec(cmd("SET", key, value));
            auto r = co_await conn.exec(cmd("GET", key));
            if (r.as_string() == value) ++ok;
          }
        },
        asio::detached);
  }
  hydra::test::run_until(
      io, [&] { return ok >= kWorkers * kRounds; }, 30s);
  EXPECT_EQ(ok, kWorkers * kRounds);
  EXPECT_EQ(conn.connect_count(), 1u);
  auto writes = conn.write_counts();
  if (GetParam() == 0) {
    EXPECT_EQ(writes.early, 0u);
  } else {
    EXPECT_GT(writes.early, 0u);
  }
  EXPECT_GT(writes.writer, 0u);
}

INSTANTIATE_TEST_SUITE_P(EarlyWriteThreshold, ConnectionPartialWrites,
                         ::testing::Values(std::size_t{1}, std::size_t{0}));

// A request that one single-threaded connection's reply or message handler makes on another
// connection of the same thread is written when the reader is done handing out its replies, not
// by that connection's writer. A chain with one message at a time stalls if such a request is
// ever left unwritten: each message on the subscriber connection publishes the next on the
// command connection, whose reply makes an INCR on a third connection; every tenth message also
// makes a request on a connection with a strand of its own, which is written by its writer.
TEST(Connection, RequestsQueuedWhileAnotherConnectionHandsOutRepliesAreWritten) {
  RedisServer server;
  asio::io_context io(1);
  auto single = config_for(server);
  single.single_threaded = true;
  Connection pub(io.get_executor(), single);
  Connection counter(io.get_executor(), single);
  Connection sub(io.get_executor(), single, hydra::redis::Mode::subscriber);
  Connection stranded(io.get_executor(), config_for(server));
  constexpr int kMessages = 2000;
  int received = 0, out_of_order = 0, failed = 0, incremented = 0, stranded_done = 0;
  auto publish = [&](int n) {
    pub.async_exec_one(
        cmd("PUBLISH", "chain", std::to_string(n)), {}, [&](std::error_code ec, Reply r) {
          if (ec || r.as_integer() != 1) ++failed;
          counter.async_exec_one(cmd("INCR", "chain:count"), {}, [&](std::error_code e, Reply) {
            if (e) ++failed;
            ++incremented;
          });
        });
  };
  sub.set_message_handler([&](std::string_view, std::string_view payload) {
    if (payload != std::to_string(received)) ++out_of_order;
    ++received;
    if (received % 10 == 0) {
      stranded.async_exec_one(cmd("PING"), {}, [&](std::error_code e, Reply) {
        if (e) ++failed;
        ++stranded_done;
      });
    }
    if (received < kMessages) publish(received);
  });
  pub.start();
  counter.start();
  sub.start();
  stranded.start();
  run_on(io, [&]() -> asio::awaitable<void> { co_await sub.subscribe(cmd("chain")); });
  publish(0);
  hydra::test::run_until(
      io, [&] { return incremented >= kMessages && stranded_done >= kMessages / 10; }, 30s);
  EXPECT_EQ(received, kMessages);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(incremented, kMessages);
  EXPECT_EQ(stranded_done, kMessages / 10);
  EXPECT_EQ(server.cli({"GET", "chain:count"}), std::to_string(kMessages));
  for (auto* c : {&pub, &counter, &sub, &stranded})
    c->stop();
  io.run_for(50ms);
}

// Replies handled on a single-threaded connection resume their coroutine at once; a burst of
// concurrent requests then goes out partly early. With the threshold at zero only the writer
// writes.
TEST(Connection, EarlyWritesHappenOnlyWhenEnabled) {
  RedisServer server;
  for (std::size_t threshold : {std::size_t{0}, std::size_t{4}}) {
    asio::io_context io;
    auto config = config_for(server);
    config.single_threaded = true;
    config.early_write_threshold = threshold;
    Connection conn(io.get_executor(), config);
    conn.start();
    constexpr int kWorkers = 16;
    constexpr int kRounds = 200;
    int done = 0;
    for (int w = 0; w < kWorkers; ++w) {
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            for (int i = 0; i < kRounds; ++i)
              co_await conn.exec(cmd("INCR", "counter:" + std::to_string(threshold)));
            ++done;
          },
          asio::detached);
    }
    hydra::test::run_until(
        io, [&] { return done >= kWorkers; }, 20s);
    ASSERT_EQ(done, kWorkers);
    EXPECT_EQ(server.cli({"GET", "counter:" + std::to_string(threshold)}),
              std::to_string(kWorkers * kRounds));
    auto writes = conn.write_counts();
    if (threshold == 0) {
      EXPECT_EQ(writes.early, 0u);
    } else {
      EXPECT_GT(writes.early, 0u);
    }
    conn.stop();
    io.run_for(50ms);
  }
}

// Early writes are for follow-ups: requests queued by this connection's own reply handlers.
// A burst made from anywhere else (here one posted handler, as an echo answering the messages
// of its subscriber connection) waits for the writer; the same burst made from a reply handler
// goes out partly early.
TEST(Connection, EarlyWritesOnlyForRequestsMadeByReplyHandlers) {
  RedisServer server;
  asio::io_context io;
  auto config = config_for(server);
  config.single_threaded = true;
  config.early_write_threshold = 4;
  Connection conn(io.get_executor(), config);
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> { (co_await conn.exec(cmd("PING"))).check(); });
  constexpr int kBurst = 64;
  int done = 0;
  auto burst = [&] {
    for (int i = 0; i < kBurst; ++i) {
      conn.async_exec_one(cmd("INCR", "burst"), {}, [&](std::error_code ec, Reply r) {
        if (!ec && r.type == Reply::Type::integer) ++done;
      });
    }
  };
  const auto before = conn.write_counts();
  asio::post(io, burst);
  hydra::test::run_until(
      io, [&] { return done >= kBurst; }, 20s);
  ASSERT_EQ(done, kBurst);
  EXPECT_EQ(conn.write_counts().early, before.early);

  conn.async_exec_one(cmd("PING"), {}, [&](std::error_code, Reply) { burst(); });
  hydra::test::run_until(
      io, [&] { return done >= 2 * kBurst; }, 20s);
  ASSERT_EQ(done, 2 * kBurst);
  // Groups of at least 4 as the burst grows; at most two early writes for the batch.
  EXPECT_GT(conn.write_counts().early, before.early);
  EXPECT_LE(conn.write_counts().early, before.early + hydra::redis::kEarlyWriteGroups);
  EXPECT_EQ(server.cli({"GET", "burst"}), std::to_string(2 * kBurst));
  conn.stop();
  io.run_for(50ms);
}

// A completion handler that throws (a plain callback, not a coroutine) is the caller's error:
// it leaves io_context::run() and the connection carries on, as with a posted handler.
TEST(Connection, AThrowingHandlerLeavesRunAndTheLinkStays) {
  StartedLink link;
  auto& io = link.io;
  auto& conn = link.conn;
  expect_throw_leaves_run_and_the_link_stays(io, conn, [&] {
    std::vector<Command> ping;
    ping.push_back(cmd("PING"));
    conn.async_exec(std::move(ping), {}, [](std::error_code, std::vector<Reply>) {
      throw std::runtime_error("handler failed");
    });
  });
}

// exec_one_here: a callback without an executor of its own completes like async_exec_one's, in
// request order with the others; one that throws leaves run(); a stopped connection completes it
// with `stopped`. The connection reuses its requests, and one that carried such a callback must
// not make a later handler bound to another executor run on the connection's.
TEST(Connection, CallbacksWithoutAnExecutorCompleteInOrderAndLeaveNothingBehind) {
  StartedLink link;
  auto& io = link.io;
  auto& conn = link.conn;

  std::vector<std::string> got;
  auto keep = [&](const std::string& name) {
    return [&got, name](std::error_code ec, Reply r) {
      if (ec) {
        got.push_back(name + " " + ec.message());
      } else {
        got.push_back(name + "=" +
                      (r.type == Reply::Type::integer ? std::to_string(r.integer) : r.as_string()));
      }
    };
  };
  conn.exec_one_here(hydra::redis::Request("SET", "here", "1"), {}, keep("set"));
  conn.async_exec_one(cmd("INCR", "here"), {}, keep("incr"));
  conn.exec_one_here(hydra::redis::Request("GET", "here"), {}, keep("get"));
  hydra::test::run_until(
      io, [&] { return got.size() >= 3; }, 2s);
  EXPECT_EQ(got, (std::vector<std::string>{"set=OK", "incr=2", "get=2"}));

  // A handler bound to another io_context runs there, not on the connection's, even on a
  // request the connection reused from the ones above.
  asio::io_context other;
  bool ran_in_other = false;
  bool done = false;
  for (int i = 0; i < 4; ++i) {
    conn.async_exec_one(cmd("PING"), {},
                        asio::bind_executor(other, [&](std::error_code ec, Reply r) {
                          EXPECT_FALSE(ec);
                          EXPECT_EQ(r.as_string(), "PONG");
                          ran_in_other = true;
                          done = true;
                        }));
    hydra::test::pump(io, 50ms);
    EXPECT_FALSE(done) << "ran on the connection's io_context";
    other.run_for(100ms);
    other.restart();
    EXPECT_TRUE(ran_in_other);
    done = ran_in_other = false;
  }

  expect_throw_leaves_run_and_the_link_stays(io, conn, [&] {
    conn.exec_one_here(hydra::redis::Request("PING"), {},
                       [](std::error_code, Reply) { throw std::runtime_error("callback failed"); });
  });

  conn.stop();
  hydra::test::pump(io, 50ms);
  got.clear();
  conn.exec_one_here(hydra::redis::Request("PING"), {}, keep("after stop"));
  hydra::test::run_until(
      io, [&] { return !got.empty(); }, 1s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "after stop " + hydra::make_error_code(hydra::errc::stopped).message());
}

// async_exec_one: one command, one reply, no vectors; error replies are replies, a stopped
// connection is an error code; an empty command completes at once without touching Redis.
TEST(Connection, OneCommandCompletesWithItsReply) {
  RedisServer server;
  asio::io_context io;
  auto config = config_for(server);
  config.single_threaded = true;
  Connection conn(io.get_executor(), config);
  conn.start();
  std::vector<std::pair<std::error_code, Reply>> got;
  auto keep = [&](std::error_code ec, Reply r) { got.emplace_back(ec, std::move(r)); };
  conn.async_exec_one(cmd("SET", "k", "v"), {}, keep);
  conn.async_exec_one(cmd("GET", "k"), {}, keep);
  conn.async_exec_one(cmd("INCR", "k"), {}, keep);
  conn.async_exec_one(Command{}, {}, keep);
  hydra::test::run_until(
      io, [&] { return got.size() >= 4; }, 2s);
  ASSERT_EQ(got.size(), 4u);
  // The empty command needs no round trip, so it completes first.
  EXPECT_FALSE(got[0].first);
  EXPECT_TRUE(got[0].second.is_nil());
  EXPECT_EQ(got[1].second.as_string(), "OK");
  EXPECT_EQ(got[2].second.as_string(), "v");
  EXPECT_FALSE(got[3].first);
  EXPECT_TRUE(got[3].second.is_error());
  EXPECT_NE(got[3].second.str.find("not an integer"), std::string::npos) << got[3].second.str;
  EXPECT_THROW(run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(Command{}); }),
               hydra::Error);

  conn.stop();
  hydra::test::pump(io, 50ms);
  got.clear();
  conn.async_exec_one(cmd("PING"), {}, keep);
  hydra::test::run_until(
      io, [&] { return !got.empty(); }, 1s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, hydra::errc::stopped);
}

TEST(Connection, BatchIsWrittenBackToBack) {
  RedisServer server;
  asio::io_context io;
  Connection conn(io.get_executor(), config_for(server));
  conn.start();
  auto replies = run_on(io, [&]() -> asio::awaitable<std::vector<Reply>> {
    std::vector<Command> batch{cmd("MULTI"), cmd("INCR", "n"), cmd("INCR", "n"), cmd("EXEC")};
    co_return co_await conn.exec_batch(batch);
  });
  ASSERT_EQ(replies.size(), 4u);
  ASSERT_TRUE(replies[3].is_array());
  EXPECT_EQ(replies[3].elements[1].integer, 2);
}

TEST(Connection, PubSubDeliversMessages) {
  RedisServer server;
  asio::io_context io;
  Connection pub(io.get_executor(), config_for(server));
  Connection sub(io.get_executor(), config_for(server), hydra::redis::Mode::subscriber);
  std::vector<std::pair<std::string, std::string>> got;
  sub.set_message_handler([&](std::string_view ch, std::string_view payload) {
    got.emplace_back(std::string(ch), std::string(payload));
  });
  pub.start();
  sub.start();
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await sub.subscribe(cmd("a", "b"));
    auto n = (co_await pub.exec(cmd("PUBLISH", "a", "one"))).as_integer();
    EXPECT_EQ(n, 1);
    co_await pub.exec(cmd("PUBLISH", "b", "two"));
    co_await pub.exec(cmd("PUBLISH", "c", "ignored"));
    co_await hydra::test::sleep_for(50ms);
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"a", "one"}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"b", "two"}));
}

TEST(Connection, InFlightCommandsFailWithDisconnectedAndConnectionRecovers) {
  RedisServer server;
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.command_timeout = 10s;
  Connection conn(io.get_executor(), cfg);
  std::vector<hydra::redis::State> states;
  conn.set_state_handler([&](hydra::redis::State s, const std::string&) { states.push_back(s); });
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING")); });
  // A blocking command is in flight when the server dies.
  std::error_code in_flight_error;
  bool finished = false;
  std::vector<Command> blpop{{"BLPOP", "never", "0"}};
  hydra::redis::RequestOptions no_limit;
  no_limit.timeout = 0ms;
  conn.async_exec(blpop, no_limit, [&](std::error_code ec, std::vector<Reply>) {
    in_flight_error = ec;
    finished = true;
  });
  hydra::test::pump(io, 100ms);
  server.stop();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!finished && std::chrono::steady_clock::now() < deadline)
    io.run_for(10ms);
  ASSERT_TRUE(finished);
  EXPECT_EQ(in_flight_error, hydra::errc::disconnected);
  // Commands that must not wait fail at once while the server is down.
  hydra::redis::RequestOptions no_wait;
  no_wait.wait_for_connection = false;
  EXPECT_THROW(
      run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING"), no_wait); }),
      hydra::Error);
  server.start();
  // Commands issued while reconnecting wait and then succeed.
  auto pong = run_on(io, [&]() -> asio::awaitable<std::string> {
    co_return (co_await conn.exec(cmd("PING"))).as_string();
  });
  EXPECT_EQ(pong, "PONG");
  EXPECT_GE(conn.connect_count(), 2u);
  EXPECT_NE(std::find(states.begin(), states.end(), hydra::redis::State::disconnected),
            states.end());
}

TEST(Connection, SubscriptionsAreRestoredAfterRestartExactlyOnce) {
  RedisServer server;
  asio::io_context io;
  Connection pub(io.get_executor(), config_for(server));
  Connection sub(io.get_executor(), config_for(server), hydra::redis::Mode::subscriber);
  int received = 0;
  sub.set_message_handler([&](std::string_view, std::string_view) { ++received; });
  pub.start();
  sub.start();
  run_on(io, [&]() -> asio::awaitable<void> { co_await sub.subscribe(cmd("chan")); });
  server.restart();
  // Wait for the subscriber to come back, then check there is exactly one subscriber.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sub.connect_count() < 2 && std::chrono::steady_clock::now() < deadline)
    io.run_for(10ms);
  ASSERT_GE(sub.connect_count(), 2u);
  hydra::test::pump(io, 50ms);
  auto receivers = run_on(io, [&]() -> asio::awaitable<long long> {
    co_return (co_await pub.exec(cmd("PUBLISH", "chan", "x"))).as_integer();
  });
  EXPECT_EQ(receivers, 1);
  hydra::test::pump(io, 50ms);
  EXPECT_EQ(received, 1);
  EXPECT_EQ(server.cli({"PUBSUB", "NUMSUB", "chan"}), "chan\n1");
}

TEST(Connection, AuthWithAclUserAndPassword) {
  RedisServer server;
  server.cli({"ACL", "SETUSER", "svc", "on", ">s3cret", "~*", "&*", "+@all"});
  server.cli({"CONFIG", "SET", "requirepass", "defaultpw"});
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.username = "svc";
  cfg.password = "s3cret";
  Connection conn(io.get_executor(), cfg);
  conn.start();
  auto who = run_on(io, [&]() -> asio::awaitable<std::string> {
    co_return (co_await conn.exec(cmd("ACL", "WHOAMI"))).as_string();
  });
  EXPECT_EQ(who, "svc");
}

TEST(Connection, WrongPasswordKeepsRetryingAndReportsTheReason) {
  RedisServer server({"--requirepass", "right"});
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.password = "wrong";
  cfg.command_timeout = 300ms;
  Connection conn(io.get_executor(), cfg);
  // The reason is in the detail of each `disconnected` state; the last state of all may be a
  // new `connecting` attempt when the request times out.
  std::string last_detail;
  conn.set_state_handler([&](hydra::redis::State s, const std::string& d) {
    if (s == hydra::redis::State::disconnected) last_detail = d;
  });
  conn.start();
  try {
    run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING")); });
    FAIL() << "expected a timeout";
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::timeout);
  }
  EXPECT_NE(last_detail.find("WRONGPASS"), std::string::npos) << last_detail;
}

TEST(Connection, UnixSocket) {
  RedisServer server;
  asio::io_context io;
  hydra::redis::Config cfg;
  cfg.unix_path = server.unix_socket();
  Connection conn(io.get_executor(), cfg);
  conn.start();
  auto pong = run_on(io, [&]() -> asio::awaitable<std::string> {
    co_return (co_await conn.exec(cmd("PING"))).as_string();
  });
  EXPECT_EQ(pong, "PONG");
}

TEST(Connection, CommandTimeoutFailsTheRequestAndResetsTheLink) {
  RedisServer server;
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.command_timeout = 200ms;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING")); });
  auto start = std::chrono::steady_clock::now();
  try {
    run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("DEBUG", "SLEEP", "1")); });
    FAIL() << "expected a timeout";
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::timeout);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
  // The connection comes back by itself and works.
  auto pong = run_on(io, [&]() -> asio::awaitable<std::string> {
    co_return (co_await conn.exec(cmd("PING"), {.timeout = 3s})).as_string();
  });
  EXPECT_EQ(pong, "PONG");
}

TEST(Connection, StopFailsPendingWithStopped) {
  RedisServer server;
  asio::io_context io;
  Connection conn(io.get_executor(), config_for(server));
  conn.start();
  run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING")); });
  conn.stop();
  try {
    run_on(io, [&]() -> asio::awaitable<void> { co_await conn.exec(cmd("PING")); });
    FAIL() << "expected stopped";
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::stopped);
  }
}

// exec and exec_batch throw hydra::Error naming the command that failed; an empty command is
// refused before anything is sent.
TEST(Connection, CoroutineCallsThrowNamingTheCommand) {
  RedisServer server;
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.command_timeout = 200ms;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  auto error_of = [&](auto call) -> std::pair<std::error_code, std::string> {
    try {
      run_on(io, call);
    } catch (const hydra::Error& e) {
      return {e.code(), e.what()};
    }
    return {};
  };
  auto empty = error_of([&]() -> asio::awaitable<void> { co_await conn.exec(Command{}); });
  EXPECT_EQ(empty.first, hydra::errc::invalid_argument);
  std::vector<Command> sleep_then_ping;
  sleep_then_ping.push_back(cmd("DEBUG", "SLEEP", "1"));
  sleep_then_ping.push_back(cmd("PING"));
  auto slow = error_of(
      [&]() -> asio::awaitable<void> { co_await conn.exec_batch(std::move(sleep_then_ping)); });
  EXPECT_EQ(slow.first, hydra::errc::timeout);
  EXPECT_NE(slow.second.find("Redis DEBUG: "), std::string::npos) << slow.second;
  conn.stop();
  auto stopped = error_of([&]() -> asio::awaitable<void> { co_await conn.exec(cmd("GET", "k")); });
  EXPECT_EQ(stopped.first, hydra::errc::stopped);
  EXPECT_NE(stopped.second.find("Redis GET: "), std::string::npos) << stopped.second;
}

// A Request of several commands: exec gives the last reply, exec_batch and async_exec all of
// them, in order, written together.
TEST(Connection, RequestsOfSeveralCommands) {
  RedisServer server;
  asio::io_context io;
  Connection conn(io.get_executor(), config_for(server));
  conn.start();
  using hydra::redis::Request;
  auto last = run_on(io, [&]() -> asio::awaitable<Reply> {
    Request r("SET", "rq", "1");
    r.push("INCRBY", "rq", std::to_string(41));
    co_return co_await conn.exec(std::move(r));
  });
  EXPECT_EQ(last.as_integer(), 42);
  auto all = run_on(io, [&]() -> asio::awaitable<std::vector<Reply>> {
    Request r("GET", "rq");
    r.push("DEL", "rq").push("GET", "rq");
    co_return co_await conn.exec_batch(std::move(r));
  });
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].as_string(), "42");
  EXPECT_EQ(all[1].as_integer(), 1);
  EXPECT_TRUE(all[2].is_nil());
  std::vector<Reply> got;
  Request two("RPUSH", "rl", "a", "b");
  two.push("LRANGE", "rl", "0", "-1");
  conn.async_exec(std::move(two), {}, [&](std::error_code ec, std::vector<Reply> r) {
    EXPECT_FALSE(ec);
    got = std::move(r);
    conn.stop();
  });
  io.run();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].as_integer(), 2);
  ASSERT_EQ(got[1].elements.size(), 2u);
  EXPECT_EQ(got[1].elements[1].as_string(), "b");
}

// Finished requests are reused with their buffers: many requests of very different sizes,
// single and batched, from coroutines in flight at once, each get exactly their own replies.
TEST(Connection, ReusedRequestsCarryNothingOver) {
  RedisServer server;
  asio::io_context io;
  auto cfg = config_for(server);
  cfg.single_threaded = true;
  Connection conn(io.get_executor(), cfg);
  conn.start();
  std::size_t checked = 0;
  auto worker = [&](int w) -> asio::awaitable<void> {
    for (int i = 0; i < 150; ++i) {
      const std::string key = "reuse:" + std::to_string(w) + ":" + std::to_string(i);
      // Sizes from empty to well past what a reused buffer keeps (4 KiB).
      const std::size_t size = static_cast<std::size_t>((i * 7919 + w * 104729) % 9000);
      const std::string value(size, static_cast<char>('a' + (i + w) % 26));
      if (i % 3 == 0) {
        std::vector<Command> batch;
        batch.push_back(cmd("SET", key, value));
        batch.push_back(cmd("STRLEN", key));
        batch.push_back(cmd("GET", key));
        batch.push_back(cmd("DEL", key));
        auto replies = co_await conn.exec_batch(std::move(batch));
        EXPECT_EQ(replies.size(), 4u);
        EXPECT_EQ(replies.at(1).as_integer(), static_cast<long long>(size));
        EXPECT_EQ(replies.at(2).as_string(), value);
        EXPECT_EQ(replies.at(3).as_integer(), 1);
      } else {
        (co_await conn.exec(cmd("SET", key, value))).check();
        EXPECT_EQ((co_await conn.exec(cmd("GET", key))).as_string(), value);
        EXPECT_EQ((co_await conn.exec(cmd("DEL", key))).as_integer(), 1);
      }
      ++checked;
    }
  };
  int finished = 0;
  std::exception_ptr failure;
  run_on(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    for (int w = 0; w < 12; ++w) {
      asio::co_spawn(ex, worker(w), [&](std::exception_ptr e) {
        if (e) failure = e;
        ++finished;
      });
    }
    asio::steady_timer t(ex);
    while (finished < 12) {
      t.expires_after(5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
  });
  if (failure) std::rethrow_exception(failure);
  EXPECT_EQ(checked, 12u * 150u);
}

}  // namespace

namespace {

// Child processes must not inherit Redis connections.
TEST(Connection, SocketsAreCloseOnExec) {
  hydra::test::RedisServer server;
  boost::asio::io_context io;
  hydra::redis::Config cfg;
  cfg.host = server.host();
  cfg.port = server.port();
  hydra::redis::Connection conn(io.get_executor(), cfg);
  conn.start();
  hydra::test::run_on(
      io, [&]() -> boost::asio::awaitable<void> { co_await conn.exec(hydra::redis::cmd("PING")); });
  // Every socket of this process that points at the server's port has FD_CLOEXEC.
  int checked = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != server.port()) continue;
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC) << "fd " << fd;
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
