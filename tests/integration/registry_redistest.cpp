// The registry against a real redis-server: every call, exact bytes, reconnect, foreign data.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::redis::cmd;
using hydra::test::RedisServer;
using hydra::test::run_on;
using hydra::test::service_document;
using namespace std::chrono_literals;

namespace {

struct Registered {
  asio::io_context io;
  hydra::Hydra hydra{io.get_executor()};
  hydra::ServiceInfo info;
  Registered(const RedisServer& server, const std::string& name, boost::json::value port = 0) {
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await hydra.init(service_document(server, name, port));
      info = co_await hydra.register_service();
    });
  }
  ~Registered() {
    try {
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra.shutdown(); });
    } catch (...) {
    }
  }
};

TEST(Registry, InitRejectsBadConfigWithAClearMessage) {
  RedisServer server;
  asio::io_context io;
  hydra::Hydra h(io.get_executor());
  auto doc = service_document(server, "bad:name");
  try {
    run_on(io, [&]() -> asio::awaitable<void> { co_await h.init(doc); });
    FAIL();
  } catch (const hydra::Error& e) {
    EXPECT_EQ(e.code(), hydra::errc::invalid_config);
    EXPECT_NE(std::string(e.what()).find("serviceName"), std::string::npos) << e.what();
  }
}

TEST(Registry, InitTwiceFailsAndInitWithoutServiceIpWorks) {
  RedisServer server;
  asio::io_context io;
  hydra::Hydra h(io.get_executor());
  auto doc = service_document(server, "NoIp");
  doc.as_object()["hydra"].as_object().erase("serviceIP");
  auto result =
      run_on(io, [&]() -> asio::awaitable<boost::json::object> { co_return co_await h.init(doc); });
  EXPECT_EQ(h.service_name(), "noip");
  EXPECT_EQ(result.at("app"), "kept");
  EXPECT_TRUE(result.at("hydra").at("servicePort").is_number());
  EXPECT_TRUE(std::regex_match(h.instance_id(), std::regex("[0-9a-f]{32}")));
  EXPECT_THROW(run_on(io, [&]() -> asio::awaitable<void> { co_await h.init(doc); }), hydra::Error);
}

