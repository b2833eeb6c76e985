// makeAPIRequest against real HTTP servers registered as hydra instances in a real redis-server:
// requests as received, result objects, 503 paths, failover, timeouts and keep-alive reuse.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <map>
#include <memory>

#include "hydra/http/client.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using hydra::test::RedisServer;
using hydra::test::run_on;
using hydra::test::service_document;
using namespace std::chrono_literals;

namespace {

struct Received {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

/// What a test server has seen; shared with its sessions.
struct ServerState {
  std::vector<Received> requests;
  int accepted = 0;
  bool killed = false;
  std::string instance_id;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::weak_ptr<beast::tcp_stream>> streams;
};

asio::awaitable<void> session(std::shared_ptr<ServerState> st,
                              std::shared_ptr<beast::tcp_stream> stream) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request<bhttp::string_body> req;
    boost::system::error_code ec;
    co_await bhttp::async_read(*stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || st->killed) co_return;
    Received r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    st->requests.push_back(r);

    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.result(bhttp::status::ok);
    std::string path = r.target.substr(0, r.target.find('?'));
    if (path == "/slow") {
      asio::steady_timer t(co_await asio::this_coro::executor, 1500ms);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (path == "/text") {
      res.set(bhttp::field::content_type, "text/plain");
      res.body() = "plain hello";
    } else {
      bj::object result;
      result["method"] = r.method;
      result["url"] = r.target;
      result["body"] = r.body;
      result["instance"] = st->instance_id;
      bj::object body;
      if (path == "/missing") {
        res.result(bhttp::status::not_found);
        body["statusCode"] = 404;
      } else if (path == "/created") {
        res.result(bhttp::status::created);
      } else {
        body["statusCode"] = 200;
      }
      body["result"] = result;
      res.set(bhttp::field::content_type, "application/json");
      res.set("X-Custom", "abc");
      res.body() = hydra::json::stringify(body);
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await bhttp::async_write(*stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> st) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await st->acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || st->killed) co_return;
    ++st->accepted;
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    st->streams.push_back(stream);
    asio::co_spawn(st->acceptor->get_executor(), session(st, stream), asio::detached);
  }
}

/// A hydra instance of `name` serving HTTP on its registered port.
class TestServer {
 public:
  TestServer(asio::io_context& io, const RedisServer& redis, const std::string& name)
      : io_(io), state_(std::make_shared<ServerState>()) {
    for (int tries = 0;; ++tries) {
      hydra_ = std::make_unique<hydra::Hydra>(io.get_executor());
      hydra_->on_log([](const bj::object&) {});
      run_on(io, [&]() -> asio::awaitable<void> {
        co_await hydra_->init(service_document(redis, name));
      });
      boost::system::error_code ec;
      auto acceptor = std::make_unique<tcp::acceptor>(io);
      tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), hydra_->service_port());
      // The port init() picked is held bound by hydra; take it over, else bind it.
      if (auto fd = hydra_->take_reserved_listener()) {
        acceptor->assign(tcp::v4(), *fd, ec);
      } else {
        acceptor->open(ep.protocol(), ec);
        if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor->bind(ep, ec);
      }
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) {
        state_->acceptor = std::move(acceptor);
        break;
      }
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra_->shutdown(); });
      if (tries == 5) throw std::runtime_error("cannot bind the registered port");
    }
    run_on(io, [&]() -> asio::awaitable<void> { co_await hydra_->register_service(); });
    state_->instance_id = hydra_->instance_id();
    asio::co_spawn(io, accept_loop(state_), asio::detached);
  }
  ~TestServer() {
    kill();
    try {
      run_on(io_, [&]() -> asio::awaitable<void> { co_await hydra_->shutdown(); });
    } catch (...) {
    }
  }
  /// The process "dies": no more connections, open ones closed; its presence stays in Redis.
  void kill() {
    state_->killed = true;
    boost::system::error_code ec;
    if (state_->acceptor) state_->acceptor->close(ec);
    for (auto& w : state_->streams)
      if (auto s = w.lock()) s->socket().close(ec);
  }
  const std::vector<Received>& requests() const { return state_->requests; }
  int accepted() const { return state_->accepted; }
  std::string instance_id() const { return state_->instance_id; }
  hydra::Hydra& hydra() { return *hydra_; }

 private:
  asio::io_context& io_;
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<hydra::Hydra> hydra_;
};

