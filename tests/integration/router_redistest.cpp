// hydra-router against a real redis-server: the HTTP proxy (methods, bodies, parameters, prefix
// fallback, 404/405/503/timeout, gzip, pass-through), route refresh, router endpoints, /metrics,
// token protection, malformed requests, and the WebSocket gateway (ping, messages and replies,
// [method] routes, reconnect with queued delivery, two routers sharing the directory,
// signatures, authentication).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include <sys/socket.h>

#include "gzip.hpp"
#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/umf.hpp"
#include "support/cpp_service.hpp"
#include "support/hello_service.hpp"
#include "support/raw_http.hpp"
#include "support/redis_server.hpp"
#include "support/router_process.hpp"
#include "support/ws_client.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
using hydra::http::Request;
using hydra::http::Response;
using hydra::test::Conn;
using hydra::test::CppService;
using hydra::test::eventually;
using hydra::test::json_of;
using hydra::test::RedisServer;
using hydra::test::Reply;
using hydra::test::RouterProcess;
using hydra::test::start_router;
using hydra::test::WsClient;
using namespace std::chrono_literals;

namespace {

constexpr const char* kToken = "5b8c1e2a-7d3f-4a6b-9c0d-1e2f3a4b5c6d";

/// One HTTP request on a fresh connection.
Reply call(std::uint16_t port, const std::string& method, const std::string& target,
           const std::string& body = {},
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  Conn conn(port);
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers)
    raw += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  conn.send(raw);
  auto reply = conn.read(10s, method == "HEAD");
  if (!reply) throw std::runtime_error("no reply to " + method + " " + target);
  return *reply;
}

/// A C++ service with routes for every method, registered in Redis, running on its own thread.
class MethodsService {
 public:
  MethodsService(const RedisServer& redis, const std::string& name = "methods-svc")
      : svc_(redis, name), server_(svc_.io().get_executor()) {
    server_.route("all", "/v1/m/:id", [](Request& req) -> asio::awaitable<Response> {
      bj::object r;
      r["method"] = req.method;
      r["id"] = req.params["id"];
      bj::object q;
      for (auto& [k, v] : req.query)
        q[k] = v;
      r["query"] = std::move(q);
      r["body"] = req.body;
      r["contentType"] = req.header("content-type");
      r["tracer"] = req.header("x-hydra-tracer");
      r["host"] = req.header("host");
      bj::array repeated;
      for (const auto& [name, value] : req.headers.fields()) {
        if (name == "X-Repeated" || name == "x-repeated") repeated.emplace_back(bj::string(value));
      }
      r["repeated"] = std::move(repeated);
      co_return Response::ok(std::move(r));
    });
    server_.route("get", "/v1/text", [](Request&) -> asio::awaitable<Response> {
      co_return Response::text(200, "plain <text> as is", "text/plain; charset=utf-8");
    });
    server_.route("get", "/v1/big", [](Request&) -> asio::awaitable<Response> {
      bj::array items;
      for (int i = 0; i < 200; ++i)
        items.emplace_back("item number " + std::to_string(i));
      co_return Response::ok(std::move(items));
    });
    server_.route("get", "/v1/slow", [](Request&) -> asio::awaitable<Response> {
      asio::steady_timer t(co_await asio::this_coro::executor, 3s);
      co_await t.async_wait(asio::use_awaitable);
      co_return Response::ok();
    });
    server_.route("post", "/v1/auth", [](Request& req) -> asio::awaitable<Response> {
      auto body = req.json();
      if (body && body->is_object() && body->get_object().contains("key") &&
          body->get_object().at("key") == "good-key") {
        bj::object r;
        r["user"] = "alice";
        co_return Response::ok(std::move(r));
      }
      co_return Response::unauthorized("bad key");
    });
    svc_.call([this]() -> asio::awaitable<int> {
      hydra::http::Service service(svc_.hydra(), server_);
      co_await service.start();
      co_return 0;
    });
  }
  ~MethodsService() {
    svc_.call([this]() -> asio::awaitable<int> {
      co_await server_.stop();
      co_return 0;
    });
  }
  CppService& service() { return svc_; }

 private:
  CppService svc_;
  hydra::http::Server server_;
};

/// SIGTERM: the router must exit 0 and leave no presence behind.
void expect_clean_stop(const RedisServer& redis, RouterProcess& router) {
  router.process->signal(SIGTERM);
  auto status = router.process->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(redis.cli({"EXISTS", "hydra:service:hydra-router:" + router.instance_id + ":presence"}),
            "0");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    methods = std::make_unique<MethodsService>(redis);
    // A short WebSocket write timeout for AClientThatNeverReadsIsDisconnectedNotBuffered; the
    // other tests' clients read, so their writes never stall that long.
    router = start_router(redis, 0, R"("requestTimeout":1,"websocketWriteTimeout":2)");
    // The router loads the table at start; the service registered before it.
    ASSERT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }));
  }

  void TearDown() override {
    // The router's own account of what went wrong.
    if (HasFailure() && router.process)
      std::cerr << "hydra-router output:\n" << router.process->output(200ms) << std::endl;
  }

  RedisServer redis;
  std::unique_ptr<MethodsService> methods;
  RouterProcess router;
};

