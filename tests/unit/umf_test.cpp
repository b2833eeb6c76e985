// UMF as Node Hydra 1.9.3 implements it: normalisation, key orders, routes, signatures, replies.
#include "hydra/umf.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "hydra/error.hpp"
#include "hydra/json.hpp"
#include "hydra/text.hpp"

using hydra::umf::Field;
using hydra::umf::Message;
using hydra::umf::parse_route;

namespace {

boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

TEST(Umf, CreateFillsDefaultsAndValidates) {
  auto m = Message::create(obj(R"({"to":"svc:/","from":"me:/","body":{"a":1}})"));
  EXPECT_TRUE(m.validate());
  EXPECT_TRUE(std::regex_match(
      m.mid(), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_TRUE(hydra::json::parse_iso_timestamp(std::string(m.get(Field::timestamp)->as_string())));
  EXPECT_EQ(*m.get(Field::version), "UMF/1.4.6");
  EXPECT_FALSE(Message::create(obj(R"({"from":"me:/","body":{}})")).validate());
  EXPECT_FALSE(Message::create(obj(R"({"to":"a:/","from":"me:/","body":0})")).validate());
  EXPECT_FALSE(Message::create(obj(R"({"to":"a:/","from":"me:/","body":""})")).validate());
}

TEST(Umf, ShortFormHasNodesExactKeyOrder) {
  // Every field, given in a scrambled order and mixing long and short keys.
  auto m = Message::create(obj(
      R"({"aut":"tok","bdy":{"x":1},"forward":"f:/","via":"v:/","ver":"UMF/1.4.6","typ":"t","ts":"2026-11-21T04:49:55.469Z","tmo":5,"sig":"s","rmid":"r","mid":"m","hdr":{"h":1},"frm":"me:/","to":"svc:/","priority":9})"));
  EXPECT_EQ(
      m.to_short_json(),
      R"({"to":"svc:/","frm":"me:/","hdr":{"h":1},"mid":"m","rmid":"r","sig":"s","tmo":5,"ts":"2026-11-21T04:49:55.469Z","typ":"t","ver":"UMF/1.4.6","via":"v:/","fwd":"f:/","bdy":{"x":1},"aut":"tok"})");
  EXPECT_EQ(
      hydra::json::stringify(m.to_long()),
      R"({"to":"svc:/","from":"me:/","headers":{"h":1},"mid":"m","rmid":"r","signature":"s","timeout":5,"timestamp":"2026-11-21T04:49:55.469Z","type":"t","version":"UMF/1.4.6","via":"v:/","forward":"f:/","body":{"x":1},"authorization":"tok"})");
}

TEST(Umf, LongKeyWinsAndFalsyValuesAreDropped) {
  auto m = Message::create(obj(
      R"({"to":"a:/","from":"long:/","frm":"short:/","body":{"k":1},"bdy":{"k":2},"timeout":0,"tmo":7,"type":"","typ":"x"})"));
  EXPECT_EQ(m.from(), "long:/");
  EXPECT_EQ(m.body().at("k"), 1);
  EXPECT_EQ(*m.get(Field::timeout), 7);  // timeout 0 is falsy, so tmo is used
  EXPECT_EQ(m.type(), "x");
  // `to`, `mid`, `rmid` and `via` have no short alias in Node.
  auto n = Message::create(obj(R"({"to":"a:/","frm":"b:/","bdy":{},"rmi":"x"})"));
  EXPECT_FALSE(n.has(Field::rmid));
}

TEST(Umf, NodeSignatureTestVector) {
  auto m = Message::create(obj(
      R"({"to":"xxx","from":"yyy","headers":"aaa","mid":"mid123","rmid":"rmid123","type":"type-http","timestamp":"2018-03-11T16:52:42.060Z","via":"uid:123","timeout":3000,"forward":"yyy@aaa","body":{"a":"a","b":"b"},"authorization":"secret"})"));
  EXPECT_EQ(
      hydra::json::stringify(m.to_long()),
      R"({"to":"xxx","from":"yyy","headers":"aaa","mid":"mid123","rmid":"rmid123","timeout":3000,"timestamp":"2018-03-11T16:52:42.060Z","type":"type-http","version":"UMF/1.4.6","via":"uid:123","forward":"yyy@aaa","body":{"a":"a","b":"b"},"authorization":"secret"})");
  m.sign("sha256", "testing");
  EXPECT_EQ(*m.get(Field::signature),
            "4796729993fe18df531d16668505b4fd6741c94c0a9db5116df214d7277d587d");
  EXPECT_TRUE(m.verify("sha256", "testing"));
  EXPECT_FALSE(m.verify("sha256", "wrong"));
  // Node re-adds the property, so it is last in the long form.
  auto long_form = hydra::json::stringify(m.to_long());
  EXPECT_NE(long_form.find(R"("authorization":"secret","signature":")"), std::string::npos);
  // Verification survives the short form round trip (a receiver re-creates the message).
  auto received = Message::parse(m.to_short_json());
  ASSERT_TRUE(received);
  EXPECT_TRUE(received->verify("sha256", "testing"));
  received->mutable_body().as_object()["a"] = "tampered";
  EXPECT_FALSE(received->verify("sha256", "testing"));
  EXPECT_THROW(m.sign("nope", "x"), hydra::Error);
}

TEST(Umf, ShortMessageIdIsBase36) {
  for (int i = 0; i < 100; ++i) {
    auto id = hydra::umf::short_message_id();
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-z]{1,11}"))) << id;
  }
}

TEST(UmfMessage, TextViewIsTheStringFieldWithoutACopy) {
  auto m = Message::create(
      boost::json::parse(R"({"to":"svc:/","frm":"me:/","bdy":{},"typ":7,"mid":"m-1"})")
          .as_object());
  EXPECT_EQ(m.text_view(Field::to), "svc:/");
  EXPECT_EQ(m.text_view(Field::mid), "m-1");
  EXPECT_EQ(m.text_view(Field::mid).data(), m.get(Field::mid)->get_string().data());
  EXPECT_EQ(m.text_view(Field::type), "");  // not a string
  EXPECT_EQ(m.text_view(Field::via), "");   // absent
  EXPECT_EQ(m.text_view(Field::body), "");  // an object
  EXPECT_EQ(Message{}.text_view(Field::to), "");
}

TEST(UmfRoute, ViewsAgreeWithTheCopiesAndPointIntoTheText) {
  for (std::string_view to :
       {"uid:xxx123", "xx", "http:/V1/URL/xxx123:route", "https://h:8080", "svc:[route",
        "svc:[GET]/v1/x?y=1", "test-subtest@service:xxx:yyy", "a-b-c@svc:/", "svc:[]route",
        "iid@http://host:1/x:y", "my-svc:/v1/a:b:c", ":", "@:"}) {
    const auto v = hydra::umf::parse_route_view(to);
    const auto r = parse_route(to);
    EXPECT_EQ(v.instance, r.instance) << to;
    EXPECT_EQ(v.sub_id, r.sub_id) << to;
    EXPECT_EQ(v.service_name, r.service_name) << to;
    EXPECT_EQ(v.api_route, r.api_route) << to;
    EXPECT_EQ(v.error, r.error) << to;
    ASSERT_EQ(v.http_method.has_value(), r.http_method.has_value()) << to;
    if (v.http_method) {
      EXPECT_EQ(hydra::ascii_lower(*v.http_method), *r.http_method) << to;
    }
    for (std::string_view part : {v.instance, v.sub_id, v.service_name, v.api_route}) {
      if (part.empty()) continue;
      EXPECT_GE(part.data(), to.data()) << to;
      EXPECT_LE(part.data() + part.size(), to.data() + to.size()) << to;
    }
  }
  const auto v = hydra::umf::parse_route_view("iid@http://host:1/x:y");
  EXPECT_EQ(v.service_name, "http://host");
  EXPECT_EQ(v.api_route, "1/x:y");
  EXPECT_EQ(hydra::umf::parse_route_view("svc:[PoSt]/a").http_method, "PoSt");
}

TEST(UmfRoute, NodeTestSuiteCases) {
  auto r = parse_route("uid:xxx123");
  EXPECT_EQ(r.service_name, "uid");
  EXPECT_EQ(r.api_route, "xxx123");
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.http_method);
  EXPECT_EQ(parse_route("xx").error, "route field has invalid number of routable segments");
  r = parse_route("http:/V1/URL/xxx123:route");
  EXPECT_EQ(r.service_name, "http:/V1/URL/xxx123");
  EXPECT_EQ(r.api_route, "route");
  EXPECT_EQ(parse_route("svc:[route").error,
            "route field has ill-formed HTTP method verb in segment");
  r = parse_route("svc:[GET]/v1/x?y=1");
  EXPECT_EQ(r.http_method, "get");
  EXPECT_EQ(r.api_route, "/v1/x?y=1");
  r = parse_route("test-subtest@service:xxx:yyy");
  EXPECT_EQ(r.instance, "test");
  EXPECT_EQ(r.sub_id, "subtest");
  EXPECT_EQ(r.service_name, "service");
  EXPECT_EQ(r.api_route, "xxx:yyy");
  r = parse_route("test@service:xxx");
  EXPECT_EQ(r.instance, "test");
  EXPECT_EQ(r.sub_id, "");
  r = parse_route("svc:[]route");
  EXPECT_EQ(r.http_method, "");
  EXPECT_EQ(r.api_route, "[]route");
  r = parse_route("a-b-c@svc:/");
  EXPECT_EQ(r.instance, "a");
  EXPECT_EQ(r.sub_id, "b");
  r = parse_route("my-svc:/v1/a:b:c");
  EXPECT_EQ(r.service_name, "my-svc");
  EXPECT_EQ(r.api_route, "/v1/a:b:c");
}

// Node's parseRoute transcribed step by step (split at every ':', shift the instance off the
// first segment, merge an http segment with the next, join the rest), as the reference for
// the generated cases below.
hydra::umf::Route reference_parse_route(std::string_view to) {
  hydra::umf::Route r;
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    auto colon = to.find(':', start);
    segments.emplace_back(to.substr(start, colon == to.npos ? to.npos : colon - start));
    if (colon == to.npos) break;
    start = colon + 1;
  }
  if (segments.size() < 2) {
    r.error = "route field has invalid number of routable segments";
    return r;
  }
  if (auto at = segments[0].find('@'); at != std::string::npos) {
    r.instance = segments[0].substr(0, at);
    segments[0] = segments[0].substr(at + 1);
    if (auto dash = r.instance.find('-'); dash != std::string::npos) {
      auto next = r.instance.find('-', dash + 1);
      r.sub_id = r.instance.substr(dash + 1, next == std::string::npos ? next : next - dash - 1);
      r.instance = r.instance.substr(0, dash);
    }
  }
  if (segments[0].rfind("http", 0) == 0) {
    segments[1] = segments[0] + ":" + segments[1];
    segments.erase(segments.begin());
  }
  r.service_name = segments.front();
  for (std::size_t i = 1; i < segments.size(); ++i) {
    if (i > 1) r.api_route += ':';
    r.api_route += segments[i];
  }
  if (!r.api_route.empty() && r.api_route[0] == '[') {
    auto close = r.api_route.find(']');
    if (close == std::string::npos) {
      r.error = "route field has ill-formed HTTP method verb in segment";
    } else {
      std::string method = r.api_route.substr(1, close - 1);
      for (auto& c : method)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!method.empty()) r.api_route = r.api_route.substr(method.size() + 2);
      r.http_method = std::move(method);
    }
  }
  return r;
}

