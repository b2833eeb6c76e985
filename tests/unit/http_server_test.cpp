// The HTTP layer's pure parts: envelope bytes, route bookkeeping, query parsing, timing format.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "http/write_watch.hpp"
#include "hydra/config.hpp"
#include "hydra/error.hpp"
#include "hydra/http/server.hpp"

using hydra::http::Response;

TEST(HttpEnvelope, OkIsNodesExactBytes) {
  boost::json::object result;
  result["greeting"] = "hi";
  Response r = Response::ok(result);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"statusCode":200,"statusMessage":"OK","statusDescription":)"
                    R"("Request succeeded without error","result":{"greeting":"hi"}})");
}

TEST(HttpEnvelope, NotFoundAndReasons) {
  EXPECT_EQ(Response::not_found().body,
            R"({"statusCode":404,"statusMessage":"Not Found","statusDescription":)"
            R"("The requested resource was not found on the server","result":{}})");
  EXPECT_EQ(Response::bad_request("missing id").body,
            R"({"statusCode":400,"statusMessage":"Bad Request","statusDescription":)"
            R"("Request is invalid, missing parameters?","result":{"reason":"missing id"}})");
  EXPECT_EQ(Response::server_error().body,
            R"({"statusCode":500,"statusMessage":"Server Error","statusDescription":)"
            R"("An error occurred on the server","result":{}})");
  // sendUnavailableError is a 502 in Node.
  EXPECT_EQ(Response::unavailable().status, 502);
  EXPECT_NE(Response::unavailable().body.find(R"("statusMessage":"Connection Refused")"),
            std::string::npos);
  EXPECT_EQ(Response::too_large().status, 413);
  EXPECT_EQ(Response::created().status, 201);
  EXPECT_EQ(Response::no_content().status, 204);
  EXPECT_TRUE(Response::no_content().body.empty());
}

TEST(HttpEnvelope, ObjectAssignOrderAndUnknownCode) {
  boost::json::object data;
  data["extra"] = 1;
  data["statusCode"] = 299;  // Object.assign overwrites in place
  EXPECT_EQ(Response::envelope(299, data).body,
            R"({"statusCode":299,"statusMessage":"299","statusDescription":)"
            R"("Unknown statusCode 299","result":{},"extra":1})");
}

TEST(HttpEnvelope, JsonAndText) {
  boost::json::value v = boost::json::parse(R"({"b":1,"a":[1.5,"x/y"]})");
  Response j = Response::json(418, v);
  EXPECT_EQ(j.status, 418);
  EXPECT_EQ(j.body, R"({"b":1,"a":[1.5,"x/y"]})");
  Response t = Response::text(200, "hello", "text/html");
  EXPECT_EQ(t.body, "hello");
  EXPECT_EQ(t.content_type, "text/html");
}

TEST(HttpHeaders, CaseInsensitive) {
  hydra::http::Headers h;
  h.add("Content-Type", "a");
  h.set("content-type", "b");
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  EXPECT_EQ(h.get("CONTENT-TYPE"), "b");
  EXPECT_EQ(h.get("x-MULTI"), "1");
  EXPECT_FALSE(h.get("missing"));
  h.erase("X-MULTI");
  EXPECT_FALSE(h.contains("x-multi"));
}

TEST(HttpRequest, JsonBody) {
  hydra::http::Request r;
  EXPECT_FALSE(r.json());
  r.body = R"({"a":1})";
  ASSERT_TRUE(r.json());
  EXPECT_EQ(r.json()->at("a").as_int64(), 1);
  r.body = "{bad";
  EXPECT_FALSE(r.json());
  r.headers.add("X-Thing", "v");
  EXPECT_EQ(r.header("x-thing"), "v");
  EXPECT_EQ(r.header("nope"), "");
}

TEST(HttpQuery, DecodesLikeNode) {
  auto q = hydra::http::detail::parse_query("a=1&b=x+y&c=%2Fp%20q&flag&&a=2&bad=%zz&e=");
  EXPECT_EQ(q.at("a"), "2");  // last wins
  EXPECT_EQ(q.at("b"), "x y");
  EXPECT_EQ(q.at("c"), "/p q");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("bad"), "%zz");
  EXPECT_EQ(q.at("e"), "");
  EXPECT_EQ(q.size(), 6u);
  EXPECT_TRUE(hydra::http::detail::parse_query("").empty());
}