TEST(Registry, InitFailsWithinTheWaitWhenRedisIsUnreachable) {
  asio::io_context io;
  hydra::RegistryOptions opts;
  opts.connect_wait = 500ms;
  hydra::Hydra h(io.get_executor(), opts);
  boost::json::value doc = boost::json::parse(
      R"({"hydra":{"serviceName":"x","redis":{"url":"redis://127.0.0.1:1/0"}}})");
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(run_on(io, [&]() -> asio::awaitable<void> { co_await h.init(doc); }), hydra::Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(Registry, RegisterWritesNodeCompatibleValues) {
  RedisServer server;
  Registered svc(server, "Test-Service", "5001");
  const auto& iid = svc.hydra.instance_id();
  EXPECT_EQ(svc.info.service_name, "test-service");
  EXPECT_EQ(svc.info.service_port, 5001);
  // :service key
  auto record = server.cli({"GET", "hydra:service:test-service:service"});
  EXPECT_TRUE(std::regex_match(
      record,
      std::regex(
          R"(\{"serviceName":"test-service","type":"test","registeredOn":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\})")))
      << record;
  // presence
  EXPECT_EQ(server.cli({"GET", "hydra:service:test-service:" + iid + ":presence"}), iid);
  auto ttl = std::stoi(server.cli({"TTL", "hydra:service:test-service:" + iid + ":presence"}));
  EXPECT_GE(ttl, 1);
  EXPECT_LE(ttl, 3);
  // nodes entry: exact field order, port as a string for a fixed port
  auto node = server.cli({"HGET", "hydra:service:nodes", iid});
  std::regex node_re(
      R"(\{"serviceName":"test-service","serviceDescription":"A test","version":"1\.2\.3","instanceID":"[0-9a-f]{32}","updatedOn":"[^"]+","processID":\d+,"ip":"127\.0\.0\.1","port":"5001","hostName":"[^"]+"\})");
  EXPECT_TRUE(std::regex_match(node, node_re)) << node;
  // health exists from the first moment, with Node's fields in order
  auto health = server.cli({"GET", "hydra:service:test-service:" + iid + ":health"});
  std::regex health_re(
      R"(\{"updatedOn":"[^"]+","serviceName":"test-service","instanceID":"[0-9a-f]{32}","hostName":"[^"]+","sampledOn":"[^"]+","processID":\d+,"architecture":"[^"]+","platform":"linux","nodeVersion":"hydra-cpp/[^"]+","memory":\{"rss":\d+,"heapTotal":\d+,"heapUsed":\d+,"external":0,"arrayBuffers":0\},"uptimeSeconds":[0-9.e+-]+\})");
  EXPECT_TRUE(std::regex_match(health, health_re)) << health;
  // subscriptions are active when registerService completes
  EXPECT_EQ(server.cli({"PUBSUB", "NUMSUB", "hydra:service:mc:test-service"}),
            "hydra:service:mc:test-service\n1");
  EXPECT_EQ(server.cli({"PUBSUB", "NUMSUB", "hydra:service:mc:test-service:" + iid}),
            "hydra:service:mc:test-service:" + iid + "\n1");
}

TEST(Registry, RandomPortIsAJsonNumberAndPresenceIsRefreshed) {
  RedisServer server;
  Registered svc(server, "rnd");
  const auto& iid = svc.hydra.instance_id();
  auto node1 = boost::json::parse(server.cli({"HGET", "hydra:service:nodes", iid}));
  EXPECT_TRUE(node1.at("port").is_number());
  hydra::test::pump(svc.io, 1300ms);
  auto node2 = boost::json::parse(server.cli({"HGET", "hydra:service:nodes", iid}));
  EXPECT_NE(node1.at("updatedOn"), node2.at("updatedOn"));
  // Health stays present across ticks (Node leaves it missing 2 s of every 5 s).
  for (int i = 0; i < 8; ++i) {
    hydra::test::pump(svc.io, 500ms);
    EXPECT_EQ(server.cli({"EXISTS", "hydra:service:rnd:" + iid + ":health"}), "1") << i;
  }
}

TEST(Registry, DiscoveryCalls) {
  RedisServer server;
  Registered a(server, "alpha");
  Registered b(server, "beta");
  auto& h = a.hydra;
  run_on(a.io, [&]() -> asio::awaitable<void> {
    auto services = co_await h.get_services();
    std::set<std::string> names;
    for (auto& s : services)
      names.insert(s.service_name);
    EXPECT_EQ(names.size(), 2u);
    EXPECT_TRUE(names.count("alpha") && names.count("beta"));
    auto nodes = co_await h.get_service_nodes();
    EXPECT_EQ(nodes.size(), 2u);
    for (auto& n : nodes)
      EXPECT_TRUE(n.json.contains("elapsed"));
    auto rec = co_await h.find_service("beta");
    EXPECT_EQ(rec.type, "test");
    try {
      co_await h.find_service("nope");
      ADD_FAILURE();
    } catch (const hydra::Error& e) {
      EXPECT_EQ(std::string(e.what()), "Can't find nope service");
    }
    auto presence = co_await h.get_service_presence("beta");
    EXPECT_EQ(presence.size(), 1u);
    EXPECT_EQ(presence.at(0).instance_id, b.hydra.instance_id());
    EXPECT_TRUE(presence.at(0).json.contains("updatedOnTS"));
    EXPECT_TRUE((co_await h.get_service_presence("missing")).empty());
    EXPECT_TRUE(co_await h.has_service_presence("beta"));
    EXPECT_FALSE(co_await h.has_service_presence("missing"));
    EXPECT_EQ((co_await h.get_service_presence()).at(0).instance_id, h.instance_id());
  });
}

TEST(Registry, PresenceDisappearsAtOnceOnShutdownAndCacheForgetsGoneInstances) {
  RedisServer server;
  Registered a(server, "watcher");
  auto b = std::make_unique<Registered>(server, "leaver");
  auto iid = b->hydra.instance_id();
  run_on(a.io, [&]() -> asio::awaitable<void> {
    EXPECT_EQ((co_await a.hydra.get_service_presence("leaver")).size(), 1u);
  });
  b.reset();  // shutdown
  EXPECT_EQ(server.cli({"EXISTS", "hydra:service:leaver:" + iid + ":presence"}), "0");
  EXPECT_NE(server.cli({"TTL", "hydra:service:leaver:" + iid + ":health"}), "-1");
  // The nodes entry and :service key stay, as with Node.
  EXPECT_NE(server.cli({"HGET", "hydra:service:nodes", iid}), "");
  a.hydra.forget_instance(iid);
  run_on(a.io, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await a.hydra.get_service_presence("leaver")).empty());
    EXPECT_FALSE(co_await a.hydra.has_service_presence("leaver"));
  });
  // The shutdown line is in the health log.
  auto log = server.cli({"LRANGE", "hydra:service:leaver:" + iid + ":health:log", "0", "0"});
  EXPECT_NE(log.find("Service is shutting down."), std::string::npos) << log;
}