TEST(UmfRoute, GeneratedRoutesMatchTheReference) {
  // Short strings over the characters parseRoute looks at, some starting with "http".
  const std::string alphabet = ":@-[]/hHtTpPgG";
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string to = i % 4 == 0 ? "http" : "";
    for (auto n = rng() % 12; n > 0; --n)
      to += alphabet[rng() % alphabet.size()];
    const auto got = parse_route(to);
    const auto want = reference_parse_route(to);
    ASSERT_EQ(got.error, want.error) << to;
    ASSERT_EQ(got.instance, want.instance) << to;
    ASSERT_EQ(got.sub_id, want.sub_id) << to;
    ASSERT_EQ(got.service_name, want.service_name) << to;
    ASSERT_EQ(got.http_method, want.http_method) << to;
    ASSERT_EQ(got.api_route, want.api_route) << to;
  }
}

TEST(Umf, ReplyFollowsNodesRules) {
  auto original = Message::create(obj(
      R"({"to":"svc:/","from":"abc@client:/","mid":"m1","type":"ping","headers":{"h":1},"body":{"q":1}})"));
  auto reply = hydra::umf::make_reply(original, obj(R"({"body":{"a":2}})"));
  EXPECT_EQ(reply.rmid(), "m1");
  EXPECT_EQ(reply.to(), "abc@client:/");
  EXPECT_EQ(reply.from(), "svc:/");
  EXPECT_NE(reply.mid(), "m1");
  EXPECT_EQ(reply.type(), "ping");  // carried over
  EXPECT_EQ(reply.body().at("a"), 2);
  EXPECT_EQ(reply.get(Field::headers)->at("h"), 1);
  // via wins over everything; forward is kept.
  auto routed = Message::create(obj(
      R"({"to":"svc:/","from":"client:/","via":"r1-c9@hydra-router:/","forward":"x:/","body":{}})"));
  auto r2 = hydra::umf::make_reply(routed, obj(R"({"to":"ignored:/","body":{"ok":true}})"));
  EXPECT_EQ(r2.to(), "r1-c9@hydra-router:/");
  EXPECT_EQ(*r2.get(Field::forward), "x:/");
}

