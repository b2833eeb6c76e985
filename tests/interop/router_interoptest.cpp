// hydra-router in a mesh with Node Hydra 1.9.3 / hydra-express 1.9.5: HTTP through the router
// to a hydra-express service, WebSocket messages to a Node service answered with
// sendReplyMessage, and Node seeing the router as a service.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "hydra/json.hpp"
#include "support/hello_service.hpp"
#include "support/node_peer.hpp"
#include "support/raw_http.hpp"
#include "support/redis_server.hpp"
#include "support/router_process.hpp"
#include "support/ws_client.hpp"

namespace bj = boost::json;
using hydra::test::Conn;
using hydra::test::eventually;
using hydra::test::json_of;
using hydra::test::RedisServer;
using namespace std::chrono_literals;

namespace {

class RouterInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  }
};

hydra::test::Reply call(std::uint16_t port, const std::string& raw) {
  Conn conn(port);
  conn.send(raw);
  auto reply = conn.read(10s);
  if (!reply) throw std::runtime_error("no reply");
  return *reply;
}

}  // namespace

TEST_F(RouterInterop, HttpThroughTheRouterReachesHydraExpressAndCppServices) {
  RedisServer redis;
  auto router = hydra::test::start_router(redis, 0, {}, "router", 2);
  hydra::test::ExpressPeer express(redis, "node-express");
  auto hello = hydra::test::start_hello_service(redis, 0);
  // hydra-express broadcasts hydra-router:/refresh after registering its routes.
  ASSERT_TRUE(eventually(
      [&] { return call(router.port, hydra::test::get("/v1/node/hello")).status == 200; }, 20s));
  auto r = call(router.port, hydra::test::get("/v1/node/hello"));
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("greeting"), "hello from node");
  EXPECT_FALSE(r.headers["x-hydra-tracer"].empty());

  r = call(router.port, hydra::test::post("/v1/node/echo", R"({"from":"router test","n":[1,2]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body).at("result"), bj::parse(R"({"from":"router test","n":[1,2]})"));

  // The service prefix works for the Node service too.
  r = call(router.port, hydra::test::get("/node-express/v1/node/hello"));
  EXPECT_EQ(r.status, 200) << r.body;

  ASSERT_TRUE(eventually(
      [&] { return call(router.port, hydra::test::get("/v1/hello/greeting")).status == 200; },
      20s));

  // Node sees the router (and the routes it registered) like any service.
  auto presence = hydra::test::node_query(redis.url(0), {"getServicePresence", "hydra-router"});
  ASSERT_EQ(presence.as_array().size(), 1u);
  EXPECT_EQ(presence.as_array()[0].as_object().at("instanceID"), bj::value(router.instance_id));
  auto routes = hydra::test::node_query(redis.url(0), {"getAllServiceRoutes"}).as_object();
  ASSERT_TRUE(routes.contains("hydra-router"));
  bool has_health = false;
  for (const auto& route : routes.at("hydra-router").as_array())
    has_health = has_health || route == "[get]/v1/router/health";
  EXPECT_TRUE(has_health) << bj::serialize(routes);
}

TEST_F(RouterInterop, WebSocketMessageToANodeServiceGetsItsReply) {
  RedisServer redis;
  auto router = hydra::test::start_router(redis, 0);
  hydra::test::NodeService node(redis.url(0), "node-peer");
  hydra::test::WsClient ws(router.port);
  auto connection = ws.read(5s);
  ASSERT_TRUE(connection);
  ws.send(R"({"to":"node-peer:/","frm":"client:/","mid":"n-1","bdy":{"echo":true,"x":1}})");
  auto reply = ws.read_until(
      [](const std::string& t) { return t.find(R"("rmid":"n-1")") != std::string::npos; }, 15s);
  ASSERT_TRUE(reply);
  auto j = json_of(*reply);
  EXPECT_EQ(j.at("bdy").as_object().at("echoed"), bj::parse(R"({"echo":true,"x":1})"));
  EXPECT_FALSE(j.contains("via"));
  // What Node received carried the router's via.
  auto seen = node.expect("MESSAGE").as_object();
  EXPECT_EQ(seen.at("via"),
            bj::value(router.instance_id + "-" +
                      std::string(json_of(*connection).at("bdy").as_object().at("id").as_string()) +
                      "@hydra-router:/"));
}