TEST_F(RouterTest, ForwardsEveryMethodWithItsBodyQueryAndParameters) {
  for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    const std::string body = method == "GET" ? "" : R"({"m":")" + method + R"(","n":[1,2.5]})";
    auto r = call(router.port, method, "/v1/m/42?x=1&y=two", body,
                  {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << method << " " << r.body;
    auto j = json_of(r.body);
    const auto& result = j.at("result").as_object();
    EXPECT_EQ(result.at("method"), bj::value(boost::algorithm::to_lower_copy(method))) << method;
    EXPECT_EQ(result.at("id"), "42");
    EXPECT_EQ(result.at("query").as_object().at("y"), "two");
    // Bodies of every method arrive byte for byte (Node's router drops PATCH/DELETE bodies).
    EXPECT_EQ(result.at("body"), bj::value(body)) << method;
    EXPECT_EQ(result.at("contentType"), "application/json");
    // The tracer the service saw is the one the client gets back.
    ASSERT_TRUE(r.headers.count("x-hydra-tracer"));
    EXPECT_EQ(result.at("tracer"), bj::value(r.headers["x-hydra-tracer"]));
    // Node's router forwards the original Host header.
    EXPECT_EQ(result.at("host"), "127.0.0.1");
  }
  // A repeated header keeps all its values.
  auto dup =
      call(router.port, "GET", "/v1/m/3", {}, {{"X-Repeated", "one"}, {"X-Repeated", "two"}});
  ASSERT_EQ(dup.status, 200) << dup.body;
  EXPECT_EQ(json_of(dup.body).at("result").as_object().at("repeated"),
            bj::parse(R"(["one","two"])"));
  // Non-JSON bodies pass unchanged too, with their content type.
  auto r = call(router.port, "POST", "/v1/m/7", "a=1&b=x y", {{"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 200);
  auto result = json_of(r.body).at("result").as_object();
  EXPECT_EQ(result.at("body"), "a=1&b=x y");
  EXPECT_EQ(result.at("contentType"), "text/plain");
}

TEST_F(RouterTest, PrefixFallbackNotFoundAndMethodNotAllowed) {
  auto r = call(router.port, "GET", "/methods-svc/v1/m/9?z=3");
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = json_of(r.body).at("result").as_object();
  EXPECT_EQ(result.at("id"), "9");
  EXPECT_EQ(result.at("query").as_object().at("z"), "3");

  r = call(router.port, "GET", "/no/such/route");
  EXPECT_EQ(r.status, 404);
  // No service serves a favicon: the browser's request is answered without counting an error.
  EXPECT_EQ(call(router.port, "GET", "/favicon.ico").status, 204);
  EXPECT_EQ(json_of(r.body).at("statusMessage"), "Not Found");

  // /v1/text is registered for GET only: the method takes part in matching.
  r = call(router.port, "POST", "/v1/text", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST_F(RouterTest, NonJsonResponsesPassThroughAndJsonIsGzippedWhenAccepted) {
  auto r = call(router.port, "GET", "/v1/text");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "plain <text> as is");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");

  r = call(router.port, "GET", "/v1/big", {}, {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-encoding"], "gzip");
  auto plain = hydra::router::gunzip(r.body, 1 << 20);
  ASSERT_TRUE(plain);
  EXPECT_EQ(json_of(*plain).at("result").as_array().size(), 200u);

  // A gzip request body is decoded before it is forwarded.
  const std::string body = R"({"zipped":true})";
  r = call(router.port, "POST", "/v1/m/1", hydra::router::gzip(body),
           {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("body"), bj::value(body));
}

TEST_F(RouterTest, TimeoutAndUnavailableServiceAnswer503WithTheTracer) {
  auto r = call(router.port, "GET", "/v1/slow");
  EXPECT_EQ(r.status, 503) << r.body;
  auto j = json_of(r.body);
  EXPECT_NE(std::string(j.at("result").as_object().at("reason").as_string()).find("timed out"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(j.at("tracer"), bj::value(r.headers["x-hydra-tracer"]));

  // The service goes away (presence deleted at shutdown) but its routes stay registered.
  methods.reset();
  r = call(router.port, "GET", "/v1/m/1");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("reason"),
            "Unavailable methods-svc instances");
}

TEST_F(RouterTest, NewRoutesAreReachableAfterTheServiceRegistersThem) {
  auto hello = hydra::test::start_hello_service(redis, 0);
  // hello-service's register_routes broadcasts hydra-router:/refresh.
  EXPECT_TRUE(
      eventually([&] { return call(router.port, "GET", "/v1/hello/greeting").status == 200; }));
  auto routes = json_of(call(router.port, "GET", "/v1/router/list/routes").body);
  bool listed = false;
  for (const auto& s : routes.at("result").as_array()) {
    if (s.as_object().at("serviceName") == "hello-service") listed = true;
  }
  EXPECT_TRUE(listed);
}

TEST_F(RouterTest, RefreshEndpointReloadsRoutesWrittenWithoutABroadcast) {
  // Routes appear in Redis without the refresh broadcast (a service whose broadcast was lost).
  redis.cli({"SADD", "hydra:service:quiet-svc:service:routes", "[get]/v1/quiet/:id"});
  redis.cli(
      {"HSET", "hydra:service:nodes", "fedcba9876543210fedcba9876543210",
       R"({"serviceName":"quiet-svc","instanceID":"fedcba9876543210fedcba9876543210","updatedOn":"2030-01-01T00:00:00.000Z","ip":"127.0.0.1","port":"1"})"});
  EXPECT_EQ(call(router.port, "GET", "/v1/quiet/1").status, 404);
  EXPECT_EQ(call(router.port, "GET", "/v1/router/refresh/quiet-svc").status, 200);
  // Matched now; no instance is present, so hydra answers 503 for the service.
  auto r = call(router.port, "GET", "/v1/quiet/1");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("reason"),
            "Unavailable quiet-svc instances");
  // A full refresh keeps it; removing the routes and refreshing the service drops it.
  EXPECT_EQ(call(router.port, "GET", "/v1/router/refresh").status, 200);
  EXPECT_EQ(call(router.port, "GET", "/v1/quiet/1").status, 503);
  redis.cli({"DEL", "hydra:service:quiet-svc:service:routes"});
  EXPECT_EQ(call(router.port, "GET", "/v1/router/refresh/quiet-svc").status, 200);
  EXPECT_EQ(call(router.port, "GET", "/v1/quiet/1").status, 404);
}

TEST_F(RouterTest, RouterEndpointsAndMetrics) {
  EXPECT_EQ(call(router.port, "GET", "/v1/m/1").status, 200);
  auto version = json_of(call(router.port, "GET", "/v1/router/version").body);
  EXPECT_EQ(version.at("result").as_object().at("version"), bj::value(HYDRA_VERSION));
  auto health = json_of(call(router.port, "GET", "/v1/router/health").body);
  EXPECT_EQ(health.at("result").as_object().at("serviceName"), "hydra-router");

  auto services = json_of(call(router.port, "GET", "/v1/router/list/services").body);
  bool found = false;
  for (const auto& s : services.at("result").as_array()) {
    const auto& o = s.as_object();
    if (o.at("serviceName") == "methods-svc") {
      found = true;
      EXPECT_TRUE(o.contains("memory"));
      EXPECT_TRUE(o.contains("instanceID"));
      EXPECT_TRUE(o.at("log").is_array());
    }
  }
  EXPECT_TRUE(found);
  auto nodes = json_of(call(router.port, "GET", "/v1/router/list/nodes").body);
  EXPECT_EQ(nodes.at("instanceID"), bj::value(router.instance_id));
  EXPECT_GE(nodes.at("result").as_array().size(), 2u);

  auto stats = json_of(call(router.port, "GET", "/v1/router/stats").body);
  const auto& http_stats = stats.at("result").as_object().at("httpStats").as_object();
  ASSERT_TRUE(http_stats.contains("methods-svc"));
  const auto& per_second = http_stats.at("methods-svc").as_array();
  EXPECT_EQ(per_second.size(), 3600u);
  long long total = 0;
  for (const auto& v : per_second)
    total += v.as_int64();
  EXPECT_GE(total, 2);

  auto log = json_of(call(router.port, "GET", "/v1/router/log").body);
  const auto& logs = log.at("result").as_object().at("logs").as_array();
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().as_object().at("msg").as_string().find("started"), bj::string::npos);

  // clear: stale nodes entries go, live ones stay; then a redirect to the dashboard.
  redis.cli(
      {"HSET", "hydra:service:nodes", "0123456789abcdef0123456789abcdef",
       R"({"serviceName":"gone","instanceID":"0123456789abcdef0123456789abcdef","updatedOn":"2020-01-01T00:00:00.000Z"})"});
  auto cleared = call(router.port, "GET", "/v1/router/clear");
  EXPECT_EQ(cleared.status, 302);
  EXPECT_EQ(cleared.headers["location"], "/");
  EXPECT_EQ(redis.cli({"HEXISTS", "hydra:service:nodes", "0123456789abcdef0123456789abcdef"}), "0");
  EXPECT_EQ(redis.cli({"HEXISTS", "hydra:service:nodes", router.instance_id}), "1");

  auto metrics = call(router.port, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_NE(
      metrics.body.find("hydra_router_http_requests_total{service=\"methods-svc\",code=\"200\"}"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(
      metrics.body.find(
          "hydra_router_http_request_duration_seconds_bucket{service=\"methods-svc\",le=\"+Inf\"}"),
      std::string::npos);
  EXPECT_NE(metrics.body.find("hydra_router_redis_connected 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("hydra_router_websocket_clients 0"), std::string::npos);
}

TEST_F(RouterTest, SendQueueAndMessageEndpoints) {
  auto hello = hydra::test::start_hello_service(redis, 0);
  auto r = call(
      router.port, "POST", "/v1/router/message",
      R"({"to":"hydra-router:/","frm":"test:/","fwd":"methods-svc:[post]/v1/m/5","bdy":{"k":1}})",
      {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("id"), "5");

  r = call(router.port, "POST", "/v1/router/send",
           R"({"to":"hello-service:/","frm":"test:/","bdy":{"hi":1}})",
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r.body).at("result").as_object().at("mid").as_string().size(), 36u);

  r = call(router.port, "POST", "/v1/router/send", R"({"to":"nobody:/","frm":"test:/","bdy":{}})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 503) << r.body;

  r = call(router.port, "POST", "/v1/router/queue",
           R"({"to":"queue-only:/","frm":"test:/","bdy":{"job":1}})",
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto len = redis.cli({"LLEN", "hydra:service:queue-only:mqrecieved"});
  EXPECT_EQ(len, "1");

  r = call(router.port, "POST", "/v1/router/send", "not json", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400);

  // Streams: XADD hydra:stream:<name> * message <short-form UMF>, as Node's router.
  r = call(router.port, "POST", "/v1/router/stream/events",
           R"({"to":"listener:/","from":"test:/","mid":"s-1","body":{"e":1}})",
           {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id(json_of(r.body).at("result").as_object().at("id").as_string());
  auto entry = redis.cli({"XRANGE", "hydra:stream:events", id, id});
  EXPECT_NE(entry.find("message"), std::string::npos) << entry;
  EXPECT_NE(entry.find(R"("to":"listener:/","frm":"test:/","mid":"s-1")"), std::string::npos)
      << entry;
  r = call(router.port, "POST", "/v1/router/stream/events", R"({"to":"x:/"})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
}

TEST_F(RouterTest, MalformedAndOversizedRequestsGetClearErrors) {
  {
    Conn conn(router.port);
    conn.send("THIS IS NOT HTTP\r\n\r\n");
    auto r = conn.read(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  const std::string big(1024 * 1024 + 10, 'x');
  auto r = call(router.port, "POST", "/v1/m/1", big, {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 413);
  r = call(router.port, "POST", "/v1/m/1", "not gzip at all",
           {{"Content-Type", "text/plain"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 400);
  // The router still serves.
  EXPECT_EQ(call(router.port, "GET", "/v1/m/1").status, 200);
}

TEST(RouterTokenTest, RouterEndpointsNeedTheTokenButProxyingDoesNot) {
  RedisServer redis;
  MethodsService methods(redis);
  auto router =
      start_router(redis, 0, std::string(R"("routerToken":")") + kToken + "\"", "router", 2);
  EXPECT_EQ(call(router.port, "GET", "/v1/router/version").status, 404);
  EXPECT_EQ(call(router.port, "GET", "/v1/router/version?token=wrong").status, 404);
  EXPECT_EQ(call(router.port, "GET", std::string("/v1/router/version?token=") + kToken).status,
            200);
  EXPECT_EQ(call(router.port, "GET", "/metrics").status, 404);
  EXPECT_EQ(call(router.port, "GET", "/").status, 404);
  EXPECT_EQ(call(router.port, "GET", std::string("/?token=") + kToken).status, 200);
  // Static assets are always served; proxied routes are not protected.
  EXPECT_EQ(call(router.port, "GET", "/index.js").status, 200);
  EXPECT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }));
}

TEST(RouterCorsTest, ConfiguredCorsHeadersOnPreflightAndProxiedResponses) {
  RedisServer redis;
  MethodsService methods(redis);
  auto router = start_router(
      redis, 0, R"("cors":{"Access-Control-Allow-Origin":"https://app.example","X-Extra":"1"})");
  auto r = call(router.port, "OPTIONS", "/v1/m/1", {},
                {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "PUT"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers["access-control-allow-origin"], "https://app.example");
  ASSERT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }));
  r = call(router.port, "GET", "/v1/m/1", {}, {{"Origin", "https://app.example"}});
  EXPECT_EQ(r.headers["access-control-allow-origin"], "https://app.example");
  EXPECT_EQ(r.headers["x-extra"], "1");
}

TEST(RouterConfigTest, ExternalRoutesAndDisabledEndpoints) {
  RedisServer redis;
  MethodsService methods(redis);
  auto router = start_router(
      redis, 0,
      R"("externalRoutes":{"methods-svc":["[get]/legacy/:x"]},"disableRouterEndpoint":true)");
  // The alias routes to the service (present in the mesh); the service itself has no such route.
  auto r = call(router.port, "GET", "/legacy/5");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_FALSE(r.headers["x-hydra-tracer"].empty())
      << "answered by the service, through the router";
  EXPECT_EQ(call(router.port, "GET", "/v1/router/version").status, 404);
  EXPECT_EQ(call(router.port, "GET", "/metrics").status, 404);
  EXPECT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }));
}

TEST(RouterConfigTest, InvalidConfigurationIsRefusedWithTheFieldNamed) {
  RedisServer redis;
  const std::string config = redis.dir() + "/bad-router.json";
  {
    std::ofstream out(config);
    out << R"({"hydra":{"redis":{"url":")" << redis.url(0) << R"("}},"routerToken":"not-a-uuid"})";
  }
  hydra::test::Process p({hydra::test::router_binary(), "--config", config}, {}, true);
  auto status = p.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  EXPECT_NE(p.output(100ms).find("routerToken"), std::string::npos);
}

// WebSocket gateway --------------------------------------------------------------------------

/// Reads the `connection` message and returns the client id.
std::string connected_id(WsClient& ws) {
  auto m = ws.read(5s);
  if (!m) throw std::runtime_error("no connection message");
  auto j = json_of(*m);
  if (j.at("typ") != "connection") throw std::runtime_error("not a connection message: " + *m);
  return std::string(j.at("bdy").as_object().at("id").as_string());
}

bool has_rmid(const std::string& text, const std::string& mid) {
  auto j = json_of(text);
  return j.contains("rmid") && j.at("rmid") == bj::value(mid);
}

TEST_F(RouterTest, WebSocketConnectionPingAndRouterApi) {
  WsClient ws(router.port);
  auto first = ws.read(5s);
  ASSERT_TRUE(first);
  auto hello = json_of(*first);
  EXPECT_EQ(hello.at("typ"), "connection");
  const std::string id(hello.at("bdy").as_object().at("id").as_string());
  EXPECT_EQ(hello.at("to"), bj::value(id + "@client:/"));
  EXPECT_EQ(hello.at("frm"), bj::value(router.instance_id + "@hydra-router:/"));
  EXPECT_EQ(hello.at("bdy").as_object().at("ip"), "127.0.0.1");

  ws.send(R"({"to":"hydra-router:/","frm":"client:/","mid":"p-1","typ":"ping","bdy":{}})");
  auto pong = ws.read_until([](const std::string& t) { return has_rmid(t, "p-1"); });
  ASSERT_TRUE(pong);
  EXPECT_EQ(json_of(*pong).at("typ"), "pong");

  ws.send(R"({"to":"hydra-router:[get]/v1/router/version","frm":"client:/","mid":"v-1","bdy":{}})");
  auto version = ws.read_until([](const std::string& t) { return has_rmid(t, "v-1"); });
  ASSERT_TRUE(version);
  EXPECT_EQ(json_of(*version).at("bdy").as_object().at("version"), bj::value(HYDRA_VERSION));

  ws.send(
      R"({"to":"hydra-router:[get]/v1/router/list/routes","frm":"client:/","mid":"l-1","bdy":{}})");
  auto routes = ws.read_until([](const std::string& t) { return has_rmid(t, "l-1"); });
  ASSERT_TRUE(routes);
  const auto listing = json_of(*routes);
  bool listed = false;
  for (const auto& item : listing.at("bdy").as_array())
    listed = listed || item.as_object().at("serviceName") == "methods-svc";
  EXPECT_TRUE(listed) << *routes;

  // An HTTP route of a service through the socket.
  ws.send(R"({"to":"methods-svc:[get]/v1/m/77","frm":"client:/","mid":"h-1","bdy":{}})");
  auto via_http = ws.read_until([](const std::string& t) { return has_rmid(t, "h-1"); });
  ASSERT_TRUE(via_http);
  EXPECT_EQ(json_of(*via_http).at("bdy").as_object().at("id"), "77");

  // The metrics count the client.
  EXPECT_NE(call(router.port, "GET", "/metrics").body.find("hydra_router_websocket_clients 1"),
            std::string::npos);
}

TEST_F(RouterTest, WebSocketMessageToACppServiceGetsItsReply) {
  auto hello = hydra::test::start_hello_service(redis, 0);
  WsClient ws(router.port);
  connected_id(ws);
  ws.send(R"({"to":"hello-service:/","frm":"client:/","mid":"m-1","bdy":{"hello":1}})");
  auto reply = ws.read_until([](const std::string& t) { return has_rmid(t, "m-1"); }, 10s);
  ASSERT_TRUE(reply);
  auto j = json_of(*reply);
  EXPECT_EQ(j.at("bdy").as_object().at("echo"), json_of(R"({"hello":1})"));
  // The router strips `via` before delivering.
  EXPECT_FALSE(j.contains("via"));

  ws.send(R"({"to":"nosvc:/","frm":"client:/","bdy":{"hello":1}})");
  auto error =
      ws.read_until([](const std::string& t) { return t.find("error") != std::string::npos; });
  ASSERT_TRUE(error);
  EXPECT_EQ(json_of(*error).at("bdy").as_object().at("error"), "No nosvc instances available");
}

TEST_F(RouterTest, InvalidWebSocketMessagesGetAnErrorAndTheSocketIsClosed) {
  WsClient ws(router.port);
  connected_id(ws);
  ws.send("this is not json");
  auto error = ws.read(5s);
  ASSERT_TRUE(error);
  EXPECT_NE(json_of(*error).at("bdy").as_object().at("error").as_string().find("Invalid UMF"),
            bj::string::npos);
  EXPECT_TRUE(ws.wait_closed(5s));

  WsClient ws2(router.port);
  connected_id(ws2);
  ws2.send(R"({"to":"hydra-router:/","frm":"client:/","bdy":{}})");
  auto unknown = ws2.read(5s);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(json_of(*unknown).at("bdy").as_object().at("error"),
            "Unrecognized Hydra Router request");
  EXPECT_TRUE(ws2.wait_closed(5s));
  // The router is still fine.
  EXPECT_EQ(call(router.port, "GET", "/v1/router/version").status, 200);
}

TEST_F(RouterTest, AClientThatNeverReadsIsDisconnectedNotBuffered) {
  namespace websocket = boost::beast::websocket;
  asio::io_context io;
  websocket::stream<asio::ip::tcp::socket> ws(io);
  // A fixed, small receive buffer: left to autotuning it can grow to tcp_rmem's maximum (32 MiB
  // here), and then it alone could hold every pong of the loop below.
  ws.next_layer().open(asio::ip::tcp::v4());
  ws.next_layer().set_option(asio::socket_base::receive_buffer_size(64 * 1024));
  // The calls below block (Asio's synchronous writes wait for the socket however long it
  // takes): should the router neither read from this client nor drop it, a watchdog shuts the
  // socket down after 60 s, so that the test fails, saying how far it got, instead of hanging.
  std::atomic<bool> finished{false}, watchdog_fired{false};
  std::thread watchdog([&, fd = ws.next_layer().native_handle()] {
    for (int i = 0; i < 600 && !finished; ++i)
      std::this_thread::sleep_for(100ms);
    if (!finished) {
      watchdog_fired = true;
      ::shutdown(fd, SHUT_RDWR);
    }
  });
  int sent = 0;
  boost::system::error_code ec;
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), router.port}, ec);
  if (!ec) ws.handshake("127.0.0.1", "/", ec);
  const boost::system::error_code opening = ec;
  // Pings the router answers with pongs that this client never reads. Once the socket buffers
  // are full the router drops the connection: when its send queue reaches its limit, or when
  // nothing it sent this client moved for websocketWriteTimeout (2 s here: no write completed,
  // no byte acknowledged), whichever comes first. The second is what ends it when TCP itself
  // stalls, as it does in about one run of 25 here: a receive buffer this full drops incoming
  // segments, both sides' retransmissions back off for many seconds, the router's queue stays
  // short, and the pings that would fill it take minutes to arrive (the test then takes about
  // 7 s instead of under 1).
  const std::string ping = R"({"to":"hydra-router:/","frm":"client:/","typ":"ping","bdy":{}})";
  for (; !opening && sent < 200000 && !ec; ++sent)
    ws.write(asio::buffer(ping), ec);
  finished = true;
  watchdog.join();  // before any ASSERT can return
  ASSERT_FALSE(watchdog_fired) << "the router neither read from nor dropped the client ("
                               << (opening ? "in the handshake" : std::to_string(sent) + " pings")
                               << ")";
  ASSERT_FALSE(opening) << "connect or handshake: " << opening.message();
  EXPECT_TRUE(ec) << "the router kept accepting messages from a client that never reads";
  EXPECT_LT(sent, 200000);
  // The router is fine, and serves other clients.
  EXPECT_EQ(call(router.port, "GET", "/v1/router/version").status, 200);
  WsClient other(router.port);
  connected_id(other);
}

TEST_F(RouterTest, ReconnectingClientReceivesWhatWasQueuedForIt) {
  std::string old_id;
  {
    WsClient ws(router.port);
    old_id = connected_id(ws);
  }
  // Wait until the router noticed the disconnect.
  ASSERT_TRUE(eventually([&] {
    auto dir = json_of(call(router.port, "GET", "/v1/router/list/wsdir").body);
    return !dir.at("result").as_object().at(router.instance_id).as_object().contains(old_id);
  }));
  // A service replies to the gone client through the router's instance channel.
  auto& sender = methods->service();
  auto result = sender.call([&]() -> asio::awaitable<hydra::Result> {
    bj::object m;
    m["to"] = router.instance_id + "-" + old_id + "@hydra-router:/";
    m["from"] = "methods-svc:/";
    m["via"] = router.instance_id + "-" + old_id + "@hydra-router:/";
    m["rmid"] = "late-1";
    bj::object body;
    body["late"] = true;
    m["body"] = std::move(body);
    co_return co_await sender.hydra().send_message(m);
  });
  ASSERT_TRUE(result.ok()) << result.reason;
  ASSERT_TRUE(eventually([&] {
    return redis.cli({"LLEN", "hydra-router:message:queue:" + old_id + ":queued"}) == "1";
  }));

  WsClient ws(router.port);
  connected_id(ws);
  ws.send(R"({"to":"hydra-router:/","frm":"client:/","typ":"reconnect","bdy":{"id":")" + old_id +
          R"("}})");
  auto again = ws.read_until(
      [](const std::string& t) { return t.find("\"connection\"") != std::string::npos; });
  ASSERT_TRUE(again);
  EXPECT_EQ(json_of(*again).at("bdy").as_object().at("id"), bj::value(old_id));
  auto late = ws.read_until([](const std::string& t) { return has_rmid(t, "late-1"); });
  ASSERT_TRUE(late);
  EXPECT_EQ(json_of(*late).at("bdy"), json_of(R"({"late":true})"));
  EXPECT_EQ(redis.cli({"EXISTS", "hydra-router:message:queue:" + old_id + ":queued"}), "0");

  // The documented `reconnection` type works as well as the `reconnect` Node's router uses.
  WsClient ws2(router.port);
  connected_id(ws2);
  ws2.send(
      R"({"to":"hydra-router:/","frm":"client:/","typ":"reconnection","bdy":{"id":"other-id"}})");
  auto renamed = ws2.read_until(
      [](const std::string& t) { return t.find("\"connection\"") != std::string::npos; });
  ASSERT_TRUE(renamed);
  EXPECT_EQ(json_of(*renamed).at("bdy").as_object().at("id"), "other-id");
}

TEST_F(RouterTest, TwoRoutersShareTheClientDirectory) {
  // The second instance runs two I/O threads (the strand hand-off path).
  auto second = start_router(redis, 0, R"("requestTimeout":1)", "router2", 2);
  WsClient a(router.port);
  const std::string id_a = connected_id(a);
  WsClient b(second.port);
  const std::string id_b = connected_id(b);
  // Each router learns the other's client from the wsdir.add broadcast.
  std::string last;
  ASSERT_TRUE(eventually([&] {
    last = call(router.port, "GET", "/v1/router/list/wsdir").body;
    auto dir = json_of(last);
    const auto& all = dir.at("result").as_object();
    return all.contains(second.instance_id) &&
           all.at(second.instance_id).as_object().contains(id_b);
  })) << last
      << "\nsecond router:\n"
      << second.process->output(100ms);
  a.send(R"({"to":"hydra-router:/","frm":")" + id_a + R"(@client:/","mid":"f-1","fwd":")" + id_b +
         R"(@client:/","bdy":{"note":"across routers"}})");
  auto got = b.read_until(
      [](const std::string& t) { return t.find("across routers") != std::string::npos; });
  ASSERT_TRUE(got);
  EXPECT_EQ(json_of(*got).at("mid"), "f-1");

  // A new router asks for the directories and gets them (wsdir.sha → wsdir.dir).
  auto third = start_router(redis, 0, {}, "router3");
  EXPECT_TRUE(eventually([&] {
    auto dir = json_of(call(third.port, "GET", "/v1/router/list/wsdir").body);
    const auto& all = dir.at("result").as_object();
    return all.contains(router.instance_id) &&
           all.at(router.instance_id).as_object().contains(id_a);
  }));
}

TEST(RouterDirectoryTest, ClientsOfARouterKilledWithoutGoodbyeAreForgotten) {
  RedisServer redis;
  auto router = start_router(redis, 0, R"("refreshInterval":0.5)");
  auto doomed = start_router(redis, 0, {}, "doomed");
  std::string id;
  {
    WsClient ws(doomed.port);
    id = connected_id(ws);
    ASSERT_TRUE(eventually([&] {
      auto dir = json_of(call(router.port, "GET", "/v1/router/list/wsdir").body);
      const auto& all = dir.at("result").as_object();
      return all.contains(doomed.instance_id) &&
             all.at(doomed.instance_id).as_object().contains(id);
    }));
    // SIGKILL: no wsdir.rem; its presence expires after 3 s.
    doomed.process->signal(SIGKILL);
  }
  EXPECT_TRUE(eventually(
      [&] {
        auto dir = json_of(call(router.port, "GET", "/v1/router/list/wsdir").body);
        return !dir.at("result").as_object().contains(doomed.instance_id);
      },
      15s));
}

TEST(RouterSignatureTest, UnsignedOrBadlySignedMessagesAreRefused) {
  RedisServer redis;
  MethodsService methods(redis);
  auto router = start_router(
      redis, 0, R"("forceMessageSignature":true,"signatureSharedSecret":"s3cret")", "router", 2);
  {
    WsClient ws(router.port);
    connected_id(ws);
    ws.send(R"({"to":"hydra-router:/","frm":"client:/","typ":"ping","bdy":{}})");
    auto error = ws.read(5s);
    ASSERT_TRUE(error);
    EXPECT_EQ(json_of(*error).at("bdy").as_object().at("error"), "Not a signed UMF message");
    EXPECT_TRUE(ws.wait_closed(5s));
  }
  WsClient ws(router.port);
  connected_id(ws);
  bj::object input;
  input["to"] = "hydra-router:/";
  input["from"] = "client:/";
  input["mid"] = "s-1";
  input["type"] = "ping";
  input["body"] = bj::object();
  auto m = hydra::umf::Message::create(input);
  m.sign("sha256", "s3cret");
  ws.send(m.to_short_json());
  auto pong = ws.read_until([](const std::string& t) { return has_rmid(t, "s-1"); });
  ASSERT_TRUE(pong);
  m.sign("sha256", "other secret");
  ws.send(m.to_short_json());
  auto error = ws.read(5s);
  ASSERT_TRUE(error);
  EXPECT_EQ(json_of(*error).at("bdy").as_object().at("error"), "Invalid signed UMF message");
}

TEST(RouterWebSocketAuthTest, ClientsAuthenticateThroughAServiceApi) {
  RedisServer redis;
  MethodsService methods(redis);
  auto router = start_router(
      redis, 0,
      R"("requireWebsocketAuth":true,"websocketAuthService":"methods-svc","websocketAuthServiceAPI":"/v1/auth")");
  {
    WsClient ws(router.port, "/", {{"Authorization", "Bearer bad-key"}});
    auto error = ws.read(5s);
    ASSERT_TRUE(error);
    EXPECT_EQ(json_of(*error).at("bdy").as_object().at("error"), "Unauthorized");
    EXPECT_TRUE(ws.wait_closed(5s));
  }
  WsClient ws(router.port, "/", {{"Authorization", "Bearer good-key"}});
  auto hello = ws.read(5s);
  ASSERT_TRUE(hello);
  auto j = json_of(*hello);
  EXPECT_EQ(j.at("typ"), "connection");
  EXPECT_EQ(j.at("bdy").as_object().at("authResponse").as_object().at("user"), "alice");
}

TEST_F(RouterTest, SurvivesARedisRestart) {
  WsClient ws(router.port);
  connected_id(ws);
  redis.stop();
  // While Redis is gone a message cannot be routed: the client is told, the socket stays open.
  ws.send(R"({"to":"methods-svc:/","frm":"client:/","mid":"down-1","bdy":{}})");
  auto error = ws.read_until(
      [](const std::string& t) { return t.find(R"("error")") != std::string::npos; }, 15s);
  ASSERT_TRUE(error);
  redis.start();
  // Both services rewrite their presence after reconnecting; the proxy works again, and so
  // does the same socket.
  EXPECT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }, 20s));
  ws.send(R"({"to":"hydra-router:/","frm":"client:/","mid":"up-1","typ":"ping","bdy":{}})");
  EXPECT_TRUE(ws.read_until([](const std::string& t) { return has_rmid(t, "up-1"); }, 10s));
}

TEST_F(RouterTest, IdempotentCallsSurviveAnInstanceKilledMidWay) {
  auto first = hydra::test::start_hello_service(redis, 0);
  auto second = hydra::test::start_hello_service(redis, 0);
  ASSERT_TRUE(
      eventually([&] { return call(router.port, "GET", "/v1/hello/greeting").status == 200; }));
  int ok = 0;
  std::set<std::string> answered_by;
  for (int i = 0; i < 200; ++i) {
    // SIGKILL: no shutdown, its presence stays for up to 3 s and its connections are reset.
    if (i == 50) first.process->signal(SIGKILL);
    auto r = call(router.port, "GET", "/v1/hello/greeting");
    if (r.status == 200) ++ok;
    answered_by.insert(r.headers["x-process-id"]);
  }
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(answered_by.size(), 2u);
  // A POST to the dead instance is not retried after it may have been delivered, but a refused
  // connection proves it was not: POSTs keep succeeding too.
  for (int i = 0; i < 20; ++i) {
    auto r = call(router.port, "POST", "/v1/hello/echo", R"({"n":1})",
                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
}

TEST_F(RouterTest, StopsGracefullyAndLeavesNoPresence) {
  expect_clean_stop(redis, router);
}

TEST(RouterBusyPollTest, ProxiesRefreshesAndStopsCleanlyWhileBusyPolling) {
  // Two I/O threads that keep polling for 500 µs after every event: requests on both threads,
  // the Hydra's own timers and broadcasts (a refresh), then SIGTERM must still end it cleanly.
  RedisServer redis;
  MethodsService methods(redis);
  RouterProcess router = start_router(redis, 0, R"("busyPollMicroseconds":500)", "router", 2);
  ASSERT_TRUE(eventually([&] { return call(router.port, "GET", "/v1/m/1").status == 200; }));
  for (int i = 0; i < 100; ++i) {
    auto r = call(router.port, "POST", "/v1/m/" + std::to_string(i), "n=" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json_of(r.body).at("result").at("body").as_string(), "n=" + std::to_string(i));
  }
  EXPECT_EQ(call(router.port, "GET", "/v1/router/refresh").status, 200);
  EXPECT_EQ(call(router.port, "GET", "/v1/m/after-refresh").status, 200);
  expect_clean_stop(redis, router);
}

}  // namespace
