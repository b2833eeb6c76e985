// The HTTP heads written directly (src/http/wire.cpp) against the bytes Beast's serializer writes
// for the same message built field by field, as the server and ApiClient did before.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/ostream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <random>
#include <sstream>

#include "http/wire.hpp"
#include "hydra/text.hpp"

namespace bhttp = boost::beast::http;
using hydra::http::detail::append_request_head;
using hydra::http::detail::append_response_head;
using hydra::http::detail::FieldView;

namespace {

template <class Message>
std::string beast_bytes(Message& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

// The response as the server built it with Beast: fields in order, Content-Length set (or
// erased when bodiless), then keep_alive().
std::string beast_response(unsigned version, unsigned status,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           bool keep, bool bodiless, const std::string& body) {
  bhttp::response<bhttp::string_body> out;
  out.version(version);
  out.result(status);
  if (bhttp::obsolete_reason(out.result()) == "<unknown-status>") out.reason("Unknown");
  for (const auto& [name, value] : fields)
    out.insert(name, value);
  if (bodiless) {
    out.erase(bhttp::field::content_length);
  } else {
    out.content_length(body.size());
    out.body() = body;
  }
  out.keep_alive(keep);
  return beast_bytes(out);
}

std::string direct_response(unsigned version, unsigned status,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            bool keep, bool bodiless, const std::string& body) {
  std::vector<FieldView> views;
  for (const auto& [name, value] : fields)
    views.emplace_back(name, value);
  std::string out;
  append_response_head(out, version, status, views, keep, bodiless, body.size());
  if (!bodiless) out += body;
  return out;
}

// The request as ApiClient built it with Beast.
std::string beast_request(const std::string& method, const std::string& target,
                          const std::string& host,
                          const std::vector<std::pair<std::string, std::string>>& fields,
                          bool has_body, const std::string& body) {
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  auto verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown)
    req.method_string(method);
  else
    req.method(verb);
  req.target(target);
  req.set(bhttp::field::host, host);
  for (const auto& [name, value] : fields) {
    if (hydra::ascii_iequals(name, "host"))
      req.set(bhttp::field::host, value);
    else
      req.insert(name, value);
  }
  if (has_body) {
    req.body() = body;
    req.content_length(body.size());
  }
  return beast_bytes(req);
}

std::string direct_request(const std::string& method, const std::string& target,
                           const std::string& host,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           bool has_body, const std::string& body) {
  std::string out;
  append_request_head(out, method, target, host, fields, has_body, body.size());
  if (has_body) out += body;
  return out;
}

TEST(HttpWire, ATypicalResponseIsByteForByteBeasts) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"x-process-id", "42"}, {"Content-Type", "application/json"}, {"X-Response-Time", "0.123ms"}};
  const std::string body = R"({"statusCode":200})";
  EXPECT_EQ(direct_response(11, 200, fields, true, false, body),
            "HTTP/1.1 200 OK\r\nx-process-id: 42\r\nContent-Type: application/json\r\n"
            "X-Response-Time: 0.123ms\r\nContent-Length: 18\r\n\r\n" +
                body);
  EXPECT_EQ(direct_response(11, 200, fields, true, false, body),
            beast_response(11, 200, fields, true, false, body));
  EXPECT_EQ(direct_response(11, 799, {}, false, false, ""),
            "HTTP/1.1 799 Unknown\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpWire, ConnectionTokensFollowBeastsKeepAliveRules) {
  const char* values[] = {"close",
                          "keep-alive",
                          "Upgrade",
                          "upgrade, close",
                          " Keep-Alive , foo ",
                          "close, keep-alive, x",
                          ""};
  for (unsigned version : {10u, 11u}) {
    for (bool keep : {true, false}) {
      for (const char* value : values) {
        std::vector<std::pair<std::string, std::string>> fields = {
            {"A", "1"}, {"Connection", value}, {"B", "2"}, {"connection", "second"}};
        EXPECT_EQ(direct_response(version, 200, fields, keep, false, "x"),
                  beast_response(version, 200, fields, keep, false, "x"))
            << "version " << version << " keep " << keep << " value '" << value << "'";
      }
    }
  }
}

