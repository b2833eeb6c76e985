// hydra-router's pure parts: route table matching, the shared WebSocket directory, per-second
// counters and Prometheus rendering, gzip, and configuration checks.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "gzip.hpp"
#include "hydra/error.hpp"
#include "metrics.hpp"
#include "route_table.hpp"
#include "router_config.hpp"
#include "ws_directory.hpp"

namespace bj = boost::json;
using hydra::router::RouteMatch;
using hydra::router::RouteTable;

namespace {

RouteTable sample_table() {
  RouteTable t;
  t.set_service("users", {"[get]/v1/users/:id", "[post]/v1/users", "[put]/v1/users/:id",
                          "[get]/users", "[get]/users/", "[get]/users/:rest"});
  t.set_service("files", {"[get]/v1/files/*path", "/v1/any(/:x)"});
  t.set_service("hydra-router", {"[get]/v1/router/version", "[get]/"});
  t.set_excluded("hydra-router");
  return t;
}

TEST(RouteTable, SplitsTheMethodPrefix) {
  EXPECT_EQ(hydra::router::split_route("[GET]/v1/x"),
            std::make_pair(std::string("get"), std::string("/v1/x")));
  EXPECT_EQ(hydra::router::split_route("/v1/x"),
            std::make_pair(std::string(), std::string("/v1/x")));
  EXPECT_EQ(hydra::router::split_route("[all]/v1/x").first, "");
  EXPECT_EQ(hydra::router::split_route("[]/v1/x").first, "");
}

TEST(RouteTable, MatchesPatternAndMethodAndKeepsTheTarget) {
  auto t = sample_table();
  auto m = t.match("GET", "/v1/users/7?full=1");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.service, "users");
  EXPECT_EQ(m.target, "/v1/users/7?full=1");
  EXPECT_EQ(m.pattern, "/v1/users/:id");
  // HEAD uses GET routes.
  EXPECT_EQ(t.match("head", "/v1/users/7").kind, RouteMatch::Kind::found);
  EXPECT_EQ(t.match("put", "/v1/users/7").kind, RouteMatch::Kind::found);
  EXPECT_EQ(t.match("post", "/v1/users").service, "users");
  // Splat and optional groups; no method prefix = any method.
  EXPECT_EQ(t.match("get", "/v1/files/a/b/c.txt").service, "files");
  EXPECT_EQ(t.match("delete", "/v1/any").service, "files");
  EXPECT_EQ(t.match("patch", "/v1/any/5").service, "files");
}

TEST(RouteTable, OtherMethodIs405WithTheAllowedMethods) {
  auto t = sample_table();
  auto m = t.match("delete", "/v1/users/7");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.service, "users");
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "PUT"}));
}

TEST(RouteTable, PrefixFallbackStripsTheServiceName) {
  auto t = sample_table();
  auto m = t.match("post", "/users/v1/other?q=1");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.service, "users");
  EXPECT_EQ(m.target, "/v1/other?q=1");
  EXPECT_TRUE(m.pattern.empty());
  // `/users` itself is an automatic route, forwarded unchanged (as Node's router does).
  m = t.match("get", "/users");
  EXPECT_EQ(m.target, "/users");
  EXPECT_EQ(m.pattern, "/users");
  // Unknown first segment: nothing.
  EXPECT_EQ(t.match("get", "/nobody/x").kind, RouteMatch::Kind::not_found);
}

TEST(RouteTable, RefererFallbackNeedsThePathToStartWithTheService) {
  auto t = sample_table();
  auto m = t.match("get", "/static/app.js", "http://gw.example/files/page");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.service, "files");
  EXPECT_EQ(m.target, "/static/app.js");
  // A referer that merely contains the name does not count (Node's indexOf would match).
  EXPECT_EQ(t.match("get", "/static/app.js", "http://gw.example/a/filesystem").kind,
            RouteMatch::Kind::not_found);
}

