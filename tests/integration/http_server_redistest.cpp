// The HTTP service layer against a real redis-server and real sockets: routes in Redis, request
// handling, limits, timeouts, keep-alive, CORS and graceful stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "hydra/http/server.hpp"
#include "hydra/http/websocket.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/process.hpp"
#include "support/raw_http.hpp"
#include "support/redis_server.hpp"
#include "support/ws_client.hpp"

namespace asio = boost::asio;
using hydra::http::Request;
using hydra::http::Response;
using hydra::test::RedisServer;
using hydra::test::run_on;
using hydra::test::service_document;
using namespace std::chrono_literals;

namespace {

using hydra::test::Conn;
using hydra::test::get;
using hydra::test::post;
using hydra::test::Reply;

asio::awaitable<void> sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// A registered Hydra service with an HTTP server, its io_context run by a background thread
// once started so that the test thread can act as a blocking client.
struct Served {
  asio::io_context io;
  hydra::Hydra hydra{io.get_executor()};
  hydra::http::Server server;
  std::optional<hydra::http::Service> service;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  std::atomic<int> slow_started{0};

  Served(const RedisServer& redis, const std::string& name, hydra::http::ServerOptions options,
         boost::json::value port = 0)
      : server(io.get_executor(), std::move(options)) {
    add_routes();
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await hydra.init(service_document(redis, name, port));
      co_await hydra.register_service();
    });
    service.emplace(hydra, server);
    run_on(io, [&]() -> asio::awaitable<void> { co_await service->start(); });
    guard.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
  }

  template <class F>
  auto on_io(F make) {
    return asio::co_spawn(io, make(), asio::use_future).get();
  }

  ~Served() {
    try {
      on_io([&]() -> asio::awaitable<void> {
        co_await hydra.shutdown();
        co_await server.stop();
      });
    } catch (...) {
    }
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  void add_routes() {
    server.route("get", "/v1/items/:id", [](Request& req) -> asio::awaitable<Response> {
      boost::json::object result;
      result["id"] = req.params.at("id");
      boost::json::object query;
      for (const auto& [k, v] : req.query)
        query[k] = v;
      result["query"] = query;
      result["path"] = req.path;
      co_return Response::ok(result);
    });
    server.route("post", "/v1/echo", [](Request& req) -> asio::awaitable<Response> {
      auto body = req.json();
      if (!body) co_return Response::bad_request("body required");
      co_return Response::created(*body);
    });
    server.route("get", "/v1/throw", [](Request&) -> asio::awaitable<Response> {
      throw std::runtime_error("boom");
      co_return Response::ok();
    });
    server.route("get", "/v1/slow", [this](Request&) -> asio::awaitable<Response> {
      ++slow_started;
      co_await sleep(600ms);
      co_return Response::text(200, "slow done", "text/plain");
    });
  }
};

hydra::http::ServerOptions small_limits() {
  hydra::http::ServerOptions o;
  o.max_header_bytes = 2048;
  o.max_body_bytes = 1024;
  o.idle_timeout = 400ms;
  o.request_timeout = 2s;
  o.shutdown_timeout = 3s;
  return o;
}

}  // namespace

TEST(HttpServer, ListensOnTheReservedPortAndRegistersRoutes) {
  RedisServer redis;
  Served s(redis, "webby", small_limits());
  EXPECT_EQ(s.server.port(), s.hydra.service_port());
  // The reserved socket was handed over exactly once.
  EXPECT_FALSE(s.hydra.take_reserved_listener());
  auto all = s.on_io([&]() -> asio::awaitable<std::map<std::string, std::vector<std::string>>> {
    co_return co_await s.hydra.get_all_service_routes();
  });
  ASSERT_TRUE(all.count("webby"));
  std::set<std::string> routes(all["webby"].begin(), all["webby"].end());
  std::set<std::string> expected;
  for (const char* r : {"[get]/v1/items/:id", "[post]/v1/echo", "[get]/v1/throw", "[get]/v1/slow",
                        "[get]/webby", "[get]/webby/", "[get]/webby/:rest"})
    expected.insert(r);
  EXPECT_EQ(routes, expected);
}

