// makeAPIRequest from C++ (library and hydra-cli rest) to a Node hydra-express 1.9.5 service.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <fstream>

#include "hydra/http/client.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
using hydra::test::Process;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

const std::string kCli = HYDRA_BINARY_DIR "/apps/hydra-cli/hydra-cli";

using hydra::test::ExpressPeer;

class HttpInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  }
};

}  // namespace

TEST_F(HttpInterop, CppCallsHydraExpressGetAndPost) {
  RedisServer redis;
  ExpressPeer peer(redis, "node-express");
  asio::io_context io;
  hydra::Hydra h(io.get_executor());
  h.on_log([](const bj::object&) {});
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await h.init(hydra::test::service_document(redis, "cpp-caller"));
  });
  hydra::http::ApiClient client(h);
  bj::object get =
      bj::parse(R"({"to":"node-express:[get]/v1/node/hello","from":"cpp-caller:/","body":{}})")
          .as_object();
  auto o = run_on(io, [&]() -> asio::awaitable<bj::object> {
    co_return co_await client.make_api_request(get);
  });
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("statusMessage"), "OK");
  EXPECT_EQ(o.at("result").at("greeting"), "hello from node");
  EXPECT_EQ(o.at("headers").at("content-type"), "application/json");
  EXPECT_TRUE(o.at("headers").at("content-length").is_int64());
  EXPECT_TRUE(o.at("headers").as_object().contains("x-process-id"));

  bj::object post =
      bj::parse(
          R"({"to":"node-express:[post]/v1/node/echo","from":"cpp-caller:/","body":{"a":[1,"é"],"b":{"c":null}}})")
          .as_object();
  auto p = run_on(io, [&]() -> asio::awaitable<bj::object> {
    co_return co_await client.make_api_request(post);
  });
  EXPECT_EQ(p.at("statusCode"), 200) << bj::serialize(p);
  EXPECT_EQ(hydra::json::stringify(p.at("result")), R"({"a":[1,"é"],"b":{"c":null}})");

  // Express answers 404 for an unknown route: final, reported as is.
  bj::object missing =
      bj::parse(R"({"to":"node-express:[get]/v1/node/none","from":"cpp-caller:/","body":{}})")
          .as_object();
  auto m = run_on(io, [&]() -> asio::awaitable<bj::object> {
    co_return co_await client.make_api_request(missing);
  });
  EXPECT_NE(m.at("statusCode"), 200);
  EXPECT_TRUE(m.contains("headers"));
  EXPECT_EQ(client.stats().connections_opened, 1u);
  run_on(io, [&]() -> asio::awaitable<void> { co_await h.shutdown(); });
}

TEST_F(HttpInterop, CliRestToHydraExpress) {
  RedisServer redis;
  ExpressPeer peer(redis, "node-express");
  auto [status, out] = hydra::test::run_command(
      {kCli, "--redis", redis.url(0), "rest", "node-express:[get]/v1/node/hello"});
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.rfind("200 OK\n", 0), 0u) << out;
  EXPECT_NE(out.find("hello from node"), std::string::npos) << out;

  auto [jstatus, jout] = hydra::test::run_command(
      {kCli, "--redis", redis.url(0), "--json", "rest", "node-express:[get]/v1/node/hello"});
  EXPECT_EQ(jstatus, 0) << jout;
  auto doc = bj::parse(jout).as_object();
  EXPECT_EQ(doc.at("result").at("greeting"), "hello from node");

  const std::string payload = redis.dir() + "/payload.json";
  {
    std::ofstream f(payload);
    f << R"({"x":"from file"})";
  }
  auto [pstatus, pout] = hydra::test::run_command({kCli, "--redis", redis.url(0), "--json", "rest",
                                                   "node-express:[post]/v1/node/echo", payload});
  EXPECT_EQ(pstatus, 0) << pout;
  EXPECT_NE(pout.find(R"("result":{"x":"from file"})"), std::string::npos) << pout;
  auto [gstatus, gout] = hydra::test::run_command(
      {kCli, "--redis", redis.url(0), "rest", "node-express:[get]/v1/node/hello", payload});
  EXPECT_EQ(gstatus, 1) << gout;
  EXPECT_NE(gout.find("takes no payload"), std::string::npos) << gout;

  auto [nstatus, nout] = hydra::test::run_command(
      {kCli, "--redis", redis.url(0), "--json", "rest", "nobody:[get]/v1/x"});
  EXPECT_EQ(nstatus, 1) << nout;
  EXPECT_NE(nout.find("Unavailable nobody instances"), std::string::npos) << nout;
}