TEST(RouteTable, TheRouterItselfIsNeverATarget) {
  auto t = sample_table();
  EXPECT_EQ(t.match("get", "/v1/router/version").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(t.match("get", "/hydra-router/x").kind, RouteMatch::Kind::not_found);
}

TEST(RouteTable, InvalidPatternsAreSkippedAndReported) {
  RouteTable t;
  auto invalid = t.set_service("bad", {"[get]/v1/ok", "[get]/v1/(broken", "no-slash"});
  EXPECT_EQ(invalid, (std::vector<std::string>{"[get]/v1/(broken", "no-slash"}));
  EXPECT_EQ(t.match("get", "/v1/ok").service, "bad");
}

TEST(RouteTable, ReplaceKeepsExternalRoutesAndRemovesGoneServices) {
  RouteTable t;
  t.set_external({{"legacy", {"[get]/old/:x"}}});
  t.replace({{"a", {"[get]/a"}}, {"b", {"[get]/b"}}});
  EXPECT_EQ(t.match("get", "/old/1").service, "legacy");
  EXPECT_EQ(t.match("get", "/b").service, "b");
  t.replace({{"a", {"[get]/a"}}});
  EXPECT_EQ(t.match("get", "/b").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(t.match("get", "/old/1").service, "legacy");
  t.remove_service("a");
  EXPECT_FALSE(t.has_service("a"));
  auto listed = t.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].first, "legacy");
}

TEST(WsDirectory, TracksLocalAndRemoteClients) {
  hydra::router::WsDirectory d("r1");
  d.add_local("c1");
  EXPECT_TRUE(d.is_local("c1"));
  EXPECT_EQ(d.router_of("c1"), "r1");

  bj::object add;
  add["routerID"] = "r2";
  add["clientID"] = "c2";
  d.apply("wsdir.add", add);
  EXPECT_EQ(d.router_of("c2"), "r2");
  EXPECT_EQ(bj::serialize(d.to_json()), R"({"r1":{"c1":1},"r2":{"c2":1}})");

  d.apply("wsdir.del", add);
  EXPECT_FALSE(d.router_of("c2"));

  bj::object dir;
  dir["routerID"] = "r3";
  dir["directory"] = bj::parse(R"({"x":1,"y":1})");
  d.apply("wsdir.dir", dir);
  EXPECT_EQ(d.router_of("y"), "r3");
  bj::object rem;
  rem["routerID"] = "r3";
  d.apply("wsdir.rem", rem);
  EXPECT_FALSE(d.router_of("x"));

  d.remove_local("c1");
  EXPECT_FALSE(d.router_of("c1"));
}

TEST(WsDirectory, RoutersThatAreGoneAreForgotten) {
  hydra::router::WsDirectory d("r1");
  d.add_local("mine");
  for (const char* router : {"r2", "r3"}) {
    bj::object add;
    add["routerID"] = router;
    add["clientID"] = std::string("client-of-") + router;
    d.apply("wsdir.add", add);
  }
  EXPECT_EQ(d.remote_routers(), (std::vector<std::string>{"r2", "r3"}));
  EXPECT_EQ(d.retain_routers({"r1", "r3"}), 1u);
  EXPECT_FALSE(d.router_of("client-of-r2"));
  EXPECT_EQ(d.router_of("client-of-r3"), "r3");
  // Our own clients stay even if our presence is momentarily missing.
  EXPECT_EQ(d.retain_routers({}), 1u);
  EXPECT_EQ(d.router_of("mine"), "r1");
}

TEST(WsDirectory, ShareRequestsAreAnsweredAndOwnMessagesIgnored) {
  hydra::router::WsDirectory d("r1");
  d.add_local("c1");
  bj::object sha;
  sha["routerID"] = "r9";
  auto action = d.apply("wsdir.sha", sha);
  EXPECT_TRUE(action.share);
  EXPECT_EQ(action.reply_to, "r9");
  EXPECT_EQ(bj::serialize(d.local_json()), R"({"c1":1})");

  bj::object own;
  own["routerID"] = "r1";
  own["clientID"] = "ghost";
  EXPECT_FALSE(d.apply("wsdir.sha", own).share);
  d.apply("wsdir.rem", own);  // our own directory is not removed by our own broadcast
  EXPECT_TRUE(d.is_local("c1"));
  // Malformed bodies change nothing.
  bj::object bad;
  bad["routerID"] = 5;
  d.apply("wsdir.add", bad);
  EXPECT_EQ(bj::serialize(d.to_json()), R"({"r1":{"c1":1}})");
}

