// Unit tests for the JSON.stringify-compatible writer (and the appender it writes through),
// try_parse and the ISO timestamp helpers.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/appender.hpp"
#include "hydra/json.hpp"

namespace {

namespace bj = boost::json;
using hydra::json::format_number;
using hydra::json::stringify;

TEST(JsonNumber, MatchesJavaScriptToString) {
  // Expected strings are what Node prints for String(x).
  const std::pair<double, const char*> cases[] = {
      {1, "1"},
      {1.5, "1.5"},
      {5.305038167, "5.305038167"},
      {1e21, "1e+21"},
      {1e-7, "1e-7"},
      {0.000001, "0.000001"},
      {123456789012345680000.0, "123456789012345680000"},
      {0.1 + 0.2, "0.30000000000000004"},
      {-0.0, "0"},
      {0.0, "0"},
      {5e-324, "5e-324"},
      {1.5e-323, "1.5e-323"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {1e300, "1e+300"},
      {-1e-300, "-1e-300"},
      {123e-20, "1.23e-18"},
      {1e20, "100000000000000000000"},
      {1.2345e21, "1.2345e+21"},
      {0.00001234, "0.00001234"},
      {1234.5678, "1234.5678"},
      {-42, "-42"},
      {9007199254740992.0, "9007199254740992"},
      {9007199254740994.0, "9007199254740994"},
      {100, "100"},
      {1e6, "1000000"},
      {9.999999999999999e20, "999999999999999900000"},
      {1.5e-6, "0.0000015"},
      {1.5e-7, "1.5e-7"},
      {4.35, "4.35"},
      {0.1, "0.1"},
      {-1.5e100, "-1.5e+100"},
  };
  for (const auto& [value, expected] : cases) {
    EXPECT_EQ(format_number(value), expected) << "for " << value;
  }
}

TEST(JsonNumber, NonFiniteIsNull) {
  EXPECT_EQ(format_number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(stringify(bj::array{std::nan(""), 1.0}), "[null,1]");
}

TEST(JsonNumber, IntegersBeyondTwoPow53BecomeDoubles) {
  // JSON.stringify(JSON.parse(text)) in Node.
  EXPECT_EQ(stringify(bj::parse("[9007199254740993,-9007199254740993,18446744073709551615,"
                                "1000000000000000000000,-9223372036854775808,9007199254740992]")),
            "[9007199254740992,-9007199254740992,18446744073709552000,1e+21,"
            "-9223372036854776000,9007199254740992]");
  EXPECT_EQ(stringify(bj::value(std::int64_t{-9007199254740992})), "-9007199254740992");
  EXPECT_EQ(stringify(bj::value(std::uint64_t{1000000000000000000ull})), "1000000000000000000");
  EXPECT_EQ(stringify(bj::value(std::uint64_t{0})), "0");
  EXPECT_EQ(stringify(bj::parse("-0")), "0");
  EXPECT_EQ(stringify(bj::parse("-0.0")), "0");
  EXPECT_EQ(stringify(bj::parse("1.0")), "1");
  EXPECT_EQ(stringify(bj::parse("1E2")), "100");
}

TEST(JsonString, EscapesOnlyWhatJavaScriptEscapes) {
  EXPECT_EQ(stringify(bj::value("a\"b\\c/d")), R"("a\"b\\c/d")");
  EXPECT_EQ(stringify(bj::value("\b\t\n\f\r")), R"("\b\t\n\f\r")");
  EXPECT_EQ(stringify(bj::value("\x7f")), "\"\x7f\"");
  EXPECT_EQ(stringify(bj::value("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  EXPECT_EQ(stringify(bj::value("\xE2\x80\xA8\xE2\x80\xA9")), "\"\xE2\x80\xA8\xE2\x80\xA9\"");
  EXPECT_EQ(stringify(bj::value("")), R"("")");
}

TEST(JsonString, EveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    std::string expected;
    switch (c) {
      case '\b':
        expected = "\\b";
        break;
      case '\t':
        expected = "\\t";
        break;
      case '\n':
        expected = "\\n";
        break;
      case '\f':
        expected = "\\f";
        break;
      case '\r':
        expected = "\\r";
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        expected = buf;
      }
    }
    EXPECT_EQ(stringify(bj::value(bj::string(1, static_cast<char>(c)))), "\"" + expected + "\"")
        << "char " << c;
  }
  EXPECT_EQ(stringify(bj::value(bj::string("\x00\x1f\x1b", 3))), R"("\u0000\u001f\u001b")");
}

TEST(JsonString, EveryByteAtEveryPositionOfALongString) {
  // Strings are scanned sixteen bytes at a time, a tail or a string of 8 to 15 bytes through
  // loads that overlap bytes already scanned, and shorter ones byte by byte: each byte
  // value, at each position of strings of every length up to past two blocks, must come out as
  // it does alone, with the bytes around it untouched. The neighbours are the bytes nearest the
  // ones that need escaping (0x1f/0x20, '!'/'#', '['/']', 0x7f/0x80).
  const std::string filler = "\x20!#[]\x7f\x80\xff";
  for (int c = 0; c < 256; ++c) {
    const std::string alone = stringify(bj::value(bj::string(1, static_cast<char>(c))));
    const std::string escaped = alone.substr(1, alone.size() - 2);
    for (std::size_t len = 1; len <= 40; ++len) {
      for (std::size_t pos = 0; pos < len; ++pos) {
        std::string text;
        for (std::size_t i = 0; i < len; ++i)
          text += filler[i % filler.size()];
        std::string expected = "\"" + text.substr(0, pos) + escaped + text.substr(pos + 1) + "\"";
        text[pos] = static_cast<char>(c);
        ASSERT_EQ(stringify(bj::value(bj::string(text))), expected)
            << "byte " << c << " at " << pos << " of " << len;
      }
    }
  }
}

TEST(JsonString, ManyEscapesInLongStrings) {
  // Random strings where a third of the bytes need escaping, against a byte-by-byte escaper.
  auto reference = [](const std::string& text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (unsigned char c : text) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out + "\"";
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string text(rng() % 300, '\0');
    for (auto& ch : text) {
      const auto r = rng() % 6;
      ch = static_cast<char>(r == 0   ? rng() % 0x20
                             : r == 1 ? (rng() % 2 ? '"' : '\\')
                                      : rng() % 256);
    }
    ASSERT_EQ(stringify(bj::value(bj::string(text))), reference(text)) << "round " << round;
  }
}

TEST(JsonString, InvalidUtf8IsCopiedThrough) {
  bj::string s("\xff\xc3", 2);
  EXPECT_EQ(stringify(bj::value(s)), "\"\xff\xc3\"");
}

TEST(JsonStructure, KeyOrderAndNesting) {
  bj::object o;
  o["z"] = 1;
  o["a"] = bj::array{true, false, nullptr, bj::object{}, bj::array{}};
  o["m"] = bj::object{{"k\n", "v"}};
  o["e"] = "";
  EXPECT_EQ(stringify(o), R"({"z":1,"a":[true,false,null,{},[]],"m":{"k\n":"v"},"e":""})");
  EXPECT_EQ(stringify(bj::object{}), "{}");
  EXPECT_EQ(stringify(bj::array{}), "[]");
  EXPECT_EQ(stringify(bj::array{bj::array{bj::array{}}}), "[[[]]]");
  EXPECT_EQ(stringify(nullptr), "null");
  EXPECT_EQ(stringify(bj::parse(R"({"b":{"y":[1,{"q":2.5}],"x":null},"a":"s"})")),
            R"({"b":{"y":[1,{"q":2.5}],"x":null},"a":"s"})");
}

TEST(JsonStructure, StringifyToAppends) {
  std::string out = "prefix:";
  hydra::json::stringify_to(out, bj::array{1, "x"});
  EXPECT_EQ(out, R"(prefix:[1,"x"])");
}

TEST(JsonParse, TryParse) {
  auto v = hydra::json::try_parse(R"({"a":[1,2]})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("a").as_array().size(), 2u);
  EXPECT_FALSE(hydra::json::try_parse(""));
  EXPECT_FALSE(hydra::json::try_parse("{"));
  EXPECT_FALSE(hydra::json::try_parse("[1,]"));
  EXPECT_FALSE(hydra::json::try_parse("{} x"));
  EXPECT_FALSE(hydra::json::try_parse("nul"));
  ASSERT_TRUE(hydra::json::try_parse(" 1 "));
}

TEST(JsonParse, NumbersAreCorrectlyRounded) {
  // Boost 1.81's own parser gives 1.2345678901234566e-306 here; JSON.parse rounds correctly.
  EXPECT_EQ(stringify(*hydra::json::try_parse("[1.2345678901234567E-306,-9.363352709384397E-97]")),
            "[1.2345678901234567e-306,-9.363352709384397e-97]");
  EXPECT_EQ(stringify(*hydra::json::try_parse("[1e400,-1e400,1e-400]")), "[null,null,0]");
  EXPECT_EQ(stringify(*hydra::json::try_parse("18446744073709551616")), "18446744073709552000");
  const auto v = hydra::json::try_parse("[5,-5,5.0]");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->as_array()[0].is_int64());
  EXPECT_TRUE(v->as_array()[2].is_double());
}

TEST(JsonParse, DeepNestingAndDuplicateKeysLikeJsonParse) {
  const std::string deep = std::string(500, '[') + "1" + std::string(500, ']');
  const auto v = hydra::json::try_parse(deep);
  ASSERT_TRUE(v);
  EXPECT_EQ(stringify(*v), deep);
  // A JS object keeps the first position of a repeated key and its last value.
  EXPECT_EQ(stringify(*hydra::json::try_parse(R"({"a":1,"b":2,"a":3})")), R"({"a":3,"b":2})");
  EXPECT_EQ(stringify(*hydra::json::try_parse(R"({"s":"x\u00e9\ud83d\ude00"})")),
            "{\"s\":\"x\xC3\xA9\xF0\x9F\x98\x80\"}");
  EXPECT_FALSE(hydra::json::try_parse("\"\xff\""));
}

TEST(JsonParse, NestedContainersKeepTheirKeys) {
  // Each container goes under the key that preceded it, however deep the keys inside it went.
  const std::string doc =
      R"({"a":{"b":1,"c":{"d":[{"e":2},{"f":[3]}]}},"g":4,"h":[[],{}],"i":{"j":{"k":{}}},"l":5})";
  EXPECT_EQ(stringify(*hydra::json::try_parse(doc)), doc);
  // Keys and strings with escapes arrive in parts.
  EXPECT_EQ(stringify(*hydra::json::try_parse(R"({"k\u00e9y":{"n\"ested":"v\\x","z":[1]},"q":2})")),
            "{\"k\xC3\xA9y\":{\"n\\\"ested\":\"v\\\\x\",\"z\":[1]},\"q\":2}");
}

TEST(JsonParse, AFailedDocumentLeavesNothingForTheNext) {
  // The parser is reused on a thread; a document that fails half-way must not leak into the next.
  EXPECT_FALSE(hydra::json::try_parse(R"({"a":[1,{"b":)"));
  EXPECT_FALSE(hydra::json::try_parse(R"({"a":"unterminated)"));
  EXPECT_EQ(stringify(*hydra::json::try_parse(R"({"c":[2]})")), R"({"c":[2]})");
  EXPECT_EQ(stringify(*hydra::json::try_parse("7")), "7");
}

// Collects what try_parse_members hands over, as "key=json" lines.
std::vector<std::string> members_of(std::string_view text, bool* ok = nullptr) {
  std::vector<std::string> out;
  auto sink = [](void* context, std::string_view key, bj::value&& value) {
    static_cast<std::vector<std::string>*>(context)->push_back(std::string(key) + "=" +
                                                               stringify(value));
  };
  const bool parsed = hydra::json::try_parse_members(text, sink, &out);
  if (ok) *ok = parsed;
  return out;
}

// A value's kinds, depth first: the fast path must build what Boost's parser builds, and
// stringify alone cannot tell an int64 1 from a double 1.
void append_kinds(std::string& out, const bj::value& v) {
  if (v.is_array()) {
    out += '[';
    for (const auto& item : v.get_array())
      append_kinds(out, item);
    out += ']';
  } else if (v.is_object()) {
    out += '{';
    for (const auto& kv : v.get_object())
      append_kinds(out, kv.value());
    out += '}';
  } else if (v.is_double() && std::signbit(v.get_double())) {
    out += "-d";
  } else {
    // null, bool_, int64, uint64, double_, string: Boost's order of json::kind.
    out += "nbiuds"[static_cast<int>(v.kind())];
  }
}

// members_of with each value's kinds: "key=json|kinds".
std::vector<std::string> typed_members_of(std::string_view text, bool* ok = nullptr) {
  std::vector<std::string> out;
  auto sink = [](void* context, std::string_view key, bj::value&& value) {
    std::string line = std::string(key) + "=" + stringify(value) + "|";
    append_kinds(line, value);
    static_cast<std::vector<std::string>*>(context)->push_back(std::move(line));
  };
  const bool parsed = hydra::json::try_parse_members(text, sink, &out);
  if (ok) *ok = parsed;
  return out;
}

TEST(JsonParse, MembersOfTheTopLevelObject) {
  bool ok = false;
  EXPECT_EQ(members_of(R"({"a":1,"b":{"c":[1,{"d":2}]},"a":"x","e":{}})", &ok),
            (std::vector<std::string>{"a=1", R"(b={"c":[1,{"d":2}]})", R"(a="x")", "e={}"}));
  EXPECT_TRUE(ok);
  EXPECT_TRUE(members_of("{}", &ok).empty());
  EXPECT_TRUE(ok);
  // Not an object, or not JSON at all.
  for (const char* bad : {"[1,{\"a\":1}]", "7", "\"s\"", "null", "{\"a\":", "{\"a\":1} x", ""}) {
    members_of(bad, &ok);
    EXPECT_FALSE(ok) << bad;
  }
  // The parser is shared with try_parse on this thread; neither leaks into the other.
  EXPECT_EQ(stringify(*hydra::json::try_parse(R"({"z":{"y":1}})")), R"({"z":{"y":1}})");
  EXPECT_EQ(members_of(R"({"q":[]})"), (std::vector<std::string>{"q=[]"}));
}

TEST(JsonParse, TopLevelStringsGoToTheirOwnSinkAsText) {
  // Only strings directly in the top-level object: as their unescaped text, in document order
  // with the other members; nested strings stay inside their values.
  std::vector<std::string> out;
  auto sink = [](void* context, std::string_view key, bj::value&& value) {
    static_cast<std::vector<std::string>*>(context)->push_back(std::string(key) + "=" +
                                                               stringify(value));
  };
  auto string_sink = [](void* context, std::string_view key, std::string_view text) {
    static_cast<std::vector<std::string>*>(context)->push_back(std::string(key) + ":" +
                                                               std::string(text));
  };
  const std::string long_text(5000, 'x');
  EXPECT_TRUE(hydra::json::try_parse_members(
      R"({"a":"plain","b":{"c":"nested"},"d":"tab\there \u00e9 \"q\"","e":1,"a":"again","f":")" +
          long_text + R"(","g":["in","array"],"":""})",
      sink, string_sink, &out));
  EXPECT_EQ(out, (std::vector<std::string>{"a:plain", R"(b={"c":"nested"})",
                                           "d:tab\there \xC3\xA9 \"q\"", "e=1", "a:again",
                                           "f:" + long_text, R"(g=["in","array"])", ":"}));
  // Without a string sink every member goes to the value sink, strings included.
  EXPECT_EQ(members_of(R"({"a":"s","b":2})"), (std::vector<std::string>{R"(a="s")", "b=2"}));
  out.clear();
  EXPECT_FALSE(hydra::json::try_parse_members(R"(["a"])", sink, string_sink, &out));
}

TEST(JsonParse, EveryByteAtEveryPositionOfATopLevelString) {
  // The fast path scans top-level strings (and keys) for quotes, backslashes, control bytes and
  // bytes of 0x80 and above the way the writer scans them (see the test above), and leaves a
  // string with any of them to the general path. Whichever path reads it, each string must come
  // back as it was written, and so must the members around it.
  auto string_sink = [](void* context, std::string_view key, std::string_view text) {
    static_cast<std::vector<std::string>*>(context)->push_back(std::string(key) + ":" +
                                                               std::string(text));
  };
  auto sink = [](void* context, std::string_view key, bj::value&& value) {
    static_cast<std::vector<std::string>*>(context)->push_back(std::string(key) + "=" +
                                                               stringify(value));
  };
  const std::string filler = "\x20!#[]\x7f";
  for (int c : {int{'"'}, int{'\\'}, 0x00, 0x01, 0x1f, 0x20, 0x7f, 0xc3, int{'z'}}) {
    for (std::size_t len = 1; len <= 40; ++len) {
      for (std::size_t pos = 0; pos < len; ++pos) {
        std::string text;
        for (std::size_t i = 0; i < len; ++i)
          text += filler[i % filler.size()];
        text[pos] = static_cast<char>(c);
        if (c == 0xc3) text.insert(pos + 1, "\xa9");  // é: a whole UTF-8 sequence
        // The key holds the same bytes (the key scan is the same).
        const std::string key = "k" + text;
        const std::string doc = R"({"a":)" + stringify(bj::value(bj::string(text))) + "," +
                                stringify(bj::value(bj::string(key))) + R"(:1,"b":"end"})";
        std::vector<std::string> out;
        ASSERT_TRUE(hydra::json::try_parse_members(doc, sink, string_sink, &out)) << doc;
        ASSERT_EQ(out, (std::vector<std::string>{"a:" + text, key + "=1", "b:end"}))
            << "byte " << c << " at " << pos << " of " << len;
      }
    }
  }
}

// try_parse_members reads the common shape (no whitespace, plain ASCII top-level strings) itself
// and leaves everything else to Boost's parser; both must hand over the same members and agree
// on validity. A space after the opening brace is valid JSON that always takes the general path.
TEST(JsonParse, FastAndGeneralPathsAgree) {
  std::vector<std::string> docs = {
      R"({})",
      R"({"to":"a:/","frm":"b:/","mid":"m-1","bdy":{"x":[1,2,{"y":"}]{["}],"s":"q\"}\\"}})",
      R"({"a":{"b":1},"c":[1,[2,[3]]],"d":true,"e":false,"f":null,"g":-1.5e3,"h":""})",
      R"({"n":1e400,"m":-0,"o":0.1,"p":12345678901234567890,"q":-9007199254740993})",
      R"({"a":"x","a":{"b":1},"frm":"1","from":"2"})",
      R"({"a":1 })",
      R"({"a":1 ,"b":[2] })",
      R"({"a":"tab\there","b":"\u00e9"})",
      "{\"a\":\"\xC3\xA9\",\"\xC3\xA9\":1}",
      R"({"a":[],"b":{},"c":[{}],"d":[[]]})",
      R"({"a":"x"} )",
      // Plain values (read without Boost's parser), and values given up on half-way.
      R"({"bdy":{"echoed":{"echo":true,"n":12345}},"a":[1,-2,"x",null,false,[],{}]})",
      R"({"a":{"b":[1,2,"\u00e9"]},"c":{"d":1},"e":[{"f":"\\"}],"g":[7]})",
      "{\"a\":[\"\xC3\xA9\",1],\"b\":{\"c\":1}}",
      R"({"a":[1,2,3 ],"b":{"c": 1},"d":[1]})",
      R"({"a":{"b":1,"b":2,"c":3,"b":4},"d":[{"e":1,"e":[2]}]})",
      R"({"a":-0,"b":[-0],"c":{"d":0},"e":[-0.0,0.0]})",
      R"({"a":123456789012345678,"b":1234567890123456789,"c":-9223372036854775808})",
      R"({"d":18446744073709551615,"e":18446744073709551616,"f":[-123456789012345678]})",
      R"({"a":[1e2,1E2,1.0,10,1e-2,-1]})",
      "{\"a\":{\"\xC3\xA9\":1},\"b\":[\"\xC3\xA9\"]}",
      // Invalid: the fast path must not accept any of these.
      R"({"a":tr})",
      R"({"a":nulll})",
      R"({"a":[1,]})",
      R"({"a":{"b":1,}})",
      R"({"a":{,}})",
      R"({"a":[,1]})",
      R"({"a":--1})",
      R"({"a":{"b"}})",
      R"({"a":{"b":1"c":2}})",
      R"({"a":[01]})",
      R"({"a":[1}})",
      R"({"a":{"b":[}]}})",
      "{\"a\":[\"\x01\"]}",
      R"({"a":{"b":}})",
      R"({"a":tru})",
      R"({"a":1,})",
      R"({"a":1 2})",
      R"({"a":[1,2})",
      R"({"a":{"b":1]})",
      R"({"a":[1,2]]})",
      R"({"a":1}})",
      R"({"a":"x"}x)",
      R"({"a":01})",
      R"({"a":.5})",
      R"({"a":"unterminated)",
      R"({"a":{"b":"\"}"})",
      R"({"a":[1,{"b":"]"})",
      R"({"a")",
      R"({"a":)",
      R"({"a":-})",
      R"({"a":1"b":2})",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\xFF\"}",
      "{\"a\":{\"b\":\"\xFF\"}}",
  };
  // More members than the fast path takes at once, and deep nesting on both sides of its limit.
  std::string many = "{";
  for (int i = 0; i < 40; ++i)
    many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  docs.push_back(many + "}");
  for (int depth : {255, 256, 257, 300}) {
    docs.push_back(R"({"d":)" + std::string(static_cast<std::size_t>(depth), '[') +
                   std::string(static_cast<std::size_t>(depth), ']') + "}");
  }
  for (const auto& doc : docs) {
    bool fast_ok = false;
    bool general_ok = false;
    const auto fast = typed_members_of(doc, &fast_ok);
    const auto general = typed_members_of("{ " + doc.substr(1), &general_ok);
    EXPECT_EQ(fast_ok, general_ok) << doc;
    EXPECT_EQ(fast_ok, hydra::json::try_parse(doc).has_value()) << doc;
    if (fast_ok && general_ok) {
      EXPECT_EQ(fast, general) << doc;
    }
  }
  // Values the fast path hands over, checked outright.
  EXPECT_EQ(members_of(R"({"s":"x]}","o":{"k":"\"{"},"n":-2})"),
            (std::vector<std::string>{R"(s="x]}")", R"(o={"k":"\"{"})", "n=-2"}));
  // "-0" is left to Boost's parser, which makes it the integer 0 (written "0", as JS writes -0).
  EXPECT_EQ(typed_members_of(R"({"b":{"n":12345,"t":true,"s":"x","z":null,"a":[-7,{}]},"m":-0})"),
            (std::vector<std::string>{
                R"(b={"n":12345,"t":true,"s":"x","z":null,"a":[-7,{}]}|{ibsn[i{}]})", "m=0|i"}));
}