/// A caller: an initialised (not registered) Hydra and its client.
struct Caller {
  asio::io_context& io;
  hydra::Hydra hydra;
  std::vector<std::string> metrics;
  std::unique_ptr<hydra::http::ApiClient> client;
  Caller(asio::io_context& ctx, const RedisServer& redis,
         hydra::http::ClientOptions options = hydra::http::ClientOptions{})
      : io(ctx), hydra(ctx.get_executor()) {
    hydra.on_log([](const bj::object&) {});
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await hydra.init(service_document(redis, "caller"));
    });
    options.on_metric = [this](const std::string& m) { metrics.push_back(m); };
    client = std::make_unique<hydra::http::ApiClient>(hydra, options);
  }
  ~Caller() {
    client.reset();
    try {
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra.shutdown(); });
    } catch (...) {
    }
  }
  bj::object call(const std::string& text) {
    bj::object msg = bj::parse(text).as_object();
    return run_on(io, [&]() -> asio::awaitable<bj::object> {
      co_return co_await client->make_api_request(msg);
    });
  }
  bj::object call(const bj::object& msg, double timeout) {
    hydra::http::RequestOptions o;
    o.timeout_seconds = timeout;
    return run_on(io, [&]() -> asio::awaitable<bj::object> {
      co_return co_await client->make_api_request(msg, o);
    });
  }
};

std::string text(const bj::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "";
}

std::string reason(const bj::object& o) {
  const auto* r = o.at("result").as_object().if_contains("reason");
  return r && r->is_string() ? std::string(r->get_string()) : "";
}

}  // namespace

TEST(HttpClient, GetSendsPathQueryHeadersAndNoBody) {
  RedisServer redis;
  asio::io_context io;
  TestServer server(io, redis, "echo-svc");
  Caller caller(io, redis);
  auto o = caller.call(
      R"({"to":"echo-svc:[get]/v1/foo?x=1","from":"t:/","body":{"ignored":true},"headers":{"X-Test":"t1"},"authorization":"Bearer z"})");
  EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  EXPECT_EQ(o.at("statusMessage"), "OK");
  EXPECT_EQ(o.at("result").at("method"), "GET");
  EXPECT_EQ(o.at("result").at("url"), "/v1/foo?x=1");
  EXPECT_EQ(o.at("headers").at("x-custom"), "abc");
  EXPECT_TRUE(o.at("headers").at("content-length").is_int64());
  EXPECT_FALSE(o.contains("payLoad"));
  ASSERT_EQ(server.requests().size(), 1u);
  const auto& r = server.requests()[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/v1/foo?x=1");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.at("x-test"), "t1");
  EXPECT_EQ(r.headers.at("authorization"), "Bearer z");
  EXPECT_EQ(r.headers.count("content-type"), 0u);
  EXPECT_EQ(r.headers.count("content-length"), 0u);
}

TEST(HttpClient, PostSendsJsonBodyAndReportedStatusComesFromTheBody) {
  RedisServer redis;
  asio::io_context io;
  TestServer server(io, redis, "echo-svc");
  Caller caller(io, redis);
  auto o = caller.call(R"({"to":"echo-svc:[post]/v1/items","frm":"t:/","bdy":{"a":1,"s":"é"}})");
  EXPECT_EQ(o.at("statusCode"), 200);
  EXPECT_EQ(o.at("result").at("body"), R"({"a":1,"s":"é"})");
  ASSERT_EQ(server.requests().size(), 1u);
  const auto& r = server.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.body, R"({"a":1,"s":"é"})");
  // No statusCode in the body: the HTTP status is reported.
  auto c = caller.call(R"({"to":"echo-svc:[put]/created","frm":"t:/","bdy":{"x":[1,2]}})");
  EXPECT_EQ(c.at("statusCode"), 201);
  EXPECT_EQ(c.at("statusMessage"), "Created");
  EXPECT_EQ(server.requests().back().method, "PUT");
  EXPECT_EQ(server.requests().back().body, R"({"x":[1,2]})");
}