TEST(SecondCounters, CountsPerSecondOverTheLastHour) {
  hydra::router::SecondCounters c;
  const std::int64_t t0 = 1'800'000'000;
  c.add("svc", t0);
  c.add("svc", t0);
  c.add("svc", t0 + 1, 3);
  auto snap = c.snapshot(t0 + 1);
  ASSERT_EQ(snap["svc"].size(), 3600u);
  EXPECT_EQ(snap["svc"][3599], 3u);
  EXPECT_EQ(snap["svc"][3598], 2u);
  EXPECT_EQ(c.sum_last("svc", t0 + 1, 60), 5u);
  // An hour later t0's slot belongs to t0+3600; t0+1 is the oldest second still counted.
  c.add("svc", t0 + 3600);
  EXPECT_EQ(c.sum_last("svc", t0 + 3600, 3600), 4u);
  EXPECT_EQ(c.snapshot(t0 + 3600)["svc"][3599], 1u);
  EXPECT_EQ(c.snapshot(t0 + 3600)["svc"][0], 3u);
  // Two hours later everything old reads as zero.
  EXPECT_EQ(c.sum_last("svc", t0 + 7300, 3600), 0u);
  EXPECT_EQ(c.sum_last("nobody", t0, 60), 0u);
  EXPECT_EQ(c.to_json(t0 + 3600).at("svc").as_array().size(), 3600u);
}

TEST(SecondCounters, KeysBeyondTheLimitShareOneCounter) {
  hydra::router::SecondCounters c;
  const std::int64_t t0 = 1'800'000'000;
  for (std::size_t i = 0; i < hydra::router::SecondCounters::kMaxKeys + 50; ++i)
    c.add("svc-" + std::to_string(i), t0);
  auto snap = c.snapshot(t0);
  EXPECT_EQ(snap.size(), hydra::router::SecondCounters::kMaxKeys);
  EXPECT_EQ(snap.at(hydra::router::SecondCounters::kOtherKey)[3599], 51u);
  // Known keys keep counting under their own name.
  c.add("svc-0", t0);
  EXPECT_EQ(c.sum_last("svc-0", t0, 1), 2u);
}