// Random top-level objects, most in the fast path's shape and some not, many of them damaged
// by one edit: both paths must agree on every one.
class MemberDocGenerator {
 public:
  explicit MemberDocGenerator(std::uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::string out = "{";
    const auto n = below(7);
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      out += string_text(true);
      out += ':';
      out += value(0);
    }
    out += '}';
    if (below(2) == 0) damage(out);
    return out;
  }

 private:
  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  // A JSON string of a few pieces. At the top level most are plain (what the fast path takes),
  // so that most documents exercise it; nested ones mix in escapes and non-ASCII freely.
  std::string string_text(bool top = false) {
    static constexpr const char* kPlain[] = {"to", "bdy", "a",     "x]}", "{[",
                                             ",:", " ",   "12345", "mid"};
    static constexpr const char* kOther[] = {"\\\"", "\\\\", "\\u00e9", "\xC3\xA9", "\\n", "\\/"};
    const bool plain_only = top && below(10) != 0;
    std::string s = "\"";
    const auto n = below(4);
    for (std::size_t i = 0; i < n; ++i) {
      if (plain_only || below(2) == 0) {
        s += kPlain[below(std::size(kPlain))];
      } else {
        s += kOther[below(std::size(kOther))];
      }
    }
    return s + "\"";
  }

  std::string value(int depth) {
    static constexpr const char* kScalars[] = {"0",
                                               "-0",
                                               "1.5",
                                               "1e21",
                                               "12345678901234567890",
                                               "true",
                                               "false",
                                               "null",
                                               "-2.5E-3",
                                               "007",
                                               "7",
                                               "-12",
                                               "123456789012345678",
                                               "-123456789012345678",
                                               "1234567890123456789",
                                               "-9223372036854775808",
                                               "9223372036854775808",
                                               "1.0",
                                               "2E3",
                                               "-"};
    switch (below(depth < 3 ? 5 : 3)) {
      case 0:
      case 1:
        return string_text(depth == 0);
      case 2:
        return kScalars[below(std::size(kScalars))];
      case 3: {
        std::string a = "[";
        const auto n = below(4);
        for (std::size_t i = 0; i < n; ++i)
          a += (i ? "," : "") + value(depth + 1);
        return a + "]";
      }
      default: {
        std::string o = "{";
        const auto n = below(4);
        for (std::size_t i = 0; i < n; ++i)
          o += (i ? "," : "") + string_text() + ":" + value(depth + 1);
        return o + "}";
      }
    }
  }

  // One character removed, replaced or inserted (a structural one, a quote, a backslash or a
  // space), anywhere.
  void damage(std::string& s) {
    static constexpr char kChars[] = {'{', '}', '[', ']', '"', ',', ':', '\\', ' ', 'x', '1'};
    const auto at = below(s.size() + 1);
    const char c = kChars[below(sizeof kChars)];
    switch (below(3)) {
      case 0:
        if (at < s.size()) s.erase(at, 1);
        break;
      case 1:
        if (at < s.size()) s[at] = c;
        break;
      default:
        s.insert(at, 1, c);
        break;
    }
  }

  std::mt19937 rng_;
};