TEST(HttpWire, RequestHostAndContentLengthAsBeastPlacesThem) {
  using Fields = std::vector<std::pair<std::string, std::string>>;
  const Fields cases[] = {
      {},
      {{"Accept", "*/*"}},
      {{"A", "1"}, {"host", "example:1"}, {"B", "2"}},
      {{"Host", "first"}, {"A", "1"}, {"HOST", "last"}},
      {{"Content-Length", "999"}, {"x-hydra-tracer", "abc"}},
  };
  for (const auto& fields : cases) {
    for (bool has_body : {false, true}) {
      EXPECT_EQ(direct_request("POST", "/v1/x?y=1", "127.0.0.1:8080", fields, has_body, "{}"),
                beast_request("POST", "/v1/x?y=1", "127.0.0.1:8080", fields, has_body, "{}"));
    }
  }
  EXPECT_EQ(direct_request("GET", "/", "h:1", {{"x-hydra-tracer", "t"}}, false, ""),
            "GET / HTTP/1.1\r\nHost: h:1\r\nx-hydra-tracer: t\r\n\r\n");
}

TEST(HttpWire, RepeatedFieldsKeepTheOrderTheyCameIn) {
  // Beast's insert() moves a field next to the last one of the same name; these writers keep
  // the order given (as Node does). Values of one name stay in order either way.
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"Set-Cookie", "a=1"}, {"X-Other", "o"}, {"set-cookie", "b=2"}};
  EXPECT_EQ(direct_response(11, 200, fields, true, false, ""),
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Other: o\r\nset-cookie: b=2\r\n"
            "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(direct_request("GET", "/", "h", fields, false, ""),
            "GET / HTTP/1.1\r\nHost: h\r\nSet-Cookie: a=1\r\nX-Other: o\r\n"
            "set-cookie: b=2\r\n\r\n");
}

TEST(HttpWire, LineBreaksInsideFieldsCannotStartAnotherField) {
  std::string out;
  append_response_head(out, 11, 200, {{"X-A", "1\r\nSet-Cookie: evil=1"}, {"X\nB", "2"}}, true,
                       false, 0);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nX-A: 1  Set-Cookie: evil=1\r\nX B: 2\r\nContent-Length: 0\r\n\r\n");
  out.clear();
  append_request_head(out, "GET", "/", "h", {{"X-A", "a\rb"}}, false, 0);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a b\r\n\r\n");
}

// Random field lists (names of known and unknown fields in random case, each name at most once
// as Beast would regroup repeated ones; values with spaces and tabs around them, Connection and
// Content-Length among them) through both writers.
TEST(HttpWire, GeneratedMessagesMatchBeast) {
  std::mt19937 rng(20261121);
  std::vector<std::string> names = {"Content-Type",   "X-Custom", "Set-Cookie",    "Connection",
                                    "Content-Length", "Host",     "Cache-Control", "x-hydra-tracer",
                                    "Vary",           "ETag"};
  const std::vector<std::string> values = {"a",          " spaced ",
                                           "\tTabbed\t", "close",
                                           "keep-alive", "Keep-Alive, Upgrade",
                                           "12",         "text/plain; charset=utf-8",
                                           "",           "  ",
                                           "upgrade"};
  const unsigned statuses[] = {100, 101, 200, 201, 204, 301, 304, 400, 404, 418, 503, 599, 999};
  auto pick = [&](const auto& list) { return list[rng() % list.size()]; };
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::pair<std::string, std::string>> fields;
    std::shuffle(names.begin(), names.end(), rng);
    const int n = static_cast<int>(rng() % 7);
    for (int j = 0; j < n; ++j) {
      std::string name = names[static_cast<std::size_t>(j)];
      for (auto& c : name)
        if (rng() % 3 == 0) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      fields.emplace_back(std::move(name), pick(values));
    }
    const std::string body(rng() % 40, 'b');
    const unsigned version = rng() % 4 == 0 ? 10 : 11;
    const unsigned status = statuses[rng() % std::size(statuses)];
    const bool keep = rng() % 2 == 0;
    const bool bodiless = rng() % 4 == 0;
    ASSERT_EQ(direct_response(version, status, fields, keep, bodiless, body),
              beast_response(version, status, fields, keep, bodiless, body))
        << "response case " << i;
    const std::string method = pick(std::vector<std::string>{"GET", "POST", "DELETE", "PURGE"});
    const bool has_body = rng() % 2 == 0;
    ASSERT_EQ(
        direct_request(method, "/p?q=" + std::to_string(i), "10.0.0.1:80", fields, has_body, body),
        beast_request(method, "/p?q=" + std::to_string(i), "10.0.0.1:80", fields, has_body, body))
        << "request case " << i;
  }
}

}  // namespace