TEST(Umf, MovingCreateAndReplyMatchTheCopyingOnes) {
  const auto input = obj(
      R"({"to":"svc:/","frm":"abc@client:/","mid":"m1","ts":"2026-11-21T04:49:55.469Z","typ":"t","hdr":{"h":[1,2]},"bdy":{"q":{"deep":"x"}},"aut":"a"})");
  auto copied = Message::create(input);
  auto moved = Message::create(boost::json::object(input));
  EXPECT_EQ(moved.to_short_json(), copied.to_short_json());
  EXPECT_EQ(hydra::json::stringify(moved.to_long()), hydra::json::stringify(copied.to_long()));
  // Everything but the fresh mid and timestamp is the same whichever overload builds the reply.
  const auto response = obj(R"({"from":"other:/","body":{"a":[3]},"typ":"","rmid":"r9"})");
  auto r1 = hydra::umf::make_reply(copied, response);
  auto r2 = hydra::umf::make_reply(copied, boost::json::object(response));
  for (auto* r : {&r1, &r2}) {
    r->set(Field::mid, "fixed");
    r->set(Field::timestamp, "2026-01-01T00:00:00.000Z");
  }
  EXPECT_EQ(r1.to_short_json(), r2.to_short_json());
  EXPECT_EQ(
      r1.to_short_json(),
      R"({"to":"abc@client:/","frm":"other:/","hdr":{"h":[1,2]},"mid":"fixed","rmid":"r9","ts":"2026-01-01T00:00:00.000Z","typ":"t","ver":"UMF/1.4.6","bdy":{"a":[3]},"aut":"a"})");
}