TEST(HttpServer, FixedPortIsBoundNormally) {
  RedisServer redis;
  const auto port = hydra::test::free_port();
  Served s(redis, "fixed", small_limits(), boost::json::value(std::to_string(port)));
  EXPECT_EQ(s.server.port(), port);
  Conn c(port);
  c.send(get("/v1/items/1"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, RequestsResponsesAndKeepAlive) {
  RedisServer redis;
  Served s(redis, "webby", small_limits());
  Conn c(s.server.port());

  // Path params (decoded) and query; the same connection serves every request below.
  c.send(get("/v1/items/a%20b?x=1&y=two+words&z=%2F"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"statusCode":200,"statusMessage":"OK","statusDescription":)"
                     R"("Request succeeded without error","result":{"id":"a b","query":)"
                     R"({"x":"1","y":"two words","z":"/"},"path":"/v1/items/a b"}})");
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->headers["x-process-id"], std::to_string(::getpid()));
  EXPECT_TRUE(std::regex_match(r->headers["x-response-time"], std::regex(R"(\d+\.\d{3}ms)")))
      << r->headers["x-response-time"];
  EXPECT_EQ(r->headers["access-control-allow-origin"], "*");
  EXPECT_EQ(r->headers["x-content-type-options"], "nosniff");

  // JSON body echoed.
  c.send(post("/v1/echo", R"({"b":[1,2],"a":"x"})"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"statusCode":201,"statusMessage":"Created","statusDescription":)"
                     R"("Resource created","result":{"b":[1,2],"a":"x"}})");

  // Invalid JSON body → 400 before the handler, connection kept.
  c.send(post("/v1/echo", R"({"b":)"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find(R"("statusCode":400)"), std::string::npos);

  // Unknown route → 404 envelope.
  c.send(get("/nope"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, hydra::http::Response::not_found().body);

  // Wrong method on a known path is also unrouted.
  c.send(post("/v1/items/1", "{}"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  // A throwing handler → 500 envelope, and the connection survives.
  c.send(get("/v1/throw"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, hydra::http::Response::server_error().body);

  // CORS preflight.
  c.send(
      "OPTIONS /v1/echo HTTP/1.1\r\nHost: x\r\nOrigin: http://a.example\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: "
      "content-type,x-token\r\n\r\n");
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->headers["access-control-allow-origin"], "*");
  EXPECT_EQ(r->headers["access-control-allow-methods"], "GET,HEAD,PUT,PATCH,POST,DELETE");
  EXPECT_EQ(r->headers["access-control-allow-headers"], "content-type,x-token");

  // HEAD uses the GET route without a body; pipelined requests are answered in order.
  c.send("HEAD /v1/items/7 HTTP/1.1\r\nHost: x\r\n\r\n" + get("/v1/items/8"));
  r = c.read(5s, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GT(std::stoul(r->headers["content-length"]), 0u);
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(R"("id":"8")"), std::string::npos);

  EXPECT_EQ(s.server.stats().connections, 1u);

  // Connection: close is honoured.
  c.send(get("/v1/items/9", "Connection: close\r\n"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST(HttpServer, LimitsAndMalformedRequests) {
  RedisServer redis;
  Served s(redis, "limits", small_limits());
  const auto port = s.server.port();
  {
    Conn c(port);
    c.send(get("/v1/items/1", "X-Big: " + std::string(4096, 'a') + "\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_TRUE(c.closed_within(3s));
  }
  {
    Conn c(port);
    c.send(post("/v1/echo", "\"" + std::string(2000, 'b') + "\""));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_NE(r->body.find(R"("statusMessage":"Request Entity Too Large")"), std::string::npos);
    EXPECT_TRUE(c.closed_within(3s));
  }
  {
    Conn c(port);
    c.send("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.closed_within(3s));
  }
  {
    Conn c(port);
    c.send(std::string("GET /v1/items/1 HTTP/1.1\r\nBad Header Line\r\n\r\n"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  {
    // The server is still fine for the next connection.
    Conn c(port);
    c.send(get("/v1/items/2"));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // Idle after a response: closed silently after the idle timeout.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_within(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    EXPECT_TRUE(c.pending().empty());
  }
  {
    // A connection that never sends anything gets 408, then is closed.
    Conn c(port);
    auto r = c.read(3s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 408);
    EXPECT_TRUE(c.closed_within(3s));
  }
  {
    // A request that stalls half-way gets 408 after the request timeout.
    Conn c(port);
    c.send("GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n");
    auto r = c.read(5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 408);
  }
}

TEST(HttpServer, GracefulStopFinishesInFlightRequests) {
  RedisServer redis;
  Served s(redis, "graceful", small_limits());
  const auto port = s.server.port();
  const std::string iid = s.hydra.instance_id();
  auto run = asio::co_spawn(s.io, s.service->run(), asio::use_future);

  Conn idle(port);  // connected, no request: closed at once by the stop
  Conn busy(port);
  busy.send(get("/v1/slow"));
  while (s.slow_started == 0)
    std::this_thread::sleep_for(5ms);

  s.service->request_stop();
  // Presence goes first, while the slow request is still running.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(redis.cli({"EXISTS", "hydra:service:graceful:" + iid + ":presence"}), "0");
  EXPECT_TRUE(idle.closed_within(1s));

  auto r = busy.read(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(busy.closed_within(2s));

  ASSERT_EQ(run.wait_for(5s), std::future_status::ready);
  run.get();
  // Nothing listens any more.
  EXPECT_THROW(Conn{port}, std::runtime_error);
}

// With single_threaded_executors (the io_context runs on one thread) connections have no strand:
// many concurrent keep-alive connections are each answered in order, idle ones still time out,
// and a graceful stop still closes idle connections and finishes busy ones.
TEST(HttpServer, SingleThreadedExecutorsWithoutStrands) {
  RedisServer redis;
  auto options = small_limits();
  options.single_threaded_executors = true;
  Served s(redis, "one-thread", options);
  const auto port = s.server.port();
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 16; ++c) {
    clients.push_back(std::async(std::launch::async, [port, c] {
      Conn conn(port);
      int good = 0;
      for (int i = 0; i < 50; ++i) {
        const std::string id = std::to_string(c) + "-" + std::to_string(i);
        conn.send(get("/v1/items/" + id));
        auto r = conn.read(5s);
        if (!r || r->status != 200) continue;
        auto body = hydra::test::json_of(r->body);
        if (std::string(body.at("result").at("id").as_string()) == id) ++good;
      }
      return good;
    }));
  }
  for (auto& c : clients)
    EXPECT_EQ(c.get(), 50);

  Conn idle(port);
  EXPECT_TRUE(idle.closed_within(2s));  // idle_timeout is 400 ms

  auto run = asio::co_spawn(s.io, s.service->run(), asio::use_future);
  Conn waiting(port);
  Conn busy(port);
  busy.send(get("/v1/slow"));
  while (s.slow_started == 0)
    std::this_thread::sleep_for(5ms);
  s.service->request_stop();
  EXPECT_TRUE(waiting.closed_within(1s));
  auto r = busy.read(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow done");
  ASSERT_EQ(run.wait_for(5s), std::future_status::ready);
  run.get();
}

// Handlers run on whichever thread runs the io_context: a handler that blocks its thread does
// not stop the other thread from accepting and serving.
TEST(HttpServer, ScalesAcrossThreads) {
  asio::io_context io;
  hydra::http::Server server(io.get_executor());
  std::mutex mutex;
  std::set<std::thread::id> threads;
  server.route("get", "/v1/busy", [&](Request&) -> asio::awaitable<Response> {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(50ms);  // deliberately blocks this thread
    co_return Response::ok();
  });
  server.listen("127.0.0.1", 0);
  auto port = server.port();
  auto guard = asio::make_work_guard(io);
  std::thread a([&] { io.run(); });
  std::thread b([&] { io.run(); });
  std::vector<std::future<int>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [port] {
      Conn c(port);
      c.send(get("/v1/busy"));
      auto r = c.read();
      return r ? r->status : 0;
    }));
  }
  for (auto& c : calls)
    EXPECT_EQ(c.get(), 200);
  asio::co_spawn(io, server.stop(), asio::use_future).get();
  guard.reset();
  io.stop();
  a.join();
  b.join();
  EXPECT_EQ(threads.size(), 2u);
}

namespace {

// A server whose one WebSocket route sends a message of `bytes` every millisecond (or, with a
// `burst`, that many messages at once and then nothing), for at most `lasting`, while the
// connection is open, then reports what happened. No Redis involved.
struct Flooding {
  struct Outcome {
    std::chrono::milliseconds took;
    int sent;
    bool still_open;
  };
  asio::io_context io;
  hydra::http::Server server{io.get_executor()};
  std::promise<Outcome> outcome;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;

  Flooding(std::chrono::milliseconds stalled_write_timeout, std::size_t bytes,
           std::chrono::milliseconds lasting, int burst = 0) {
    hydra::http::WebSocketOptions options;
    options.stalled_write_timeout = stalled_write_timeout;
    options.max_queued_messages = 1'000'000;  // out of the way: only the stall may end it
    server.websocket(
        "/",
        [this, bytes, lasting, burst](hydra::http::WebSocket ws,
                                      Request&) -> asio::awaitable<void> {
          const auto start = std::chrono::steady_clock::now();
          const std::string message(bytes, 'x');
          asio::steady_timer tick(co_await asio::this_coro::executor);
          int sent = 0;
          for (; sent < burst; ++sent)
            ws.send(message);
          while (ws.is_open() && std::chrono::steady_clock::now() - start < lasting) {
            if (burst == 0) {
              ws.send(message);
              ++sent;
            }
            tick.expires_after(1ms);
            co_await tick.async_wait(asio::use_awaitable);
          }
          outcome.set_value({std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start),
                             sent, ws.is_open()});
        },
        options);
    server.listen("127.0.0.1", 0);
    guard.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
  }

  ~Flooding() {
    try {
      asio::co_spawn(io, server.stop(), asio::use_future).get();
    } catch (...) {
    }
    guard.reset();
    io.stop();
    thread.join();
  }
};

// A WebSocket client that never reads, with a fixed receive buffer of `receive_buffer` bytes,
// connected to `port`.
struct SilentClient {
  asio::io_context io;
  boost::beast::websocket::stream<asio::ip::tcp::socket> ws{io};

  SilentClient(std::uint16_t port, int receive_buffer) {
    ws.next_layer().open(asio::ip::tcp::v4());
    ws.next_layer().set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    ws.handshake("127.0.0.1", "/");
  }
};

// The server's outcome once its handler ended, within 15 s (nullopt when it did not).
std::optional<Flooding::Outcome> outcome_of(Flooding& server) {
  auto done = server.outcome.get_future();
  if (done.wait_for(15s) != std::future_status::ready) return std::nullopt;
  return done.get();
}

}  // namespace

// A client that stops reading is dropped once the server's writes stop completing, however
// much the socket buffers take (the message count limit is out of the way here), and with a
// reset: it does not get a FIN queued behind data it will never read.
TEST(HttpServer, AWebSocketClientThatStopsReadingIsDroppedWhenWritesStall) {
  Flooding server(300ms, 16 * 1024, 20s);
  SilentClient client(server.server.port(), 64 * 1024);
  const auto outcome = outcome_of(server);
  ASSERT_TRUE(outcome) << "the server kept writing to a client that reads nothing";
  EXPECT_FALSE(outcome->still_open);
  EXPECT_LT(outcome->took, 10s);
  // The client sees the reset (not the data still buffered for it, then an end of stream).
  auto& socket = client.ws.next_layer();
  socket.non_blocking(true);
  boost::system::error_code ec;
  std::array<char, 4096> scratch{};
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    socket.read_some(asio::buffer(scratch), ec);
    if (ec && ec != asio::error::would_block) break;
    if (ec) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ec, asio::error::connection_reset) << ec.message();
}

// A client that takes nothing at all is dropped even when every message fits in the socket
// buffers, so that no write of the server's ever waits: what the kernel holds for the client
// and nobody acknowledges counts as waiting too.
TEST(HttpServer, AWebSocketClientThatTakesNothingIsDroppedWhenTheKernelHoldsTheRest) {
  Flooding server(300ms, 8 * 1024, 20s, 2);
  SilentClient client(server.server.port(), 4096);
  const auto outcome = outcome_of(server);
  ASSERT_TRUE(outcome) << "the server kept a client that took nothing";
  EXPECT_FALSE(outcome->still_open);
  EXPECT_LT(outcome->took, 10s);
}

// The same server with a client that reads: nothing is dropped, however long it goes on.
TEST(HttpServer, AWebSocketClientThatReadsIsNotDroppedForStalledWrites) {
  Flooding server(300ms, 1024, 1500ms);
  hydra::test::WsClient client(server.server.port());
  const auto outcome = outcome_of(server);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->still_open);
  EXPECT_GT(outcome->sent, 100);
  EXPECT_TRUE(client.read(5s));
}
