// Unit tests for RoutePattern: route-parser syntax and match results (expected values from Node).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "hydra/error.hpp"
#include "hydra/route_pattern.hpp"

namespace {

using Params = std::map<std::string, std::string>;

struct Case {
  const char* pattern;
  const char* path;
  std::optional<Params> expected;
};

// Each expectation was produced by `new Route(pattern).match(path)` in route-parser 0.0.5.
const Case kCases[] = {
    {"[get]/v1/users/:id", "[get]/v1/users/5", Params{{"id", "5"}}},
    {"[get]/v1/users/:id", "[post]/v1/users/5", std::nullopt},
    {"[get]/v1/users/:id", "[get]/v1/users/5/x", std::nullopt},
    {"[get]/v1/users/:id", "[get]/v1/users/", std::nullopt},
    {"/v1/a/:id", "/v1/a/5?x=1", Params{{"id", "5"}}},
    {"/v1/a(/:tab)", "/v1/a", Params{}},
    {"/v1/a(/:tab)", "/v1/a/x", Params{{"tab", "x"}}},
    {"/v1/a(/:tab)", "/v1/a/x/y", std::nullopt},
    {"/static/*path", "/static/a/b.css", Params{{"path", "a/b.css"}}},
    {"/static/*path", "/static/", Params{{"path", ""}}},
    {"/static/*path", "/static/a?b=c", Params{{"path", "a"}}},
    {"[get]/test-service/:rest", "[get]/test-service/abc", Params{{"rest", "abc"}}},
    {"/a.b+c", "/a.b+c", Params{}},
    {"/a.b+c", "/aXb+c", std::nullopt},
    {"/a.b+c", "/a.bbc", std::nullopt},
    {"/a(*rest)", "/a", Params{}},
    {"/a(*rest)", "/a/b", Params{{"rest", "/b"}}},
    {"/:a/:b", "/x%20y/%C3%A9", Params{{"a", "x y"}, {"b", "\xC3\xA9"}}},
    {"/:a", "/%zz", std::nullopt},     // URIError in JS
    {"/:a", "/%C0%80", std::nullopt},  // overlong UTF-8: URIError in JS
    {"/:a(/:a)", "/x", Params{}},      // the later, unset capture wins
    {"/:a(/:a)", "/x/y", Params{{"a", "y"}}},
    {"/::a", "/x", Params{{":a", "x"}}},
    {"/**a", "/x/y", Params{{"*a", "x/y"}}},
    {"/files*", "/file", Params{}},  // a bare `*` is a regex quantifier in route-parser
    {"/files*", "/filesss", Params{}},
    {"/api/*", "/api", Params{}},
    {"/api/*", "/api/", Params{}},
    {"/api/*", "/api/x", std::nullopt},
    {"/:id*", "/abc", Params{{"id", "abc"}}},
    {"/a/:b-:c", "/a/x-y", Params{{"b", "x"}, {"c", "y"}}},
    {"/a/:b.:c", "/a/x.y", Params{{"b", "x"}, {"c", "y"}}},
    {"/*a/:b", "/x/y/z", Params{{"a", "x/y"}, {"b", "z"}}},
    {"/*a/*b", "/x/y/z", Params{{"a", "x"}, {"b", "y/z"}}},
    {"(/:a)(/:b)", "/x", Params{{"a", "x"}}},
    {"", "", Params{}},
    {"", "?q", Params{}},
    {"", "/", std::nullopt},
    {"/a b", "/a b", Params{}},
    {"/a$^|{}#,?", "/a$^|{}#,?", Params{}},
    {"/\xC3\xBC/:x", "/\xC3\xBC/\xC3\xB6", Params{{"x", "\xC3\xB6"}}},
    {"/v1/:x(/:y(/:z))", "/v1/1/2/3", Params{{"x", "1"}, {"y", "2"}, {"z", "3"}}},
    {"/v1/:x(/:y(/:z))", "/v1/1/2", Params{{"x", "1"}, {"y", "2"}}},
    {"/a/", "/a", std::nullopt},
    {"/A", "/a", std::nullopt},
};

TEST(RoutePattern, MatchesLikeRouteParser) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string("pattern '") + c.pattern + "' path '" + c.path + "'");
    hydra::RoutePattern route(c.pattern);
    EXPECT_EQ(route.match(c.path), c.expected);
  }
}

TEST(RoutePattern, KeepsPatternText) {
  hydra::RoutePattern route("[get]/v1/users/:id");
  EXPECT_EQ(route.pattern(), "[get]/v1/users/:id");
}

TEST(RoutePattern, BracketsAndDotsAreLiteral) {
  hydra::RoutePattern route("[get]/v1/file.json");
  EXPECT_TRUE(route.match("[get]/v1/file.json"));
  EXPECT_FALSE(route.match("g/v1/file.json"));
  EXPECT_FALSE(route.match("[get]/v1/fileXjson"));
  EXPECT_FALSE(route.match("[get]/v1/file.json/extra"));
}

TEST(RoutePattern, QueryStringIsIgnoredEverywhere) {
  hydra::RoutePattern route("[get]/v1/users/:id(/:tab)");
  EXPECT_EQ(route.match("[get]/v1/users/7?a=b"), (Params{{"id", "7"}}));
  EXPECT_EQ(route.match("[get]/v1/users/7/x?"), (Params{{"id", "7"}, {"tab", "x"}}));
  EXPECT_FALSE(route.match("[get]/v1/users/?id=7"));
}

TEST(RoutePattern, PercentDecodesCaptures) {
  hydra::RoutePattern route("/f/*path");
  EXPECT_EQ(route.match("/f/a%2Fb/c%25"), (Params{{"path", "a/b/c%"}}));
  EXPECT_EQ(route.match("/f/%F0%9F%98%80"), (Params{{"path", "\xF0\x9F\x98\x80"}}));
  EXPECT_FALSE(route.match("/f/%ED%A0%80"));  // a surrogate
  EXPECT_FALSE(route.match("/f/%E2%82"));     // truncated sequence
  EXPECT_FALSE(route.match("/f/%"));
}

TEST(RoutePattern, MovesKeepWorking) {
  hydra::RoutePattern a("/x/:id");
  hydra::RoutePattern b(std::move(a));
  EXPECT_EQ(b.match("/x/1"), (Params{{"id", "1"}}));
  hydra::RoutePattern c("/y");
  c = std::move(b);
  EXPECT_EQ(c.pattern(), "/x/:id");
  EXPECT_EQ(c.match("/x/2"), (Params{{"id", "2"}}));
}

TEST(RoutePattern, LongPathsDoNotExhaustTheStack) {
  hydra::RoutePattern route("/s/*rest");
  const std::string tail(200000, 'a');
  EXPECT_EQ(route.match("/s/" + tail), (Params{{"rest", tail}}));
}

TEST(RoutePattern, RejectsMalformedPatterns) {
  // route-parser throws on these either when parsing or (for a quantifier with nothing to
  // repeat) on the first match; here all fail at construction.
  for (const char* bad :
       {"(", ")", "/a(", "/a)", "()", "/a(/b))", "((/a)", "*", "/a**", "(*)", "/a\r"}) {
    SCOPED_TRACE(bad);
    try {
      hydra::RoutePattern route(bad);
      ADD_FAILURE() << "no exception";
    } catch (const hydra::Error& e) {
      EXPECT_EQ(e.code(), hydra::errc::invalid_argument);
    }
  }
}

}  // namespace