TEST(JsonParse, FastAndGeneralPathsAgreeOnGeneratedDocuments) {
  MemberDocGenerator gen(20261122);
  int valid = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string doc = gen.document();
    bool fast_ok = false;
    bool general_ok = false;
    const auto fast = typed_members_of(doc, &fast_ok);
    // Whitespace after the opening brace: the same document for JSON, the general path for us
    // (a document damaged at its first character is compared with try_parse only).
    if (doc.size() > 1 && doc[0] == '{') {
      const auto general = typed_members_of("{ " + doc.substr(1), &general_ok);
      EXPECT_EQ(fast_ok, general_ok) << doc;
      if (fast_ok && general_ok) {
        EXPECT_EQ(fast, general) << doc;
      }
    }
    const auto whole = hydra::json::try_parse(doc);
    EXPECT_EQ(fast_ok, whole && whole->is_object()) << doc;
    valid += fast_ok ? 1 : 0;
  }
  // The generator must produce both kinds in numbers, or the comparison proves little.
  EXPECT_GT(valid, 1000);
  EXPECT_LT(valid, 2900);
}

using std::chrono::milliseconds;
using std::chrono::system_clock;

system_clock::time_point at_ms(std::int64_t ms) {
  return system_clock::time_point(milliseconds(ms));
}

