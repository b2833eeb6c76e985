// Node Hydra 1.9.3 calling the C++ hello-service example over HTTP: makeAPIRequest GET and POST,
// and the example's routes as Node's getAllServiceRoutes sees them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/hello_service.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace bj = boost::json;
using hydra::test::node_query;
using hydra::test::Process;
using hydra::test::RedisServer;
using namespace std::chrono_literals;

namespace {

/// A private redis-server with the hello-service example registered in it (db 0, where the Node
/// peer looks).
class NodeToCppHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or the npm packages are missing";
    service_ = hydra::test::start_hello_service(server_, 0).process;
  }

  void TearDown() override {
    if (service_ && service_->running()) {
      service_->signal(SIGTERM);
      auto status = service_->wait(10s);
      EXPECT_TRUE(status && *status == 0) << service_->output(100ms);
    }
  }

  std::string url() const { return server_.url(0); }

  RedisServer server_;
  std::unique_ptr<Process> service_;
};

TEST_F(NodeToCppHttp, GetGreeting) {
  auto o = node_query(url(),
                      {"makeAPIRequest",
                       R"({"to":"hello-service:[get]/v1/hello/greeting","from":"t:/","body":{}})"})
               .as_object();
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("result").at("greeting"), "Welcome to Hydra!") << bj::serialize(o);
}

TEST_F(NodeToCppHttp, PostEchoReturnsTheBody) {
  auto o = node_query(url(), {"makeAPIRequest",
                              R"({"to":"hello-service:[post]/v1/hello/echo","from":"t:/",)"
                              R"("body":{"a":1,"b":"x"}})"})
               .as_object();
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("result"), bj::parse(R"({"a":1,"b":"x"})")) << bj::serialize(o);
}

TEST_F(NodeToCppHttp, NodeSeesTheRoutes) {
  auto all = node_query(url(), {"getAllServiceRoutes"});
  ASSERT_TRUE(all.is_object()) << bj::serialize(all);
  const auto* routes = all.as_object().if_contains("hello-service");
  ASSERT_TRUE(routes && routes->is_array()) << bj::serialize(all);
  auto has = [&](const char* route) {
    for (const auto& r : routes->as_array())
      if (r.is_string() && r.get_string() == route) return true;
    return false;
  };
  EXPECT_TRUE(has("[get]/v1/hello/greeting")) << bj::serialize(all);
  EXPECT_TRUE(has("[post]/v1/hello/echo")) << bj::serialize(all);
  EXPECT_TRUE(has("[get]/v1/hello/slow")) << bj::serialize(all);
}

}  // namespace
