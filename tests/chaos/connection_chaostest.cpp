// Faults injected between a registered service and Redis (connections cut, the link hanging):
// the service must come back by itself within a bound — presence, subscriptions, messaging.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "hydra/hydra.hpp"
#include "support/async.hpp"
#include "support/fault_proxy.hpp"
#include "support/hydra_fixture.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::test::FaultProxy;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

boost::json::value through(const RedisServer& server, const FaultProxy& proxy,
                           const std::string& name, int command_timeout_ms) {
  auto doc = hydra::test::service_document(server, name);
  auto& redis = doc.as_object()["hydra"].as_object()["redis"].as_object();
  redis["url"] = "redis://127.0.0.1:" + std::to_string(proxy.port()) + "/0";
  redis["commandTimeoutMs"] = command_timeout_ms;
  redis["healthCheckIntervalMs"] = 500;
  return doc;
}

struct Pair {
  asio::io_context io;
  hydra::Hydra victim{io.get_executor()};  // talks to Redis through the proxy
  hydra::Hydra peer{io.get_executor()};    // talks to Redis directly
  Pair(const RedisServer& server, const FaultProxy& proxy, int command_timeout_ms = 1000) {
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await victim.init(through(server, proxy, "victim", command_timeout_ms));
      co_await victim.register_service();
      co_await peer.init(hydra::test::service_document(server, "peer"));
      co_await peer.register_service();
    });
    victim.on_message([this](const hydra::umf::Message& m) {
      boost::json::object response;
      response["body"] = boost::json::object{{"pong", true}};
      asio::co_spawn(io, victim.send_reply_message(m, response), asio::detached);
    });
    victim.on_log([](const boost::json::object&) {});  // expected connection errors: quiet
  }
  ~Pair() {
    try {
      run_on(io, [&]() -> asio::awaitable<void> {
        co_await victim.shutdown();
        co_await peer.shutdown();
      });
    } catch (...) {
    }
  }
  std::string last_error;
  bool ping(std::chrono::milliseconds timeout) {
    try {
      run_on(io, [&]() -> asio::awaitable<void> {
        boost::json::object m;
        m["to"] = "victim:/";
        m["from"] = "peer:/";
        m["body"] = boost::json::object{{"ping", true}};
        auto reply = co_await peer.request(hydra::umf::Message::create(m), timeout);
        if (!reply.body().as_object().contains("pong")) throw std::runtime_error("bad reply");
      });
      return true;
    } catch (const std::exception& e) {
      last_error = e.what();
      return false;
    }
  }
};

// Waits (pumping the io_context) until `ok()` holds; returns the time it took or nullopt.
template <class F>
std::optional<std::chrono::milliseconds> recover(asio::io_context& io, F ok,
                                                 std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (ok()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    }
    hydra::test::pump(io, 50ms);
  }
  return std::nullopt;
}

TEST(Chaos, RepeatedConnectionCutsAreSurvived) {
  RedisServer server;
  FaultProxy proxy(server.port());
  Pair pair(server, proxy);
  const auto iid = pair.victim.instance_id();
  const auto channel = "hydra:service:mc:victim:" + iid;
  ASSERT_TRUE(pair.ping(2s));
  for (int round = 0; round < 5; ++round) {
    proxy.cut_all();
    server.cli({"DEL", "hydra:service:victim:" + iid + ":presence"});
    auto took = recover(
        pair.io,
        [&] {
          return server.cli({"EXISTS", "hydra:service:victim:" + iid + ":presence"}) == "1" &&
                 server.cli({"PUBSUB", "NUMSUB", channel}) == channel + "\n1";
        },
        5s);
    ASSERT_TRUE(took) << "round " << round << ": presence or subscription did not come back";
    EXPECT_LT(*took, 3s) << "round " << round;
    EXPECT_TRUE(pair.ping(3s)) << "round " << round;
  }
  // Each cut made both connections (commands, subscriber) reconnect.
  EXPECT_GE(proxy.accepted(), 12u);
}

TEST(Chaos, HangingLinkTimesCommandsOutAndRecovers) {
  RedisServer server;
  FaultProxy proxy(server.port());
  Pair pair(server, proxy, 500);
  const auto iid = pair.victim.instance_id();
  proxy.black_hole();
  // A command on the hanging link fails within its timeout instead of hanging.
  auto start = std::chrono::steady_clock::now();
  try {
    run_on(pair.io, [&]() -> asio::awaitable<void> { co_await pair.victim.get_service_nodes(); });
    ADD_FAILURE() << "expected a timeout";
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::timeout) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  hydra::test::pump(pair.io, 1500ms);
  proxy.resume();
  auto before = server.cli({"HGET", "hydra:service:nodes", iid});
  auto took = recover(
      pair.io,
      [&] {
        return server.cli({"HGET", "hydra:service:nodes", iid}) != before &&
               server.cli({"EXISTS", "hydra:service:victim:" + iid + ":presence"}) == "1";
      },
      6s);
  ASSERT_TRUE(took) << "presence updates did not resume";
  EXPECT_TRUE(pair.ping(3s));
}

// The upstream dies behind a proxy that keeps the client side open: only the health check can
// notice it on the subscriber connection, which sends nothing by itself.
TEST(Chaos, DeadUpstreamBehindAProxyIsNoticedByTheHealthCheck) {
  RedisServer server;
  FaultProxy proxy(server.port());
  Pair pair(server, proxy);
  const auto iid = pair.victim.instance_id();
  const auto channel = "hydra:service:mc:victim:" + iid;
  ASSERT_TRUE(pair.ping(2s));
  proxy.kill_upstream();  // both links now lead nowhere, silently
  auto took = recover(
      pair.io,
      [&] {
        return server.cli({"PUBSUB", "NUMSUB", channel}) == channel + "\n1";
      },
      8s);
  ASSERT_TRUE(took);
  EXPECT_LT(*took, 5s);
  // Messaging works again once the sender's presence cache has caught up with the re-registered
  // instance (a PUBLISH that reached nobody during the outage made it forget the instance).
  auto pinged = recover(
      pair.io, [&] { return pair.ping(1s); }, 6s);
  EXPECT_TRUE(pinged) << pair.last_error;
}

}  // namespace