TEST(JsonIsoTimestamp, FormatsLikeToIsoString) {
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(1709251199999)), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(951782400000)), "2000-02-29T00:00:00.000Z");
  // Sub-millisecond parts are truncated, as a Date holds whole milliseconds.
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(1500) + std::chrono::microseconds(999)),
            "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(hydra::json::iso_timestamp(at_ms(-1) + std::chrono::microseconds(1)),
            "1969-12-31T23:59:59.999Z");
  const std::string now = hydra::json::iso_now();
  ASSERT_EQ(now.size(), 24u);
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(JsonIsoTimestamp, ParsesBack) {
  for (std::int64_t ms : {0LL, -1LL, 1709251199999LL, 951782400000LL, 4102444800123LL}) {
    const auto text = hydra::json::iso_timestamp(at_ms(ms));
    const auto parsed = hydra::json::parse_iso_timestamp(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, at_ms(ms)) << text;
  }
  EXPECT_EQ(hydra::json::parse_iso_timestamp("2024-01-02T03:04:05Z"), at_ms(1704164645000));
  EXPECT_EQ(hydra::json::parse_iso_timestamp("2024-01-02T03:04:05+00:00"), at_ms(1704164645000));
  EXPECT_EQ(hydra::json::parse_iso_timestamp("2024-01-02T03:04:05.5+00:00"), at_ms(1704164645500));
  EXPECT_EQ(hydra::json::parse_iso_timestamp("2024-01-02T03:04:05.123456Z"),
            at_ms(1704164645123) + std::chrono::microseconds(456));
  for (const char* bad : {"", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02T03:04:05.Z",
                          "2024-13-02T03:04:05Z", "2023-02-29T00:00:00Z", "2024-01-02T24:00:00Z",
                          "2024-01-02T03:60:00Z", "2024-01-02T03:04:05+01:00",
                          "2024-01-02 03:04:05Z", "2024-01-02T03:04:05Zx", "24-01-02T03:04:05Z"}) {
    EXPECT_FALSE(hydra::json::parse_iso_timestamp(bad)) << bad;
  }
}

}  // namespace

