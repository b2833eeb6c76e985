// Compares hydra::json::stringify byte for byte with Node's JSON.stringify on generated documents.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hydra/json.hpp"
#include "support/process.hpp"

namespace {

namespace bj = boost::json;

bool node_available() {
  try {
    const auto [status, out] =
        hydra::test::run_command({"node", "--version"}, {}, std::chrono::seconds(20));
    return status == 0 && !out.empty() && out[0] == 'v';
  } catch (...) {
    return false;
  }
}

// Runs every line of `lines` through JSON.stringify(JSON.parse(line)) in Node.
std::vector<std::string> node_roundtrip(const std::vector<std::string>& lines) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hydra_json_compare_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream f(path, std::ios::binary);
    for (const auto& line : lines)
      f << line << '\n';
  }
  const std::string script =
      "const fs = require('fs');"
      "const lines = fs.readFileSync(process.argv[1], 'utf8').split('\\n');"
      "lines.pop();"
      "process.stdout.write(lines.map(l => JSON.stringify(JSON.parse(l))).join('\\n') + '\\n');";
  const auto [status, out] =
      hydra::test::run_command({"node", "-e", script, path.string()}, {}, std::chrono::seconds(60));
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << out;
  std::vector<std::string> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  bj::value document() { return value(0); }

 private:
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }

  bj::value value(int depth) {
    const auto pick = below(depth >= 4 ? 6 : 8);
    switch (pick) {
      case 0:
        return nullptr;
      case 1:
        return below(2) == 0;
      case 2:
        return number_double();
      case 3:
        return number_integer();
      case 4:
      case 5:
        return bj::string(text());
      case 6: {
        bj::array a;
        const auto n = below(6);
        for (std::uint64_t i = 0; i < n; ++i)
          a.push_back(value(depth + 1));
        return a;
      }
      default: {
        bj::object o;
        const auto n = below(6);
        // Keys never look like array indices: JS objects list those first, in numeric order,
        // whereas insertion order is kept here.
        for (std::uint64_t i = 0; i < n; ++i)
          o["k" + text()] = value(depth + 1);
        return o;
      }
    }
  }

  double number_double() {
    static const double kSpecial[] = {1e-7,     1e21,   1e300,  5e-324, -0.0,
                                      1e-6,     1e20,   0.1,    0.3,    1.7976931348623157e308,
                                      2.5e-308, 123.45, 1e-300, -1e21,  9.999999999999999e20,
                                      0.000001, 1.5,    4.35,   1e16,   9007199254740993.0};
    switch (below(4)) {
      case 0:
        return kSpecial[below(std::size(kSpecial))];
      case 1: {
        double d;
        do {
          d = std::bit_cast<double>(static_cast<std::uint64_t>(rng_()));
        } while (!std::isfinite(d));
        return d;
      }
      case 2: {
        // A short decimal mantissa at a random decimal exponent.
        const double mantissa = static_cast<double>(below(100000)) / 1000.0;
        const int exp10 = static_cast<int>(below(640)) - 320;
        double d = mantissa * std::pow(10.0, exp10);
        if (!std::isfinite(d)) d = mantissa;
        return below(2) ? -d : d;
      }
      default: {
        const double d = std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
        return below(3) == 0 ? std::round(d) : d;
      }
    }
  }

  bj::value number_integer() {
    constexpr std::int64_t two53 = std::int64_t{1} << 53;
    switch (below(5)) {
      case 0:
        return two53 + static_cast<std::int64_t>(below(9)) - 4;
      case 1:
        return -two53 - static_cast<std::int64_t>(below(9)) + 4;
      case 2:
        return static_cast<std::uint64_t>(rng_());
      case 3:
        return static_cast<std::int64_t>(rng_());
      default:
        return static_cast<std::int64_t>(below(2000)) - 1000;
    }
  }

  std::string text() {
    static const char* const kPieces[] = {"a",
                                          "Z",
                                          " ",
                                          "/",
                                          "\"",
                                          "\\",
                                          "\x7f",
                                          "\x01",
                                          "\x1f",
                                          "\b",
                                          "\t",
                                          "\n",
                                          "\f",
                                          "\r",
                                          "\x0b",
                                          "\xC3\xA9",
                                          "\xE2\x82\xAC",
                                          "\xE2\x80\xA8",
                                          "\xE2\x80\xA9",
                                          "\xEF\xBF\xBF",
                                          "\xF0\x9F\x98\x80",
                                          "\xE4\xB8\xAD",
                                          "<",
                                          "&",
                                          "'",
                                          "0",
                                          "9",
                                          "\\u",
                                          "{}",
                                          "[",
                                          ":",
                                          ",",
                                          "\x00"};
    std::string s;
    const auto n = below(8);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto* piece = kPieces[below(std::size(kPieces))];
      if (piece[0] == '\0') {
        s.push_back('\0');
      } else {
        s += piece;
      }
    }
    return s;
  }

  std::mt19937_64 rng_;
};