TEST(Registry, HealthLogOfAllInstances) {
  RedisServer server;
  Registered a(server, "logger");
  Registered b(server, "logger");
  a.hydra.send_to_health_log("info", "from a");
  b.hydra.send_to_health_log("info", "from b");
  a.hydra.send_to_health_log("info", "mentions Redis so stays local");
  hydra::test::pump(a.io, 50ms);
  hydra::test::pump(b.io, 50ms);
  auto key = "hydra:service:logger:" + a.hydra.instance_id() + ":health:log";
  auto ttl = std::stoi(server.cli({"TTL", key}));
  EXPECT_GT(ttl, 600000);
  auto first = boost::json::parse(server.cli({"LINDEX", key, "0"}));
  EXPECT_EQ(first.at("msg"), "from a");
  EXPECT_EQ(first.at("type"), "info");
  EXPECT_EQ(first.at("serviceName"), "logger");
  run_on(a.io, [&]() -> asio::awaitable<void> {
    auto log = co_await a.hydra.get_service_health_log("logger");
    std::set<std::string> msgs;
    for (auto& e : log)
      msgs.insert(std::string(e.at("msg").as_string()));
    EXPECT_TRUE(msgs.count("from a"));
    EXPECT_TRUE(msgs.count("from b"));
    EXPECT_FALSE(msgs.count("mentions Redis so stays local"));
  });
  for (int i = 0; i < 70; ++i)
    a.hydra.send_to_health_log("info", "n" + std::to_string(i));
  hydra::test::pump(a.io, 100ms);
  EXPECT_EQ(server.cli({"LLEN", key}), "64");
}

TEST(Registry, HealthAll) {
  RedisServer server;
  Registered a(server, "hsvc");
  run_on(a.io, [&]() -> asio::awaitable<void> {
    auto all = co_await a.hydra.get_service_health_all();
    EXPECT_EQ(all.size(), 1u);
    if (all.size() != 1u) co_return;
    EXPECT_EQ(all[0].service_name, "hsvc");
    EXPECT_EQ(all[0].health.size(), 1u);
    if (all[0].health.size() == 1u) {
      EXPECT_TRUE(all[0].health[0].contains("memory"));
    }
    EXPECT_EQ(all[0].presence.size(), 1u);
  });
  auto health = a.hydra.get_health();
  EXPECT_FALSE(health.contains("updatedOn"));
  EXPECT_EQ(health.at("serviceName"), "hsvc");
}

