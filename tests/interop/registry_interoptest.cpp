// hydra-cpp and Node Hydra 1.9.3 on one redis-server: each sees the other's services, nodes,
// presence, health, logs, routes and stored configs.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <thread>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/cpp_service.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::redis::cmd;
using hydra::test::node_query;
using hydra::test::NodeService;
using hydra::test::RedisServer;
using namespace std::chrono_literals;

namespace {

using hydra::test::CppService;

std::vector<std::string> keys_of(const boost::json::object& o) {
  std::vector<std::string> k;
  for (auto& kv : o)
    k.emplace_back(kv.key());
  return k;
}

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  }
};

TEST_F(Interop, NodeSeesCppService) {
  RedisServer server;
  CppService svc(server, "cpp-svc", true, "5001");
  auto iid = svc.hydra().instance_id();
  svc.call([&]() -> asio::awaitable<int> {
    co_await svc.hydra().register_routes(cmd("[get]/v1/cpp/hello", "[post]/v1/cpp/:id"));
    svc.hydra().send_to_health_log("info", "hello from cpp");
    co_await svc.hydra().put_config("cpp-svc:1.0.0", boost::json::parse(R"({"hydra":{"a":1}})"));
    co_return 0;
  });
  auto url = server.url(0);

  auto presence = node_query(url, {"getServicePresence", "cpp-svc"}).as_array();
  ASSERT_EQ(presence.size(), 1u);
  EXPECT_EQ(presence[0].at("instanceID"), iid.c_str());
  EXPECT_EQ(presence[0].at("port"), "5001");
  EXPECT_EQ(presence[0].at("ip"), "127.0.0.1");
  EXPECT_TRUE(presence[0].as_object().contains("updatedOnTS"));

  EXPECT_EQ(node_query(url, {"hasServicePresence", "cpp-svc"}), true);

  auto nodes = node_query(url, {"getServiceNodes"}).as_array();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].at("serviceName"), "cpp-svc");
  EXPECT_LE(nodes[0].at("elapsed").to_number<double>(), 2);

  auto services = node_query(url, {"getServices"}).as_array();
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].at("type"), "test");

  auto found = node_query(url, {"findService", "cpp-svc"});
  EXPECT_EQ(found.at("serviceName"), "cpp-svc");

  auto routes = node_query(url, {"getAllServiceRoutes"}).as_object();
  ASSERT_TRUE(routes.contains("cpp-svc"));
  std::set<std::string> got;
  for (auto& r : routes["cpp-svc"].as_array())
    got.insert(std::string(r.as_string()));
  EXPECT_EQ(got, (std::set<std::string>{"[get]/v1/cpp/hello", "[post]/v1/cpp/:id", "[get]/cpp-svc",
                                        "[get]/cpp-svc/", "[get]/cpp-svc/:rest"}));

  auto log = node_query(url, {"getServiceHealthLog", "cpp-svc"}).as_array();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0].at("msg"), "hello from cpp");

  // Health is always present for a C++ instance, so Node's health view is never empty.
  for (int i = 0; i < 3; ++i) {
    auto all = node_query(url, {"getServiceHealthAll"}).as_array();
    ASSERT_EQ(all.size(), 1u);
    ASSERT_EQ(all[0].at("health").as_array().size(), 1u) << i;
    EXPECT_EQ(all[0].at("health").at(0).at("instanceID"), iid.c_str());
    EXPECT_EQ(all[0].at("presence").as_array().size(), 1u);
  }

  EXPECT_EQ(node_query(url, {"getConfig", "cpp-svc:1.0.0"}),
            boost::json::parse(R"({"hydra":{"a":1}})"));
  EXPECT_EQ(node_query(url, {"listConfig", "cpp-svc"}), boost::json::parse(R"(["cpp-svc:1.0.0"])"));
}