TEST(HttpResponseTime, ThreeDecimals) {
  using namespace std::chrono_literals;
  EXPECT_EQ(hydra::http::detail::format_response_time(512us), "0.512ms");
  EXPECT_EQ(hydra::http::detail::format_response_time(12345678ns), "12.346ms");
  EXPECT_EQ(hydra::http::detail::format_response_time(0ns), "0.000ms");
}

TEST(HttpServer, RoutesAreRegisteredLowerCase) {
  boost::asio::io_context io;
  hydra::http::Server server(io.get_executor());
  auto h = [](hydra::http::Request&) -> boost::asio::awaitable<Response> {
    co_return Response::ok();
  };
  server.route("GET", "/v1/x/:id", h);
  server.route("Post", "/v1/x", h);
  server.route("all", "/v1/any(/:tab)", h);
  auto routes = server.routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0], "[get]/v1/x/:id");
  EXPECT_EQ(routes[1], "[post]/v1/x");
  EXPECT_EQ(routes[2], "[_all]/v1/any(/:tab)");
  EXPECT_THROW(server.route("get", "no-slash", h), hydra::Error);
  EXPECT_THROW(server.route("get", "/v1/(unbalanced", h), hydra::Error);
  EXPECT_EQ(server.port(), 0);
}

TEST(HttpServer, ReservedPortStaysHeldUntilAdopted) {
  hydra::ResolvedPort reserved =
      hydra::resolve_and_reserve_service_port("42000-42100", "127.0.0.1");
  ASSERT_GE(reserved.fd, 0);
  EXPECT_FALSE(reserved.fixed);
  EXPECT_GE(reserved.port, 42000);
  // Nobody else can take the port in between: the plain check now reports it busy.
  EXPECT_THROW(
      hydra::resolve_service_port(
          std::to_string(reserved.port) + "-" + std::to_string(reserved.port), "127.0.0.1"),
      hydra::Error);
  boost::asio::io_context io;
  hydra::http::Server server(io.get_executor());
  server.adopt(reserved.fd);
  EXPECT_EQ(server.port(), reserved.port);
  // A fixed port is never reserved.
  EXPECT_EQ(hydra::resolve_and_reserve_service_port("5001", "").fd, -1);
}

TEST(WebSocketWriteWatch, DropsOnlyWhenDataWaitsAndNothingMoved) {
  using hydra::http::judge_write_progress;
  using hydra::http::WatchVerdict;
  using hydra::http::WriteProgress;
  // Nothing waits: the watch ends, whatever happened before.
  EXPECT_EQ(judge_write_progress({3, 100}, {3, 0}, false), WatchVerdict::stop);
  EXPECT_EQ(judge_write_progress({3, 0}, {3, 0}, false), WatchVerdict::stop);
  // The writer waits on a write that never completes, with the kernel's bytes stuck.
  EXPECT_EQ(judge_write_progress({3, 5000}, {3, 5000}, true), WatchVerdict::drop);
  // The writer is done, but the kernel still holds bytes nobody acknowledged: the peer's window
  // stayed shut, or its link is gone.
  EXPECT_EQ(judge_write_progress({7, 640000}, {7, 640000}, false), WatchVerdict::drop);
  // Movement of either kind: a write completed, or bytes were acknowledged (or taken in).
  EXPECT_EQ(judge_write_progress({3, 5000}, {4, 5000}, true), WatchVerdict::again);
  EXPECT_EQ(judge_write_progress({3, 5000}, {3, 4000}, true), WatchVerdict::again);
  EXPECT_EQ(judge_write_progress({7, 640000}, {7, 1000}, false), WatchVerdict::again);
  EXPECT_EQ(judge_write_progress({3, 0}, {3, 20000}, true), WatchVerdict::again);
  // A writer with a message in hand and an empty kernel queue that did not move: stalled too
  // (the write has not even reached the kernel).
  EXPECT_EQ(judge_write_progress({3, 0}, {3, 0}, true), WatchVerdict::drop);
}