TEST(Registry, RoutesAndMatching) {
  RedisServer server;
  Registered a(server, "routed");
  run_on(a.io, [&]() -> asio::awaitable<void> {
    co_await a.hydra.register_routes(cmd("[get]/v1/items/:id", "[post]/v1/items"));
    auto all = co_await a.hydra.get_all_service_routes();
    auto expected = cmd("[get]/routed", "[get]/routed/", "[get]/routed/:rest", "[get]/v1/items/:id",
                        "[post]/v1/items");
    EXPECT_EQ(all["routed"], expected);
  });
  EXPECT_TRUE(a.hydra.match_route("[get]/v1/items/5"));
  EXPECT_TRUE(a.hydra.match_route("/v1/items/5"));
  EXPECT_FALSE(a.hydra.match_route("[post]/v1/items/5"));
  EXPECT_FALSE(a.hydra.match_route("/v2/x"));
  EXPECT_EQ(server.cli({"SCARD", "hydra:service:routed:service:routes"}), "5");
}

TEST(Registry, RouteRegistrationTellsThePresentRouter) {
  RedisServer server;
  Registered router(server, "hydra-router");
  std::vector<std::string> got;
  router.hydra.on_raw_message(
      [&](std::string_view, std::string_view payload) { got.emplace_back(payload); });
  Registered svc(server, "tellme");
  run_on(svc.io,
         [&]() -> asio::awaitable<void> { co_await svc.hydra.register_routes(cmd("[get]/x")); });
  hydra::test::pump(router.io, 100ms);
  ASSERT_EQ(got.size(), 1u);
  std::regex re(
      R"(\{"to":"hydra-router:/refresh","frm":"tellme:/","mid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","ts":"[^"]+","ver":"UMF/1\.4\.6","bdy":\{"action":"refresh","serviceName":"tellme"\}\})");
  EXPECT_TRUE(std::regex_match(got[0], re)) << got[0];
}

TEST(Registry, StoredConfig) {
  RedisServer server;
  Registered a(server, "cfgsvc");
  run_on(a.io, [&]() -> asio::awaitable<void> {
    auto doc = boost::json::parse(R"({"hydra":{"serviceName":"cfgsvc"},"n":1.5})");
    co_await a.hydra.put_config("cfgsvc:1.0.0", doc);
    co_await a.hydra.put_config("cfgsvc:0.9.0", doc);
    auto got = co_await a.hydra.get_config("cfgsvc:1.0.0");
    EXPECT_TRUE(got.has_value());
    EXPECT_EQ(*got, doc);
    EXPECT_FALSE((co_await a.hydra.get_config("cfgsvc:2.0.0")).has_value());
    auto list = co_await a.hydra.list_config("cfgsvc");
    EXPECT_EQ(list, cmd("cfgsvc:0.9.0", "cfgsvc:1.0.0"));
    EXPECT_TRUE(co_await a.hydra.remove_config("cfgsvc:0.9.0"));
    EXPECT_FALSE(co_await a.hydra.remove_config("cfgsvc:0.9.0"));
    try {
      co_await a.hydra.list_config("cfgsvc:1.0.0");
      ADD_FAILURE() << "a label is not a service name";
    } catch (const hydra::Error& e) {
      EXPECT_NE(std::string(e.what()).find("serviceName"), std::string::npos) << e.what();
    }
    try {
      co_await a.hydra.get_config("nolabel");
      ADD_FAILURE();
    } catch (const hydra::Error& e) {
      EXPECT_EQ(std::string(e.what()), "label not in this form: myservice:0.1.1.");
    }
  });
  EXPECT_EQ(server.cli({"HGET", "hydra:service:cfgsvc:configs", "1.0.0"}),
            R"({"hydra":{"serviceName":"cfgsvc"},"n":1.5})");
}

TEST(Registry, HydraServiceLabelLoadsStoredConfig) {
  RedisServer server;
  server.cli(
      {"HSET", "hydra:service:stored:configs", "2.0.0",
       R"({"hydra":{"serviceName":"stored","serviceIP":"127.0.0.1","serviceVersion":"2.0.0"},"x":1})"});
  setenv("HYDRA_REDIS_URL", server.url(0).c_str(), 1);
  setenv("HYDRA_SERVICE", "stored:2.0.0", 1);
  asio::io_context io;
  hydra::Hydra h(io.get_executor());
  auto doc = run_on(io, [&]() -> asio::awaitable<boost::json::object> {
    co_return co_await h.init(boost::json::object{});
  });
  unsetenv("HYDRA_REDIS_URL");
  unsetenv("HYDRA_SERVICE");
  EXPECT_EQ(h.service_name(), "stored");
  EXPECT_EQ(h.instance_version(), "2.0.0");
  EXPECT_EQ(doc.at("x"), 1);
  run_on(io, [&]() -> asio::awaitable<void> { co_await h.shutdown(); });
}