TEST_F(Interop, CppSeesNodeService) {
  RedisServer server;
  auto url = server.url(0);
  NodeService node(url, "node-svc");
  node_query(url, {"putConfig", "node-svc:2.0.0", R"({"hydra":{"b":2},"n":1.5})"});
  CppService cli(server, "cpp-reader", false);
  auto& h = cli.hydra();
  cli.call([&]() -> asio::awaitable<int> {
    auto presence = co_await h.get_service_presence("node-svc");
    EXPECT_EQ(presence.size(), 1u);
    if (!presence.empty()) {
      EXPECT_EQ(presence[0].instance_id, node.instance_id());
      EXPECT_EQ(presence[0].version, "9.9.9");
      EXPECT_EQ(presence[0].ip, "127.0.0.1");
    }
    EXPECT_TRUE(co_await h.has_service_presence("node-svc"));
    auto nodes = co_await h.get_service_nodes();
    EXPECT_EQ(nodes.size(), 1u);
    auto services = co_await h.get_services();
    EXPECT_EQ(services.size(), 1u);
    if (!services.empty()) {
      EXPECT_EQ(services[0].type, "node-test");
    }
    auto rec = co_await h.find_service("node-svc");
    EXPECT_EQ(rec.service_name, "node-svc");
    auto routes = co_await h.get_all_service_routes();
    EXPECT_EQ(routes["node-svc"].size(), 5u);
    auto log = co_await h.get_service_health_log("node-svc");
    bool seen = false;
    for (auto& e : log)
      seen = seen || e.at("msg") == "hello from node peer";
    EXPECT_TRUE(seen);
    auto cfg = co_await h.get_config("node-svc:2.0.0");
    EXPECT_TRUE(cfg.has_value());
    if (cfg) {
      EXPECT_EQ(hydra::json::stringify(*cfg), R"({"hydra":{"b":2},"n":1.5})");
    }
    co_return 0;
  });
  // Node's shutdown removes presence at once; the C++ side sees it gone (uncached lookup).
  node.stop();
  cli.call([&]() -> asio::awaitable<int> {
    EXPECT_FALSE(co_await h.has_service_presence("node-svc"));
    co_return 0;
  });
}

TEST_F(Interop, ValuesHaveNodesFieldOrderAndTypes) {
  RedisServer server;
  auto url = server.url(0);
  NodeService node_fixed(url, "node-fixed", "5123");
  NodeService node_random(url, "node-random");
  CppService cpp_fixed(server, "cpp-fixed", true, "5124");
  CppService cpp_random(server, "cpp-random");
  auto entry = [&](const std::string& iid) {
    return boost::json::parse(server.cli({"HGET", "hydra:service:nodes", iid})).as_object();
  };
  auto nf = entry(node_fixed.instance_id());
  auto cf = entry(cpp_fixed.hydra().instance_id());
  EXPECT_EQ(keys_of(nf), keys_of(cf));
  EXPECT_TRUE(nf.at("port").is_string());
  EXPECT_TRUE(cf.at("port").is_string());
  auto nr = entry(node_random.instance_id());
  auto cr = entry(cpp_random.hydra().instance_id());
  EXPECT_TRUE(nr.at("port").is_number());
  EXPECT_TRUE(cr.at("port").is_number());
  auto service_key = [&](const std::string& svc) {
    return boost::json::parse(server.cli({"GET", "hydra:service:" + svc + ":service"})).as_object();
  };
  EXPECT_EQ(keys_of(service_key("node-fixed")), keys_of(service_key("cpp-fixed")));
  // Node writes its first health 5 s after registering.
  std::string node_health;
  for (int i = 0; i < 80 && node_health.empty(); ++i) {
    node_health =
        server.cli({"GET", "hydra:service:node-fixed:" + node_fixed.instance_id() + ":health"});
    if (node_health.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(node_health.empty());
  auto nh = boost::json::parse(node_health).as_object();
  auto ch = boost::json::parse(server.cli({"GET", "hydra:service:cpp-fixed:" +
                                                      cpp_fixed.hydra().instance_id() + ":health"}))
                .as_object();
  EXPECT_EQ(keys_of(nh), keys_of(ch));
  EXPECT_EQ(keys_of(nh.at("memory").as_object()), keys_of(ch.at("memory").as_object()));
  // Health-log entries.
  auto node_log = boost::json::parse(server.cli(
      {"LINDEX", "hydra:service:node-fixed:" + node_fixed.instance_id() + ":health:log", "0"}));
  cpp_fixed.hydra().send_to_health_log("info", "x");
  std::this_thread::sleep_for(100ms);
  auto cpp_log = boost::json::parse(server.cli(
      {"LINDEX", "hydra:service:cpp-fixed:" + cpp_fixed.hydra().instance_id() + ":health:log",
       "0"}));
  EXPECT_EQ(keys_of(node_log.as_object()), keys_of(cpp_log.as_object()));
}

}  // namespace
