// Compiles and matches route patterns exactly as the `route-parser` npm package (0.0.5) does.
#include "hydra/route_pattern.hpp"

#include <cstdint>
#include <functional>
#include <regex>
#include <utility>
#include <vector>

#include "hydra/error.hpp"

namespace hydra {
namespace {

// route-parser's lexer (jison, first matching rule wins) feeds this grammar:
//   root := expression* EOF;  expression := '(' expression+ ')' | LITERAL | SPLAT | PARAM
// with the token rules, in order:  (  )  \*+\w+  :+\w+  [\w%\-~\n]+  .  $
// and its RegexpVisitor turns the tree into ^…(?=\?|$) where a Param is ([^/?]+), a Splat is the
// lazy ([^?]*?), an optional group is (?:…)? and literals are escaped — except `*`, which its
// escape set misses, so a lone `*` acts as a regex quantifier on what precedes it.

struct Node {
  enum class Kind { literal, param, splat, optional, star };
  Kind kind;
  std::string text;  // literal text
  int capture = -1;  // capture index for param/splat
  std::vector<Node> children;
};

using Sequence = std::vector<Node>;

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

[[noreturn]] void fail(const std::string& pattern, const std::string& why) {
  throw Error(errc::invalid_argument, "invalid route pattern '" + pattern + "': " + why);
}

class Parser {
 public:
  Parser(const std::string& pattern, std::vector<std::string>& names)
      : p_(pattern), names_(names) {}

  Sequence parse() {
    Sequence root = sequence(0);
    if (pos_ < p_.size()) fail(p_, "unbalanced ')'");
    return root;
  }

  bool has_star() const { return has_star_; }

 private:
  Sequence sequence(int depth) {
    Sequence seq;
    while (pos_ < p_.size()) {
      const char c = p_[pos_];
      if (c == ')') {
        if (depth == 0) fail(p_, "unbalanced ')'");
        return seq;
      }
      if (c == '(') {
        ++pos_;
        Node group{Node::Kind::optional, {}, -1, sequence(depth + 1)};
        if (pos_ >= p_.size()) fail(p_, "unbalanced '('");
        if (group.children.empty()) fail(p_, "empty optional group '()'");
        ++pos_;  // ')'
        seq.push_back(std::move(group));
        continue;
      }
      if (c == '*' || c == ':') {
        size_t end = pos_;
        while (end < p_.size() && p_[end] == c)
          ++end;
        size_t name_end = end;
        while (name_end < p_.size() && is_word(p_[name_end]))
          ++name_end;
        if (name_end > end) {
          // The name is the token minus its first character, so `::a` names a parameter ":a".
          names_.push_back(p_.substr(pos_ + 1, name_end - pos_ - 1));
          seq.push_back({c == '*' ? Node::Kind::splat : Node::Kind::param,
                         {},
                         static_cast<int>(names_.size() - 1),
                         {}});
          pos_ = name_end;
          continue;
        }
      }
      if (c == '*') {
        has_star_ = true;
        seq.push_back({Node::Kind::star, "*", -1, {}});
        ++pos_;
        continue;
      }
      // JavaScript's `.` does not match CR, U+2028 or U+2029, so the lexer rejects them.
      if (c == '\r' || p_.compare(pos_, 3, "\xE2\x80\xA8") == 0 ||
          p_.compare(pos_, 3, "\xE2\x80\xA9") == 0) {
        fail(p_, "unrecognized character");
      }
      if (!seq.empty() && seq.back().kind == Node::Kind::literal) {
        seq.back().text.push_back(c);
      } else {
        seq.push_back({Node::Kind::literal, std::string(1, c), -1, {}});
      }
      ++pos_;
    }
    if (depth > 0) fail(p_, "unbalanced '('");
    return seq;
  }

  const std::string& p_;
  std::vector<std::string>& names_;
  size_t pos_ = 0;
  bool has_star_ = false;
};

// The ECMAScript-flavour regex route-parser would build, for the rare patterns whose bare `*`
// makes them genuine regexes. Literals are hex-escaped so std::regex sees exactly one meaning.
void to_regex(const Sequence& seq, std::string& re, const std::string& pattern) {
  static constexpr char kHex[] = "0123456789abcdef";
  // JS rejects a quantifier with nothing (or another quantifier) before it; std::regex would
  // accept some of those, so check here.
  bool quantifiable = false;
  for (const Node& n : seq) {
    switch (n.kind) {
      case Node::Kind::literal:
        for (const char ch : n.text) {
          const auto u = static_cast<unsigned char>(ch);
          if (is_word(ch) || u >= 0x80) {
            re.push_back(ch);
          } else {
            re += "\\x";
            re.push_back(kHex[u >> 4]);
            re.push_back(kHex[u & 0xF]);
          }
        }
        quantifiable = true;
        break;
      case Node::Kind::param:
        re += "([^/?]+)";
        quantifiable = true;
        break;
      case Node::Kind::splat:
        re += "([^?]*?)";
        quantifiable = false;  // ends in the lazy quantifier `*?`
        break;
      case Node::Kind::optional:
        re += "(?:";
        to_regex(n.children, re, pattern);
        re += ")?";
        quantifiable = false;
        break;
      case Node::Kind::star:
        if (!quantifiable) fail(pattern, "'*' has nothing to repeat");
        re.push_back('*');
        quantifiable = false;
        break;
    }
  }
}

// Backtracking matcher with JavaScript's regex priorities: a param is greedy, a splat lazy, an
// optional group is tried before it is skipped, and a group iteration that consumes nothing is
// rejected (ES RepeatMatcher), so `(*rest)` never matches the empty string.
class Matcher {
 public:
  using Captures = std::vector<std::pair<size_t, size_t>>;
  static constexpr size_t kUnset = static_cast<size_t>(-1);