// The appender writes exactly what it is given whatever the string held or could hold before:
// empty, short, long, with a large spare capacity (grown within it, never reallocated), and
// through both room()/advance_to() and put().
TEST(Appender, AppendsExactlyWhateverTheStringHeld) {
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    std::string out(rng() % 3 == 0 ? rng() % 5000 : rng() % 20, 'p');
    const std::string prefix = out;
    const std::size_t reserved = rng() % 2 == 0 ? std::size_t{1} << 20 : 0;
    out.reserve(reserved);
    const std::size_t capacity = out.capacity();
    std::string expected = prefix;
    {
      hydra::Appender a(out);
      const int pieces = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < pieces; ++i) {
        std::string piece(rng() % 4 == 0 ? rng() % 3000 : rng() % 30,
                          static_cast<char>('a' + i % 26));
        expected += piece;
        if (rng() % 2 == 0) {
          a.put(piece);
        } else {
          char* p = a.room(piece.size() + 7);  // more room than used
          std::memcpy(p, piece.data(), piece.size());
          a.advance_to(p + piece.size());
        }
      }
    }
    ASSERT_EQ(out, expected) << "round " << round;
    if (reserved && expected.size() <= reserved) {
      EXPECT_EQ(out.capacity(), capacity);
    }
  }
}