TEST(Umf, ReplyJsonIsTheShortFormOfMakeReply) {
  // Originals with and without via, forward and falsy fields; responses with long, short and
  // mixed keys, falsy values, their own to/from/mid, no body. reply_json writes what
  // make_reply's message writes, but for the fresh mid and timestamp each makes.
  const std::vector<std::string> originals = {
      R"({"to":"svc:/","frm":"abc@client:/","mid":"m1","ts":"2026-11-21T04:49:55.469Z","bdy":{"n":1}})",
      R"({"to":"svc:[post]/v1/x","frm":"client:/","mid":"m2","via":"def@router:/","fwd":"f:/","hdr":{"h":[1]},"typ":"t","tmo":5,"aut":"a","sig":"s","bdy":{"q":"x"}})",
      R"({"to":"svc:/","frm":"","mid":"m3","rmid":"old","via":"","bdy":{}})",
      R"({"to":"svc:/","frm":"c:/","bdy":[1,2]})",
  };
  const std::vector<std::string> responses = {
      R"({"body":{"echoed":{"echo":true,"n":5}}})",
      R"({"bdy":{"a":1},"typ":"reply","tmo":0,"hdr":{"x":"y"}})",
      R"({"to":"elsewhere:/","from":"me:/","frm":"short:/","body":{"k":1},"bdy":{"k":2}})",
      R"({"mid":"given","ts":"2026-01-01T00:00:00.000Z","ver":"UMF/9","body":"text","rmid":"r9"})",
      R"({"from":"","body":0,"via":"v:/","fwd":"g:/"})",
      R"({})",
  };
  for (const auto& o : originals) {
    const auto original = Message::create(obj(o));
    for (const auto& r : responses) {
      const auto response = obj(r);
      const auto direct = hydra::umf::reply_json(original, response);
      auto built = hydra::umf::make_reply(original, response);
      const auto written = Message::parse(direct.json);
      ASSERT_TRUE(written) << direct.json;
      EXPECT_EQ(direct.mid, written->mid());
      EXPECT_EQ(direct.mid.size(), response.contains("mid") ? 5u : 36u);
      built.set(Field::mid, boost::json::string(written->mid()));
      built.set(Field::timestamp, *written->get(Field::timestamp));
      EXPECT_EQ(direct.json, built.to_short_json()) << o << "\n" << r;
      EXPECT_EQ(direct.to, built.text_view(Field::to)) << o << "\n" << r;
      EXPECT_EQ(direct.valid, built.validate()) << o << "\n" << r;
    }
  }
}