TEST(HttpClient, NonJsonResponseKeptAsPayLoad) {
  RedisServer redis;
  asio::io_context io;
  TestServer server(io, redis, "text-svc");
  Caller caller(io, redis);
  auto o = caller.call(R"({"to":"text-svc:[get]/text","from":"t:/","body":{}})");
  EXPECT_EQ(
      hydra::json::stringify(o),
      R"({"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{},"headers":{"content-type":"text/plain","content-length":11},"payLoad":"plain hello"})");
}

TEST(HttpClient, ClientErrorsAreFinal) {
  RedisServer redis;
  asio::io_context io;
  TestServer a(io, redis, "err-svc");
  TestServer b(io, redis, "err-svc");
  Caller caller(io, redis);
  auto o = caller.call(R"({"to":"err-svc:[get]/missing","from":"t:/","body":{}})");
  EXPECT_EQ(o.at("statusCode"), 404);
  EXPECT_EQ(o.at("statusMessage"), "Not Found");
  EXPECT_EQ(a.requests().size() + b.requests().size(), 1u);
  auto bad = caller.call(R"({"to":"err-svc:/missing","from":"t:/","body":{}})");
  EXPECT_EQ(reason(bad), "HTTP method not specified in `to` field");
}

TEST(HttpClient, UnavailableServices) {
  RedisServer redis;
  asio::io_context io;
  Caller caller(io, redis);
  auto none = caller.call(R"({"to":"nosuch:[get]/x","from":"t:/","body":{}})");
  EXPECT_EQ(none.at("statusCode"), 503);
  EXPECT_EQ(reason(none), "Unavailable nosuch instances");
  ASSERT_FALSE(caller.metrics.empty());
  EXPECT_EQ(caller.metrics.back(), "service:unavailable|nosuch");

  TestServer server(io, redis, "dead-svc");
  server.kill();
  auto dead = caller.call(R"({"to":"dead-svc:[post]/x","from":"t:/","body":{"a":1}})");
  EXPECT_EQ(dead.at("statusCode"), 503);
  EXPECT_EQ(reason(dead), "An instance of dead-svc is unavailable");
  EXPECT_EQ(caller.metrics.back(),
            "service:unavailable|dead-svc|" + server.instance_id() + "|attempts:exhausted");
  // Avoided after the failure, but still tried: the answer stays the same, not a new 503 kind.
  auto again = caller.call(R"({"to":"dead-svc:[get]/x","from":"t:/","body":{"a":1}})");
  EXPECT_EQ(reason(again), "An instance of dead-svc is unavailable");
}

TEST(HttpClient, GetsKeepSucceedingWhenAnInstanceDies) {
  RedisServer redis;
  asio::io_context io;
  TestServer a(io, redis, "multi-svc");
  TestServer b(io, redis, "multi-svc");
  TestServer c(io, redis, "multi-svc");
  Caller caller(io, redis);
  for (int i = 0; i < 10; ++i) {
    auto o = caller.call(R"({"to":"multi-svc:[get]/v1/x","from":"t:/","body":{}})");
    EXPECT_EQ(o.at("statusCode"), 200);
  }
  b.kill();
  for (int i = 0; i < 20; ++i) {
    auto o = caller.call(R"({"to":"multi-svc:[get]/v1/x","from":"t:/","body":{}})");
    EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
    EXPECT_NE(text(o.at("result").at("instance")), b.instance_id());
  }
  // A POST that could not connect (nothing was sent) also moves on.
  for (int i = 0; i < 5; ++i) {
    auto o = caller.call(R"({"to":"multi-svc:[post]/v1/x","from":"t:/","body":{"n":1}})");
    EXPECT_EQ(o.at("statusCode"), 200) << bj::serialize(o);
  }
}