TEST(Registry, ForeignDataIsSkippedNotFatal) {
  RedisServer server;
  Registered a(server, "robust");
  server.cli({"HSET", "hydra:service:nodes", "garbage", "not json"});
  server.cli({"HSET", "hydra:service:nodes", "array", "[1,2]"});
  server.cli({"SET", "hydra:service:robust:service", "{broken"});
  server.cli({"SET", "hydra:service:robust:deadbeef:health:log", "a string, not a list"});
  server.cli(
      {"HSET", "hydra:service:nodes", "deadbeef",
       R"({"serviceName":"robust","instanceID":"deadbeef","updatedOn":"2020-01-01T00:00:00.000Z"})"});
  std::vector<std::string> warnings;
  a.hydra.on_log([&](const boost::json::object& e) {
    if (e.at("type") == "warn") warnings.emplace_back(e.at("msg").as_string());
  });
  run_on(a.io, [&]() -> asio::awaitable<void> {
    auto nodes = co_await a.hydra.get_service_nodes();
    EXPECT_EQ(nodes.size(), 2u);  // ours and the parseable stale one
    EXPECT_EQ((co_await a.hydra.get_service_presence("robust")).size(), 1u);
    auto services = co_await a.hydra.get_services();
    EXPECT_TRUE(services.empty());  // the only :service value is malformed
    auto log = co_await a.hydra.get_service_health_log("robust");
    (void)log;
    co_await a.hydra.get_service_nodes();
    EXPECT_EQ(co_await a.hydra.remove_stale_nodes(60s), 3u);  // two malformed + the stale one
    EXPECT_EQ((co_await a.hydra.get_service_nodes()).size(), 1u);
  });
  // Each malformed item was reported once, not on every read.
  EXPECT_EQ(std::count_if(warnings.begin(), warnings.end(),
                          [](auto& w) { return w.find("garbage") != std::string::npos; }),
            1);
}

TEST(Registry, SurvivesRedisRestart) {
  RedisServer server;
  Registered a(server, "phoenix");
  std::string payload;
  a.hydra.on_raw_message([&](std::string_view, std::string_view p) { payload = p; });
  auto iid = a.hydra.instance_id();
  server.restart();  // all keys are gone, connections dropped
  // In-flight or no-wait commands fail with `disconnected`; nothing crashes.
  hydra::test::pump(a.io, 2500ms);
  EXPECT_EQ(server.cli({"GET", "hydra:service:phoenix:" + iid + ":presence"}), iid);
  EXPECT_EQ(server.cli({"EXISTS", "hydra:service:phoenix:" + iid + ":health"}), "1");
  EXPECT_NE(server.cli({"HGET", "hydra:service:nodes", iid}), "");
  EXPECT_EQ(server.cli({"PUBSUB", "NUMSUB", "hydra:service:mc:phoenix:" + iid}),
            "hydra:service:mc:phoenix:" + iid + "\n1");
  server.cli({"PUBLISH", "hydra:service:mc:phoenix", "hello again"});
  hydra::test::pump(a.io, 100ms);
  EXPECT_EQ(payload, "hello again");
}

TEST(Registry, ShutdownWithoutInitIsSafe) {
  asio::io_context io;
  hydra::Hydra h(io.get_executor());
  EXPECT_NO_THROW(run_on(io, [&]() -> asio::awaitable<void> { co_await h.shutdown(); }));
  EXPECT_EQ(h.instance_id(), "not set");
}

}  // namespace