TEST(Umf, CreateFromAMessageEqualsCreateFromItsLongForm) {
  auto m = Message::create(obj(
      R"({"to":"svc:/","frm":"abc@client:/","mid":"m1","ts":"2026-11-21T04:49:55.469Z","hdr":{"h":1},"bdy":{"q":[1]},"aut":"a"})"));
  // Falsy fields set by hand are dropped; a signed message has its signature last in the long
  // form, and back in its place once re-created.
  m.set(Field::type, "");
  m.set(Field::timeout, 0);
  m.sign("sha256", "k");
  auto direct = Message::create(m);
  auto detour = Message::create(m.to_long());
  EXPECT_EQ(direct.to_short_json(), detour.to_short_json());
  EXPECT_EQ(hydra::json::stringify(direct.to_long()), hydra::json::stringify(detour.to_long()));
  EXPECT_FALSE(direct.has(Field::type));
  EXPECT_FALSE(direct.has(Field::timeout));
  EXPECT_EQ(direct.mid(), "m1");
  // A hand-built message gets a mid, a timestamp and the version.
  Message bare;
  bare.set(Field::to, "svc:/");
  auto filled = Message::create(bare);
  EXPECT_EQ(filled.mid().size(), 36u);
  EXPECT_TRUE(filled.has(Field::timestamp));
  EXPECT_EQ(*filled.get(Field::version), "UMF/1.4.6");
  EXPECT_EQ(filled.to(), "svc:/");
}

TEST(Umf, CreateFromToAndBodyEqualsCreateFromTheirObject) {
  // Truthy and falsy `to` and bodies of every kind: the fields kept, and their order, are those
  // of create({to, body}); only the fresh mid and timestamp differ.
  const std::vector<std::string> tos = {"svc:/", "abc@svc:[post]/v1/x", ""};
  const std::vector<std::string> bodies = {R"({"echo":true,"n":12345})",
                                           R"([1,"a"])",
                                           R"("text")",
                                           "7",
                                           "0",
                                           "true",
                                           "false",
                                           R"("")",
                                           "null",
                                           "{}"};
  for (const auto& to : tos) {
    for (const auto& body_text : bodies) {
      const auto body = boost::json::parse(body_text);
      boost::json::object input;
      if (!to.empty()) input["to"] = to;
      input["body"] = body;
      auto via_object = Message::create(input);
      auto direct = Message::create(to, body);
      for (auto* m : {&via_object, &direct}) {
        EXPECT_EQ(m->mid().size(), 36u);
        ASSERT_TRUE(m->has(Field::timestamp));
        m->set(Field::mid, "fixed");
        m->set(Field::timestamp, "2026-01-01T00:00:00.000Z");
      }
      EXPECT_EQ(direct.to_short_json(), via_object.to_short_json()) << to << " " << body_text;
      EXPECT_EQ(direct.has(Field::body), via_object.has(Field::body)) << body_text;
      EXPECT_EQ(direct.has(Field::to), !to.empty());
    }
  }
  // A sender added afterwards takes its place in Node's order.
  auto m = Message::create("svc:/", boost::json::parse(R"({"a":1})"));
  m.set(Field::from, "me:/");
  m.set(Field::mid, "m");
  m.set(Field::timestamp, "t");
  EXPECT_EQ(m.to_short_json(),
            R"({"to":"svc:/","frm":"me:/","mid":"m","ts":"t","ver":"UMF/1.4.6","bdy":{"a":1}})");
  EXPECT_TRUE(m.validate());
}

