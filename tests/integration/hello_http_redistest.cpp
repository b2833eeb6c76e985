// The hello-service example's HTTP API end to end against a private redis-server: its routes in
// Redis, greeting/echo/slow through makeAPIRequest, timeouts, and SIGTERM while a request runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "hydra/http/client.hpp"
#include "hydra/hydra.hpp"
#include "support/async.hpp"
#include "support/hello_service.hpp"
#include "support/hydra_fixture.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
using hydra::test::Process;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

constexpr int kDb = 15;

std::string reason(const bj::object& o) {
  const auto* result = o.if_contains("result");
  if (!result || !result->is_object()) return "";
  const auto* r = result->get_object().if_contains("reason");
  return r && r->is_string() ? std::string(r->get_string()) : "";
}

/// A running hello-service and, in this process, an initialised Hydra with an ApiClient.
class HelloHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hello = hydra::test::start_hello_service(server_, kDb);
    service_ = std::move(hello.process);
    instance_id_ = hello.instance_id;

    hydra_ = std::make_unique<hydra::Hydra>(io_.get_executor());
    hydra_->on_log([](const bj::object&) {});
    run_on(io_, [&]() -> asio::awaitable<void> {
      co_await hydra_->init(hydra::test::service_document(server_, "hello-caller", 0, kDb));
    });
    client_ = std::make_unique<hydra::http::ApiClient>(*hydra_);
  }

  void TearDown() override {
    client_.reset();
    if (hydra_) {
      try {
        run_on(io_, [&]() -> asio::awaitable<void> { co_await hydra_->shutdown(); });
      } catch (...) {
      }
    }
  }

  std::string presence_key() const {
    return "hydra:service:hello-service:" + instance_id_ + ":presence";
  }

  bj::object call(const std::string& umf, std::optional<double> timeout = std::nullopt) {
    bj::object msg = bj::parse(umf).as_object();
    hydra::http::RequestOptions options;
    options.timeout_seconds = timeout;
    return run_on(io_, [&]() -> asio::awaitable<bj::object> {
      co_return co_await client_->make_api_request(msg, options);
    });
  }

  RedisServer server_;
  std::unique_ptr<Process> service_;
  std::string instance_id_;
  asio::io_context io_;
  std::unique_ptr<hydra::Hydra> hydra_;
  std::unique_ptr<hydra::http::ApiClient> client_;
};

TEST_F(HelloHttp, RoutesAreRegisteredInRedis) {
  auto all = run_on(io_, [&]() -> asio::awaitable<std::map<std::string, std::vector<std::string>>> {
    co_return co_await hydra_->get_all_service_routes();
  });
  ASSERT_TRUE(all.count("hello-service"));
  const auto& routes = all["hello-service"];
  for (const char* route : {"[get]/v1/hello/greeting", "[post]/v1/hello/echo",
                            "[get]/v1/hello/slow", "[get]/hello-service/:rest"})
    EXPECT_NE(std::find(routes.begin(), routes.end(), route), routes.end()) << route;
  EXPECT_EQ(routes.size(), 6u);
}

TEST_F(HelloHttp, Greeting) {
  auto o = call(R"({"to":"hello-service:[get]/v1/hello/greeting","from":"t:/","body":{}})");
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("result").at("greeting"), "Welcome to Hydra!") << bj::serialize(o);

  // The instance can be named in the route, as Node allows.
  auto named = call(R"({"to":")" + instance_id_ +
                    R"(@hello-service:[get]/v1/hello/greeting","from":"t:/","body":{}})");
  EXPECT_EQ(named.at("statusCode"), 200) << bj::serialize(named);
}

TEST_F(HelloHttp, EchoReturnsTheBody) {
  auto o = call(
      R"({"to":"hello-service:[post]/v1/hello/echo","from":"t:/","body":{"a":1,"b":"x","c":[true,null]}})");
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("result"), bj::parse(R"({"a":1,"b":"x","c":[true,null]})")) << bj::serialize(o);
}

TEST_F(HelloHttp, UnknownRouteAndBadParameter) {
  auto missing = call(R"({"to":"hello-service:[get]/v1/hello/nothing","from":"t:/","body":{}})");
  EXPECT_EQ(missing.at("statusCode"), 404) << bj::serialize(missing);
  auto bad = call(R"({"to":"hello-service:[get]/v1/hello/slow?ms=abc","from":"t:/","body":{}})");
  EXPECT_EQ(bad.at("statusCode"), 400) << bj::serialize(bad);
}

TEST_F(HelloHttp, SlowWithinAndBeyondTheTimeout) {
  const std::string slow =
      R"({"to":"hello-service:[get]/v1/hello/slow?ms=300","from":"t:/","body":{}})";
  auto start = std::chrono::steady_clock::now();
  auto o = call(slow, 1.0);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("result").at("slept"), 300) << bj::serialize(o);
  EXPECT_GE(took, 300ms);

  start = std::chrono::steady_clock::now();
  auto t = call(slow, 0.1);
  took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(t.at("statusCode"), 503) << bj::serialize(t);
  EXPECT_EQ(reason(t), "Request to hello-service timed out after 0.1 s") << bj::serialize(t);
  EXPECT_LT(took, 300ms);

  // The service is still fine afterwards.
  auto again = call(R"({"to":"hello-service:[get]/v1/hello/greeting","from":"t:/","body":{}})");
  EXPECT_EQ(again.at("statusCode"), 200) << bj::serialize(again);
}

TEST_F(HelloHttp, SigtermFinishesTheRequestInFlight) {
  EXPECT_EQ(server_.cli({"EXISTS", presence_key()}, kDb), "1");
  bj::object msg =
      bj::parse(R"({"to":"hello-service:[get]/v1/hello/slow?ms=1500","from":"t:/","body":{}})")
          .as_object();
  std::optional<bj::object> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<bj::object> { co_return co_await client_->make_api_request(msg); },
      [&](std::exception_ptr e, bj::object o) {
        error = e;
        if (!e) result.emplace(std::move(o));
        done = true;
      });
  // Let the request reach the service, then stop it while it sleeps.
  hydra::test::pump(io_, 400ms);
  ASSERT_FALSE(done) << (result ? bj::serialize(*result) : "");
  service_->signal(SIGTERM);
  hydra::test::pump(io_, 300ms);
  // Presence goes first, while the request is still being served.
  EXPECT_FALSE(done);
  EXPECT_EQ(server_.cli({"EXISTS", presence_key()}, kDb), "0");

  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done && std::chrono::steady_clock::now() < deadline)
    hydra::test::pump(io_, 20ms);
  ASSERT_TRUE(done);
  if (error) std::rethrow_exception(error);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->at("statusCode"), 200) << bj::serialize(*result);
  EXPECT_EQ(result->at("result").at("slept"), 1500) << bj::serialize(*result);

  auto status = service_->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_NE(service_->output(1s).find("hello-service stopped"), std::string::npos);
  EXPECT_EQ(server_.cli({"EXISTS", presence_key()}, kDb), "0");
}

}  // namespace