TEST(HttpClient, RoundRobinAndNamedInstance) {
  RedisServer redis;
  asio::io_context io;
  TestServer a(io, redis, "rr-svc");
  TestServer b(io, redis, "rr-svc");
  hydra::http::ClientOptions options;
  options.choice = hydra::http::InstanceChoice::round_robin;
  Caller caller(io, redis, options);
  for (int i = 0; i < 6; ++i)
    caller.call(R"({"to":"rr-svc:[get]/v1/x","from":"t:/","body":{}})");
  EXPECT_EQ(a.requests().size(), 3u);
  EXPECT_EQ(b.requests().size(), 3u);
  bj::object named = bj::parse(R"({"from":"t:/","body":{}})").as_object();
  named["to"] = b.instance_id() + "@rr-svc:[get]/v1/named";
  for (int i = 0; i < 4; ++i) {
    auto o = caller.call(named, 5);
    EXPECT_EQ(text(o.at("result").at("instance")), b.instance_id());
  }
  EXPECT_EQ(b.requests().size(), 7u);
  // A named instance that is not present falls back to another one, as in Node.
  named["to"] = "0123456789abcdef0123456789abcdef@rr-svc:[get]/v1/named";
  EXPECT_EQ(caller.call(named, 5).at("statusCode"), 200);
}

TEST(HttpClient, TimeoutsAndPostIsNeverResent) {
  RedisServer redis;
  asio::io_context io;
  TestServer a(io, redis, "slow-svc");
  TestServer b(io, redis, "slow-svc");
  Caller caller(io, redis);
  auto post = bj::parse(R"({"to":"slow-svc:[post]/slow","from":"t:/","body":{"n":1}})").as_object();
  auto start = std::chrono::steady_clock::now();
  auto o = caller.call(post, 0.3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1200ms);
  EXPECT_EQ(o.at("statusCode"), 503);
  EXPECT_EQ(reason(o), "Request to slow-svc timed out after 0.3 s");
  EXPECT_EQ(a.requests().size() + b.requests().size(), 1u);

  // tmo from the message; a GET is idempotent and tried on the other instance too.
  auto get =
      bj::parse(R"({"to":"slow-svc:[get]/slow","from":"t:/","body":{},"tmo":0.3})").as_object();
  auto g = run_on(io, [&]() -> asio::awaitable<bj::object> {
    co_return co_await caller.client->make_api_request(get);
  });
  EXPECT_EQ(reason(g), "Request to slow-svc timed out after 0.3 s");
  EXPECT_EQ(a.requests().size() + b.requests().size(), 3u);
  // Slow is not dead: a normal call still works on either.
  EXPECT_EQ(caller.call(R"({"to":"slow-svc:[get]/v1/x","from":"t:/","body":{}})").at("statusCode"),
            200);
}

TEST(HttpClient, KeepAliveConnectionsAreReused) {
  RedisServer redis;
  asio::io_context io;
  TestServer server(io, redis, "ka-svc");
  Caller caller(io, redis);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(caller.call(R"({"to":"ka-svc:[get]/v1/x","from":"t:/","body":{}})").at("statusCode"),
              200);
    EXPECT_EQ(
        caller.call(R"({"to":"ka-svc:[post]/v1/x","from":"t:/","body":{"a":1}})").at("statusCode"),
        200);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 10u);
  auto stats = caller.client->stats();
  EXPECT_EQ(stats.connections_opened, 1u);
  EXPECT_EQ(stats.connections_reused, 9u);
  EXPECT_EQ(caller.client->idle_connections(), 1u);
  caller.client->close_idle();
  EXPECT_EQ(caller.client->idle_connections(), 0u);
  EXPECT_EQ(caller.call(R"({"to":"ka-svc:[get]/v1/x","from":"t:/","body":{}})").at("statusCode"),
            200);
  hydra::test::pump(io, 50ms);
  EXPECT_EQ(server.accepted(), 2);
}
