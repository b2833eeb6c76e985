// makeAPIRequest's pure parts: UMF checks, request building and Node's result objects.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "hydra/http/client.hpp"
#include "hydra/json.hpp"

namespace bj = boost::json;
using hydra::http::prepare_request;
using hydra::http::PreparedRequest;
using hydra::http::RequestOptions;
using hydra::http::response_object;

namespace {

bj::object umf(const std::string& text) {
  return bj::parse(text).as_object();
}

std::string reason_of(const std::variant<PreparedRequest, bj::object>& r) {
  const auto* o = std::get_if<bj::object>(&r);
  if (!o) return "";
  EXPECT_EQ(o->at("statusCode"), 400);
  EXPECT_EQ(o->at("statusMessage"), "Bad Request");
  return std::string(o->at("result").at("reason").as_string());
}

std::string header(const PreparedRequest& p, const std::string& name) {
  for (const auto& [n, v] : p.headers)
    if (n == name) return v;
  return "<none>";
}

}  // namespace

TEST(HttpClientPrepare, NodeBadRequestReasons) {
  RequestOptions o;
  EXPECT_EQ(reason_of(prepare_request(umf(R"({"to":"svc:[get]/x","from":"a:/"})"), o)),
            R"(UMF message requires "to", "from" and "body" fields)");
  EXPECT_EQ(reason_of(prepare_request(umf(R"({"to":"svc","from":"a:/","body":{}})"), o)),
            "route field has invalid number of routable segments");
  EXPECT_EQ(reason_of(prepare_request(umf(R"({"to":"svc:/x","from":"a:/","body":{}})"), o)),
            "HTTP method not specified in `to` field");
  EXPECT_EQ(reason_of(prepare_request(umf(R"({"to":"svc:[]/x","from":"a:/","body":{}})"), o)),
            "HTTP method not specified in `to` field");
  EXPECT_EQ(reason_of(prepare_request(umf(R"({"to":"svc:[get]","from":"a:/","body":{}})"), o)),
            "message `to` field does not specify a valid route");
  auto bad = prepare_request(umf(R"({"to":"svc:[get]/a b","from":"a:/","body":{}})"), o);
  EXPECT_FALSE(reason_of(bad).empty());
}

TEST(HttpClientPrepare, GetHasNoBodyAndPostHasJson) {
  auto r = prepare_request(
      umf(R"({"to":"iid1@svc:[get]/v1/x?y=1:2","frm":"a:/","bdy":{"k":1},"hdr":{"X-A":"b","n":5},"aut":"tok"})"),
      RequestOptions{});
  ASSERT_TRUE(std::holds_alternative<PreparedRequest>(r));
  auto p = std::get<PreparedRequest>(r);
  EXPECT_EQ(p.service_name, "svc");
  EXPECT_EQ(p.instance, "iid1");
  EXPECT_EQ(p.method, "GET");
  EXPECT_EQ(p.target, "/v1/x?y=1:2");
  EXPECT_FALSE(p.has_body);
  EXPECT_EQ(header(p, "content-type"), "<none>");
  EXPECT_EQ(header(p, "X-A"), "b");
  EXPECT_EQ(header(p, "n"), "5");
  EXPECT_EQ(header(p, "Authorization"), "tok");
  EXPECT_EQ(p.timeout_seconds, 30);

  auto r2 = prepare_request(
      umf(R"({"to":"svc:[post]/v1/y","from":"a:/","body":{"b":"é/","n":1.5},"tmo":2})"),
      RequestOptions{});
  auto p2 = std::get<PreparedRequest>(r2);
  EXPECT_EQ(p2.method, "POST");
  EXPECT_TRUE(p2.has_body);
  EXPECT_EQ(p2.body, R"({"b":"é/","n":1.5})");
  EXPECT_EQ(header(p2, "content-type"), "application/json");
  EXPECT_EQ(p2.timeout_seconds, 2);

  RequestOptions o;
  o.timeout_seconds = 0.5;
  auto p3 = std::get<PreparedRequest>(prepare_request(
      umf(R"({"to":"svc:[patch]/z","from":"a:/","body":{},"tmo":2,"hdr":{"content-type":"application/x"}})"),
      o));
  EXPECT_EQ(p3.timeout_seconds, 0.5);
  EXPECT_EQ(header(p3, "content-type"), "application/x");
  EXPECT_EQ(p3.headers.size(), 1u);
}

TEST(HttpClientResult, JsonBodyMergedOverTheEnvelopeAndBodyWins) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("X-Custom", "abc");
  headers.emplace_back("Transfer-Encoding", "chunked");
  std::string body =
      R"({"statusCode":200,"statusMessage":"OK","statusDescription":"desc","result":{"method":"GET"}})";
  auto o = response_object(201, headers, body);
  EXPECT_EQ(
      hydra::json::stringify(o),
      R"({"statusCode":200,"statusMessage":"OK","statusDescription":"desc","result":{"method":"GET"},"headers":{"content-type":"application/json","x-custom":"abc","transfer-encoding":"chunked","content-length":)" +
          std::to_string(body.size()) + "}}");
}

TEST(HttpClientResult, StatusTextsFollowTheReportedCode) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("content-type", "application/json; charset=utf-8");
  auto o = response_object(200, headers, R"({"statusCode":404,"extra":[1]})");
  EXPECT_EQ(o.at("statusCode"), 404);
  EXPECT_EQ(o.at("statusMessage"), "Not Found");
  EXPECT_EQ(o.at("extra").as_array().size(), 1u);
  EXPECT_FALSE(o.contains("payLoad"));
  auto u = response_object(299, headers, "not json");
  EXPECT_EQ(u.at("statusMessage"), "299");
  EXPECT_EQ(u.at("statusDescription"), "Unknown statusCode 299");
  EXPECT_FALSE(u.contains("payLoad"));
}

TEST(HttpClientResult, NonJsonKeepsPayLoad) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", "text/plain");
  headers.emplace_back("Content-Length", "11");
  headers.emplace_back("Set-Cookie", "a=1");
  headers.emplace_back("Set-Cookie", "b=2");
  headers.emplace_back("X-Dup", "1");
  headers.emplace_back("x-dup", "2");
  auto o = response_object(200, headers, "plain hello");
  EXPECT_EQ(
      hydra::json::stringify(o),
      R"({"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{},"headers":{"content-type":"text/plain","content-length":11,"set-cookie":["a=1","b=2"],"x-dup":"1, 2"},"payLoad":"plain hello"})");
}

TEST(HttpClientResult, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
    EXPECT_TRUE(hydra::http::is_idempotent(m)) << m;
  for (const char* m : {"POST", "PATCH", "get"})
    EXPECT_FALSE(hydra::http::is_idempotent(m)) << m;
  auto e = hydra::http::error_object(503, "Unavailable x instances");
  EXPECT_EQ(e.at("statusCode"), 503);
  EXPECT_EQ(e.at("statusMessage"), "Service Unavailable");
  EXPECT_EQ(e.at("result").at("reason"), "Unavailable x instances");
}