void compare_lines_with_node(const std::vector<std::string>& lines) {
  const auto expected = node_roundtrip(lines);
  ASSERT_EQ(expected.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    // Re-parse the text as a peer's message would be, so numbers take the kinds parsing gives.
    const auto parsed = hydra::json::try_parse(lines[i]);
    ASSERT_TRUE(parsed) << lines[i];
    EXPECT_EQ(hydra::json::stringify(*parsed), expected[i]) << "input: " << lines[i];
  }
}

void compare_with_node(const std::vector<bj::value>& docs) {
  std::vector<std::string> lines;
  for (const auto& d : docs)
    lines.push_back(bj::serialize(d));
  compare_lines_with_node(lines);
}

TEST(JsonNodeCompare, GeneratedDocuments) {
  if (!node_available()) GTEST_SKIP() << "node is not on PATH";
  Generator gen(0x4879647261ull);
  std::vector<bj::value> docs;
  for (int i = 0; i < 400; ++i)
    docs.push_back(gen.document());
  compare_with_node(docs);
}

TEST(JsonNodeCompare, DoublesAcrossMagnitudes) {
  if (!node_available()) GTEST_SKIP() << "node is not on PATH";
  std::mt19937_64 rng(7);
  bj::array all;
  for (int e = -325; e <= 308; ++e) {
    all.push_back(std::pow(10.0, e));
    all.push_back(1.2345678901234567 * std::pow(10.0, e));
    all.push_back(-std::pow(2.0, e % 1075));
  }
  for (int i = 0; i < 2000; ++i) {
    const double d = std::bit_cast<double>(static_cast<std::uint64_t>(rng()));
    if (std::isfinite(d)) all.push_back(d);
  }
  std::vector<bj::value> docs;
  for (size_t i = 0; i < all.size(); i += 50) {
    bj::array chunk;
    for (size_t j = i; j < all.size() && j < i + 50; ++j)
      chunk.push_back(all[j]);
    docs.emplace_back(std::move(chunk));
  }
  compare_with_node(docs);
}

TEST(JsonNodeCompare, HandWrittenEdgeCases) {
  if (!node_available()) GTEST_SKIP() << "node is not on PATH";
  const std::vector<std::string> inputs = {
      R"([1.0,1.5E0,-0,-0.0,1E21,1E-7,1e-6,5E-324,1e400,-1e400])",
      R"([9007199254740993,18446744073709551615,18446744073709551616,-9223372036854775809])",
      R"({"z":{"y":{"x":[[],{},[{}]]}},"a":"\u0000\u001f\u007f\u2028\ud83d\ude00\/"})",
      R"(["\"\\\b\f\n\r\t","é€😀",""])",
      R"({"":"","k":null,"t":true,"f":false})",
      R"(123456789012345678901234567890)",
      R"(0.1e-1000)",
      R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])",
      R"({"a":1,"b":2,"a":3})",
      R"([1.2345678901234567E-306,2.2250738585072011e-308,0.30000000000000004])",
      R"("just a string")",
  };
  // Fed to Node verbatim: Boost would write the overflowing 1e400 back as `Infinity`.
  compare_lines_with_node(inputs);
}

}  // namespace