  Matcher(std::string_view path, size_t ncaptures)
      : path_(path), caps_(ncaptures, {kUnset, kUnset}) {}

  bool run(const Sequence& root) {
    return seq(root, 0, 0, [this](size_t p) { return p == path_.size() || path_[p] == '?'; });
  }

  const Captures& captures() const { return caps_; }

 private:
  using Cont = std::function<bool(size_t)>;

  bool seq(const Sequence& s, size_t i, size_t pos, const Cont& k) {
    if (i == s.size()) return k(pos);
    const Node& n = s[i];
    switch (n.kind) {
      case Node::Kind::literal:
        if (path_.substr(pos, n.text.size()) != n.text) return false;
        return seq(s, i + 1, pos + n.text.size(), k);
      case Node::Kind::param: {
        size_t max = pos;
        while (max < path_.size() && path_[max] != '/' && path_[max] != '?')
          ++max;
        for (size_t end = max; end > pos; --end) {
          if (capture_then(n.capture, pos, end, [&] { return seq(s, i + 1, end, k); })) return true;
        }
        return false;
      }
      case Node::Kind::splat: {
        size_t max = pos;
        while (max < path_.size() && path_[max] != '?')
          ++max;
        for (size_t end = pos; end <= max; ++end) {
          if (capture_then(n.capture, pos, end, [&] { return seq(s, i + 1, end, k); })) return true;
        }
        return false;
      }
      case Node::Kind::optional: {
        const Cont after = [&](size_t p) { return p != pos && seq(s, i + 1, p, k); };
        const Captures saved = caps_;
        if (seq(n.children, 0, pos, after)) return true;
        caps_ = saved;
        return seq(s, i + 1, pos, k);
      }
      case Node::Kind::star:
        break;  // such patterns go to std::regex instead
    }
    return false;
  }

  template <typename F>
  bool capture_then(int index, size_t begin, size_t end, F&& next) {
    const auto saved = caps_[index];
    caps_[index] = {begin, end};
    if (next()) return true;
    caps_[index] = saved;
    return false;
  }

  std::string_view path_;
  Captures caps_;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// decodeURIComponent over UTF-8: escapes must form well-formed UTF-8 (no overlongs, surrogates or
// code points past U+10FFFF) or it fails, as the JS function throws URIError.
std::optional<std::string> decode_uri_component(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto byte_at = [&](size_t i) -> int {
    if (i + 2 >= s.size() || s[i] != '%') return -1;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  };
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '%') {
      out.push_back(s[i++]);
      continue;
    }
    const int b0 = byte_at(i);
    if (b0 < 0) return std::nullopt;
    i += 3;
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(b0));
      continue;
    }
    int extra = 0;
    std::uint32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
      extra = 1;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      extra = 2;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      extra = 3;
      cp = b0 & 0x07;
    } else {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(b0));
    for (int j = 0; j < extra; ++j) {
      const int b = byte_at(i);
      if (b < 0 || (b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
      out.push_back(static_cast<char>(b));
      i += 3;
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  }
  return out;
}

}  // namespace

struct RoutePattern::Impl {
  Sequence root;
  std::vector<std::string> names;
  std::optional<std::regex> regex;  // only for patterns containing a bare `*`
};

RoutePattern::RoutePattern(std::string pattern)
    : pattern_(std::move(pattern)), impl_(std::make_unique<Impl>()) {
  Parser parser(pattern_, impl_->names);
  impl_->root = parser.parse();
  if (parser.has_star()) {
    std::string re = "^";
    to_regex(impl_->root, re, pattern_);
    re += "(?=[?]|$)";
    try {
      impl_->regex.emplace(re, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(pattern_, e.what());
    }
  }
}

RoutePattern::~RoutePattern() = default;
RoutePattern::RoutePattern(RoutePattern&&) noexcept = default;
RoutePattern& RoutePattern::operator=(RoutePattern&&) noexcept = default;

std::optional<std::map<std::string, std::string>> RoutePattern::match(std::string_view path) const {
  std::vector<std::pair<size_t, size_t>> caps;
  if (impl_->regex) {
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(path.begin(), path.end(), m, *impl_->regex)) return std::nullopt;
    for (size_t i = 1; i < m.size(); ++i) {
      if (m[i].matched) {
        caps.emplace_back(m[i].first - path.begin(), m[i].second - path.begin());
      } else {
        caps.emplace_back(Matcher::kUnset, Matcher::kUnset);
      }
    }
  } else {
    Matcher matcher(path, impl_->names.size());
    if (!matcher.run(impl_->root)) return std::nullopt;
    caps = matcher.captures();
  }
  // Assigned in capture order, so with a repeated name the last capture wins — even an unset one,
  // which JS stores as undefined and we leave out.
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < impl_->names.size() && i < caps.size(); ++i) {
    const std::string& name = impl_->names[i];
    if (caps[i].first == Matcher::kUnset) {
      params.erase(name);
      continue;
    }
    auto decoded = decode_uri_component(path.substr(caps[i].first, caps[i].second - caps[i].first));
    if (!decoded) return std::nullopt;  // JS throws URIError here; for us the path does not match
    params[name] = std::move(*decoded);
  }
  return params;
}

}  // namespace hydra