TEST(Umf, ParseEqualsCreateFromTheParsedObject) {
  // Mixed long and short keys, a repeated key, falsy values, unknown keys, nested objects.
  for (
      const char* text : {
          R"({"to":"svc:/","frm":"a@b:/","mid":"m","ts":"2026-11-21T04:49:55.469Z","bdy":{"n":1}})",
          R"({"to":"x:/","from":"long:/","frm":"short:/","mid":"m2","timestamp":"t","body":{"k":1},"bdy":{"k":2},"timeout":0,"tmo":7,"type":"","typ":"x","priority":{"deep":[1]}})",
          R"({"to":"a:/","to":"b:/","from":"f:/","mid":"m3","ts":"t","body":0,"bdy":{"z":null},"hdr":{"h":{"i":[]}},"sig":"s","aut":"tok","via":"v","fwd":"w","rmid":"r","ver":"UMF/9"})",
          // Short keys first, then long ones; a key repeated after its other name.
          R"({"frm":"s:/","from":"","to":"t:/","mid":"m4","tmo":5,"timeout":9,"bdy":{"a":1},"body":null,"bdy":{"b":2},"typ":"t","type":"u","typ":"","ts":0,"timestamp":"T"})",
          R"({"mid":"m5","ts":"t","hdr":{"x":1},"headers":0,"hdr":0,"aut":"a","authorization":"b","aut":"c","to":"q:/"})",
      }) {
    auto parsed = Message::parse(text);
    ASSERT_TRUE(parsed) << text;
    auto created = Message::create(obj(text));
    EXPECT_EQ(parsed->to_short_json(), created.to_short_json()) << text;
    EXPECT_EQ(hydra::json::stringify(parsed->to_long()), hydra::json::stringify(created.to_long()));
  }
  auto filled = Message::parse(R"({"to":"a:/","from":"b:/","body":{}})");
  ASSERT_TRUE(filled);
  EXPECT_EQ(filled->mid().size(), 36u);
  EXPECT_EQ(*filled->get(Field::version), "UMF/1.4.6");
}

TEST(Umf, EveryKeyNameAndNearMissesOfThem) {
  // The spec's names (§1.4): each long name, and the short aliases Node reads; to, mid, rmid and
  // via have no other name.
  const std::vector<std::tuple<const char*, Field>> names = {
      {"to", Field::to},
      {"from", Field::from},
      {"frm", Field::from},
      {"headers", Field::headers},
      {"hdr", Field::headers},
      {"mid", Field::mid},
      {"rmid", Field::rmid},
      {"signature", Field::signature},
      {"sig", Field::signature},
      {"timeout", Field::timeout},
      {"tmo", Field::timeout},
      {"timestamp", Field::timestamp},
      {"ts", Field::timestamp},
      {"type", Field::type},
      {"typ", Field::type},
      {"version", Field::version},
      {"ver", Field::version},
      {"via", Field::via},
      {"forward", Field::forward},
      {"fwd", Field::forward},
      {"body", Field::body},
      {"bdy", Field::body},
      {"authorization", Field::authorization},
      {"aut", Field::authorization}};
  for (const auto& [name, field] : names) {
    auto m = Message::parse(std::string(R"({")") + name + R"(":"v"})");
    ASSERT_TRUE(m) << name;
    ASSERT_TRUE(m->has(field)) << name;
    EXPECT_EQ(*m->get(field), "v") << name;
  }
  // Same length and first letters as a name, or a name with a letter more or less: dropped.
  for (const char* other :
       {"t",       "tO",      "too",     "tx",     "frn",      "fro",  "fromm",
        "hdx",     "headerz", "mix",     "rmix",   "rmi",      "sigx", "signaturf",
        "tmx",     "timeoux", "tsx",     "tz",     "tyq",      "typx", "vex",
        "versiom", "vix",     "forwarf", "fwx",    "bodx",     "bdz",  "authorizatiom",
        "auu",     "BODY",    "",        "\u0000", "mid\u0000"}) {
    auto m = Message::parse(std::string(R"({")") + other + R"(":"v"})");
    ASSERT_TRUE(m) << other;
    EXPECT_EQ(m->to_short().size(), 3u) << other << ": " << m->to_short_json();  // mid, ts, ver
  }
}

TEST(Umf, ShortJsonIsTheShortFormStringified) {
  auto m = Message::create(obj(R"({"to":"a:/","from":"b:/","body":{"s":"\u00e9\"\n","n":1.5}})"));
  EXPECT_EQ(m.to_short_json(), hydra::json::stringify(m.to_short()));
  // Falsy fields are left out of both, wherever they are.
  m.set(Field::to, "");
  m.set(Field::timeout, 0);
  m.set(Field::authorization, false);
  EXPECT_EQ(m.to_short_json(), hydra::json::stringify(m.to_short()));
  EXPECT_EQ(m.to_short_json().rfind(R"({"frm":"b:/",)", 0), 0u);
  EXPECT_EQ(Message().to_short_json(), "{}");
}

TEST(Umf, ParseRejectsNonObjects) {
  EXPECT_FALSE(Message::parse("nope"));
  EXPECT_FALSE(Message::parse("[1,2]"));
  EXPECT_TRUE(Message::parse(R"({"to":"a:/"})"));
}

}  // namespace