TEST(Metrics, RendersPrometheusText) {
  hydra::router::Metrics m;
  m.record_http("users", 200, std::chrono::microseconds(300));
  m.record_http("users", 200, std::chrono::milliseconds(2));
  m.record_http("users", 503, std::chrono::seconds(2));
  m.record_ws_message(true);
  m.set_ws_clients(3);
  m.set_redis_connected(true);
  const std::string text = m.render({{"version", "1.2.3"}, {"instance", "abc\"d"}});
  EXPECT_NE(text.find(R"(hydra_router_info{instance="abc\"d",version="1.2.3"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(hydra_router_http_requests_total{service="users",code="200"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(hydra_router_http_errors_total{service="users",code="503"} 1)"),
            std::string::npos);
  EXPECT_EQ(text.find(R"(hydra_router_http_errors_total{service="users",code="200"})"),
            std::string::npos);
  // Cumulative buckets: 0.3 ms is under 0.0005; 2 ms under 0.0025; all under +Inf.
  EXPECT_NE(text.find(R"(duration_seconds_bucket{service="users",le="0.0005"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(duration_seconds_bucket{service="users",le="0.0025"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(duration_seconds_bucket{service="users",le="1"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(duration_seconds_bucket{service="users",le="+Inf"} 3)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(duration_seconds_count{service="users"} 3)"), std::string::npos);
  EXPECT_NE(text.find("hydra_router_websocket_clients 3\n"), std::string::npos);
  EXPECT_NE(text.find(R"(hydra_router_websocket_messages_total{direction="in"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find("hydra_router_redis_connected 1\n"), std::string::npos);
  EXPECT_EQ(hydra::router::escape_label("a\\b\nc"), "a\\\\b\\nc");
}

TEST(Gzip, RoundTripsAndRejectsGarbageAndBombs) {
  const std::string text(10000, 'a');
  auto packed = hydra::router::gzip(text);
  EXPECT_LT(packed.size(), text.size() / 10);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_EQ(hydra::router::gunzip(packed, 1 << 20), text);
  EXPECT_FALSE(hydra::router::gunzip("not gzip", 1 << 20));
  EXPECT_FALSE(hydra::router::gunzip(packed.substr(0, packed.size() / 2), 1 << 20));
  // Decoding stops at the limit.
  EXPECT_FALSE(hydra::router::gunzip(packed, 1000));
  EXPECT_EQ(hydra::router::gunzip(hydra::router::gzip(""), 10), "");
}

TEST(Gzip, AcceptEncoding) {
  using hydra::router::accepts_gzip;
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
}

TEST(RouterConfig, ReadsTheRouterKeys) {
  auto doc = bj::parse(R"({"hydra":{},"externalRoutes":{"ext":["[get]/x"]},
    "routerToken":"5b8c1e2a-7d3f-4a6b-9c0d-1e2f3a4b5c6d","requestTimeout":2.5,
    "cors":{"Access-Control-Allow-Origin":"https://a.example"},"debugLogging":true,
    "forceMessageSignature":true,"signatureSharedSecret":"s","maxBodyBytes":2048,"threads":3,
    "busyPollMicroseconds":150,"websocketWriteTimeout":2.5})")
                 .as_object();
  auto c = hydra::router::parse_router_config(doc);
  EXPECT_EQ(c.external_routes.at("ext"), std::vector<std::string>{"[get]/x"});
  EXPECT_EQ(c.router_token, "5b8c1e2a-7d3f-4a6b-9c0d-1e2f3a4b5c6d");
  EXPECT_DOUBLE_EQ(c.request_timeout_seconds, 2.5);
  ASSERT_EQ(c.cors.size(), 1u);
  EXPECT_EQ(c.cors[0].second, "https://a.example");
  EXPECT_TRUE(c.debug_logging);
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.busy_poll_microseconds, 150u);
  EXPECT_DOUBLE_EQ(c.websocket_write_timeout_seconds, 2.5);

  auto defaults = hydra::router::parse_router_config(bj::object());
  EXPECT_DOUBLE_EQ(defaults.request_timeout_seconds, 5);
  EXPECT_TRUE(defaults.router_token.empty());
  EXPECT_FALSE(defaults.disable_router_endpoint);
  EXPECT_EQ(defaults.threads, 1u);
  EXPECT_EQ(defaults.busy_poll_microseconds, 0u);
  EXPECT_DOUBLE_EQ(defaults.websocket_write_timeout_seconds, 30);
  EXPECT_DOUBLE_EQ(
      hydra::router::parse_router_config(bj::parse(R"({"websocketWriteTimeout":0})").as_object())
          .websocket_write_timeout_seconds,
      0);
}

TEST(RouterConfig, CorsHeadersConfigureTheServer) {
  auto c = hydra::router::parse_router_config(
      bj::parse(R"({"cors":{"Access-Control-Allow-Origin":"https://a.example",
        "access-control-allow-methods":"GET,POST","Access-Control-Max-Age":"600",
        "Access-Control-Allow-Credentials":"true"}})")
          .as_object());
  hydra::http::CorsOptions cors;
  hydra::router::apply_cors(c, cors);
  EXPECT_EQ(cors.allow_origin, "https://a.example");
  EXPECT_EQ(cors.allow_methods, "GET,POST");
  EXPECT_EQ(cors.max_age, 600);
  EXPECT_TRUE(cors.allow_credentials);
}

TEST(RouterConfig, BadValuesNameTheField) {
  auto fails_with = [](const char* json, const char* field) {
    try {
      hydra::router::parse_router_config(bj::parse(json).as_object());
    } catch (const hydra::Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted " << json;
  };
  fails_with(R"({"routerToken":"secret"})", "routerToken");
  fails_with(R"({"requestTimeout":0})", "requestTimeout");
  fails_with(R"({"requestTimeout":"5"})", "requestTimeout");
  fails_with(R"({"externalRoutes":{"a":"[get]/x"}})", "externalRoutes.a");
  fails_with(R"({"forceMessageSignature":true})", "signatureSharedSecret");
  fails_with(R"({"requireWebsocketAuth":true})", "websocketAuthService");
  fails_with(R"({"cors":{"x":1}})", "cors.x");
  fails_with(R"({"refreshInterval":0})", "refreshInterval");
  fails_with(R"({"disableRouterEndpoint":"yes"})", "disableRouterEndpoint");
  fails_with(R"({"busyPollMicroseconds":-1})", "busyPollMicroseconds");
  fails_with(R"({"busyPollMicroseconds":20000})", "busyPollMicroseconds");
  fails_with(R"({"busyPollMicroseconds":"100"})", "busyPollMicroseconds");
  fails_with(R"({"websocketWriteTimeout":0.05})", "websocketWriteTimeout");
  fails_with(R"({"websocketWriteTimeout":-1})", "websocketWriteTimeout");
  fails_with(R"({"websocketWriteTimeout":4000})", "websocketWriteTimeout");
  EXPECT_TRUE(hydra::router::is_uuid4("5b8c1e2a-7d3f-4a6b-9c0d-1e2f3a4b5c6d"));
  EXPECT_FALSE(hydra::router::is_uuid4("5b8c1e2a-7d3f-1a6b-9c0d-1e2f3a4b5c6d"));
}

}  // namespace
