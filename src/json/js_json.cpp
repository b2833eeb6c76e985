// JSON serialisation byte-identical to JavaScript's JSON.stringify, and Date#toISOString.
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hydra/json.hpp"
#include "json/writer.hpp"

namespace hydra::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// A byte needs escaping when it is `"`, `\` or a C0 control; everything else (including `/`, DEL
// and every byte of a multi-byte UTF-8 sequence) is copied raw, as JS does for well-formed text.
// JS escapes lone surrogates as \udxxx; those cannot be represented in valid UTF-8, and malformed
// input bytes are copied through unchanged rather than guessed at.
constexpr bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

// The first byte at or after `p` that needs escaping, or `end`; with `NonAscii`, also the first
// byte of 0x80 or above (what the parser's fast path leaves to Boost's UTF-8 checks).
template <bool NonAscii = false>
const char* next_marked(const char* p, const char* end) {
#if defined(__SSE2__)
  // 16 bytes at a time: `"`, `\` and bytes up to 0x1f (unsigned) marked, the first one found.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  auto marks = [&](__m128i x) {
    __m128i marked =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                     _mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x));
    int mask = _mm_movemask_epi8(marked);
    if constexpr (NonAscii) mask |= _mm_movemask_epi8(x);  // the high bit of each byte
    return mask;
  };
  if (end - p < 16) {
    if (end - p >= 8) {
      // The first and the last 8 bytes (overlapping) in one register: a mark in the low half is
      // the first; else the high half's first mark is, as its overlap with the low half is clean.
      std::uint64_t lo = 0;
      std::uint64_t hi = 0;
      std::memcpy(&lo, p, 8);
      std::memcpy(&hi, end - 8, 8);
      const int mask =
          marks(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
      if (mask & 0xff) return p + __builtin_ctz(static_cast<unsigned>(mask));
      if (mask) return end - 8 + __builtin_ctz(static_cast<unsigned>(mask) >> 8);
      return end;
    }
    // Under 8 bytes: one at a time.
    while (p < end && !needs_escape(static_cast<unsigned char>(*p)) &&
           !(NonAscii && static_cast<unsigned char>(*p) >= 0x80))
      ++p;
    return p;
  }
  while (end - p >= 16) {
    if (const int mask = marks(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))))
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
  if (p < end) {
    // The tail: the last 16 bytes, overlapping bytes already found clean, so the first mark in
    // them is at or after `p`. Nothing is read past `end`.
    const char* last = end - 16;
    if (const int mask = marks(_mm_loadu_si128(reinterpret_cast<const __m128i*>(last))))
      return last + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return end;
#else
  while (p < end && !needs_escape(static_cast<unsigned char>(*p)) &&
         !(NonAscii && static_cast<unsigned char>(*p) >= 0x80))
    ++p;
  return p;
#endif
}

const char* next_escape(const char* p, const char* end) {
  return next_marked<false>(p, end);
}

char* write_escape(char* p, unsigned char c) {
  *p++ = '\\';
  switch (c) {
    case '"':
      *p++ = '"';
      break;
    case '\\':
      *p++ = '\\';
      break;
    case '\b':
      *p++ = 'b';
      break;
    case '\t':
      *p++ = 't';
      break;
    case '\n':
      *p++ = 'n';
      break;
    case '\f':
      *p++ = 'f';
      break;
    case '\r':
      *p++ = 'r';
      break;
    default:
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xF];
  }
  return p;
}

// ECMAScript Number::toString: the shortest round-trip digits laid out by decimal exponent.
// Writes at most kMaxNumber bytes at `p` and returns the end.
char* write_number(char* p, double v) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  if (v == 0) {  // also -0, which JS prints as 0
    *p++ = '0';
    return p;
  }
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  // Scientific form yields the same shortest digit string as JS, in a fixed shape to re-lay out:
  // d[.ddd]e±XX.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const char* e = static_cast<const char*>(std::memchr(buf, 'e', res.ptr - buf));
  char digits[32];
  int k = 0;
  for (const char* q = buf; q < e; ++q) {
    if (*q != '.') digits[k++] = *q;
  }
  int exp10 = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), res.ptr, exp10);
  const int n = exp10 + 1;  // position of the decimal point relative to the digits
  auto copy = [&p](const char* from, int count) {
    std::memcpy(p, from, static_cast<std::size_t>(count));
    p += count;
  };
  auto zeros = [&p](int count) {
    std::memset(p, '0', static_cast<std::size_t>(count));
    p += count;
  };
  if (k <= n && n <= 21) {
    copy(digits, k);
    zeros(n - k);
  } else if (0 < n && n <= 21) {
    copy(digits, n);
    *p++ = '.';
    copy(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    copy("0.", 2);
    zeros(-n);
    copy(digits, k);
  } else {
    *p++ = digits[0];
    if (k > 1) {
      *p++ = '.';
      copy(digits + 1, k - 1);
    }
    *p++ = 'e';
    const int shown = n - 1;
    *p++ = shown < 0 ? '-' : '+';
    p = std::to_chars(p, p + 8, shown < 0 ? -shown : shown).ptr;
  }
  return p;
}
// More than write_number writes: at most a sign and 21 digits, or "-0." with 5 zeros and 17
// digits, or a sign, 17 digits, a point and "e+308".
constexpr std::size_t kMaxNumber = 48;

constexpr std::uint64_t kMaxSafe = std::uint64_t{1} << 53;

template <typename Int>
void write_integer(Writer& w, Int v) {
  char* p = w.room(24);
  w.advance_to(std::to_chars(p, p + 24, v).ptr);
}

void write_double(Writer& w, double v) {
  w.advance_to(write_number(w.room(kMaxNumber), v));
}

}  // namespace

void write_string(Writer& w, std::string_view s) {
  // Room for the text as it is; an escape (rare) makes room for the worst case of one more
  // escape plus the rest.
  const char* in = s.data();
  const char* const end = in + s.size();
  char* p = w.room(s.size() + 2);
  *p++ = '"';
  for (;;) {
    const char* run = in;
    in = next_escape(in, end);
    std::memcpy(p, run, static_cast<std::size_t>(in - run));
    p += in - run;
    if (in == end) break;
    w.advance_to(p);
    p = w.room(static_cast<std::size_t>(end - in) + 6);
    p = write_escape(p, static_cast<unsigned char>(*in++));
  }
  *p++ = '"';
  w.advance_to(p);
}

void write_value(Writer& w, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      w.put("null");
      break;
    case boost::json::kind::bool_:
      w.put(v.get_bool() ? std::string_view("true") : std::string_view("false"));
      break;
    case boost::json::kind::int64: {
      const std::int64_t i = v.get_int64();
      const std::uint64_t mag = i < 0 ? 0 - static_cast<std::uint64_t>(i) : i;
      // Beyond 2^53 JS holds the nearest double, so print that rather than the exact integer.
      if (mag <= kMaxSafe) {
        write_integer(w, i);
      } else {
        write_double(w, static_cast<double>(i));
      }
      break;
    }
    case boost::json::kind::uint64: {
      const std::uint64_t u = v.get_uint64();
      if (u <= kMaxSafe) {
        write_integer(w, u);
      } else {
        write_double(w, static_cast<double>(u));
      }
      break;
    }
    case boost::json::kind::double_:
      write_double(w, v.get_double());
      break;
    case boost::json::kind::string:
      write_string(w, v.get_string());
      break;
    case boost::json::kind::array: {
      w.put('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) w.put(',');
        first = false;
        write_value(w, item);
      }
      w.put(']');
      break;
    }
    case boost::json::kind::object: {
      w.put('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) w.put(',');
        first = false;
        write_string(w, kv.key());
        w.put(':');
        write_value(w, kv.value());
      }
      w.put('}');
      break;
    }
  }
}

namespace {

// Builds a value from boost::json::basic_parser events. Boost 1.81's own value parser can be one
// ulp off for long mantissas and extreme exponents, so every number that is not an exact integer
// is re-read from its text with std::from_chars, which rounds correctly as JSON.parse does.
// Duplicate keys keep the first key's position and the last value, as in a JS object.
//
// Members and elements wait on one flat stack until their container closes, and the container
// is then built at its final size (no rehashing or regrowth while it fills). The builder is
// reused across parses on a thread, so its stacks keep their capacity.
class Builder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code&) { return open(true); }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    const Frame f = close();
    boost::json::array a;
    a.reserve(n);
    for (std::size_t i = f.start; i < items_.size(); ++i)
      a.push_back(std::move(items_[i].value));
    items_.resize(f.start);
    keys_.resize(f.keys_mark);
    return add(std::move(a));
  }
  bool on_object_begin(boost::json::error_code&) { return open(false); }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    if (at_sink_level()) {
      // The top-level object of try_parse_members: its members went to the sink as they came.
      close();
      top_object_ = true;
      return true;
    }
    const Frame f = close();
    boost::json::object o;
    o.reserve(n);
    for (std::size_t i = f.start; i < items_.size(); ++i)
      o.insert_or_assign(key_of(items_[i].key), std::move(items_[i].value));
    items_.resize(f.start);
    keys_.resize(f.keys_mark);
    return add(std::move(o));
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    std::string_view text(s.data(), s.size());
    if (!text_.empty()) {
      text_.append(s.data(), s.size());
      text = text_;
    }
    if (string_sink_ && at_sink_level()) {
      // A top-level string goes to its sink as text: no value made here to be moved there.
      string_sink_(sink_context_, key_of(key_), text);
      keys_.resize(frames_.front().keys_mark);
      key_ = {};
    } else {
      add(boost::json::value(text));
    }
    text_.clear();
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    key_ = {keys_.size(), text_.size() + s.size()};
    if (!text_.empty()) {
      keys_ += text_;
      text_.clear();
    }
    keys_.append(s.data(), s.size());
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
    text_.clear();
    return add(boost::json::value(i));
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
    text_.clear();
    return add(boost::json::value(u));
  }
  bool on_double(double d, boost::json::string_view s, boost::json::error_code&) {
    text_.append(s.data(), s.size());
    double exact = 0;
    const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), exact);
    // Out of range means overflow or underflow, where Boost's ±infinity or 0 is already right.
    if (r.ec == std::errc() && r.ptr == text_.data() + text_.size()) d = exact;
    text_.clear();
    return add(boost::json::value(d));
  }
  bool on_bool(bool b, boost::json::error_code&) { return add(boost::json::value(b)); }
  bool on_null(boost::json::error_code&) { return add(boost::json::value(nullptr)); }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

  boost::json::value take() { return std::move(result_); }
  bool top_object() const { return top_object_; }

  // Back to the empty state (after an error the stacks may hold a partial document).
  void clear(MemberSink sink = nullptr, StringMemberSink string_sink = nullptr,
             void* context = nullptr) {
    items_.clear();
    frames_.clear();
    text_.clear();
    keys_.clear();
    key_ = {};
    result_ = nullptr;
    sink_ = sink;
    string_sink_ = string_sink;
    sink_context_ = context;
    top_object_ = false;
  }

 private:
  // A key: where its text lies in keys_ (empty for array elements). Every key of the open
  // containers is kept in that one buffer, in document order, instead of in a string each.
  struct Key {
    std::size_t at = 0;
    std::size_t size = 0;
  };
  std::string_view key_of(Key k) const { return {keys_.data() + k.at, k.size}; }

  struct Item {
    Key key;
    boost::json::value value;
  };

  // An open container: where its items start, the key it will have in its parent object, and
  // the size of keys_ once that key was in it (its members' keys come after).
  struct Frame {
    std::size_t start;
    Key key;
    std::size_t keys_mark;
    bool array;
  };

  bool open(bool array) {
    frames_.push_back(Frame{items_.size(), key_, keys_.size(), array});
    key_ = {};
    return true;
  }

  // Pops the innermost container and restores the key it goes under; returns its frame.
  Frame close() {
    const Frame f = frames_.back();
    key_ = f.key;
    frames_.pop_back();
    return f;
  }

  // Inside the top-level object of try_parse_members: a completed member goes to the sink at
  // once instead of waiting on the stack.
  bool at_sink_level() const { return sink_ && frames_.size() == 1 && !frames_.front().array; }

  bool add(boost::json::value&& v) {
    if (at_sink_level()) {
      sink_(sink_context_, key_of(key_), std::move(v));
      keys_.resize(frames_.front().keys_mark);
    } else if (frames_.empty()) {
      result_ = std::move(v);
    } else {
      items_.push_back(Item{key_, std::move(v)});
    }
    key_ = {};
    return true;
  }

  std::vector<Item> items_;
  std::vector<Frame> frames_;
  std::string text_;
  std::string keys_;
  Key key_;  // the key of the value being read
  boost::json::value result_;
  MemberSink sink_ = nullptr;
  StringMemberSink string_sink_ = nullptr;
  void* sink_context_ = nullptr;
  bool top_object_ = false;
};

// Howard Hinnant's days_from_civil / civil_from_days: exact for the whole proleptic Gregorian
// range, which std::chrono::year cannot represent beyond ±32767.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

void append_padded(std::string& out, std::int64_t v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  const int len = static_cast<int>(r.ptr - buf);
  if (len < width) out.append(static_cast<size_t>(width - len), '0');
  out.append(buf, r.ptr);
}

bool read_digits(std::string_view s, size_t& pos, size_t count, int& value) {
  if (pos + count > s.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

constexpr bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

void stringify_to(std::string& out, const boost::json::value& value) {
  Writer w(out);
  write_value(w, value);
}

std::string stringify(const boost::json::value& value) {
  std::string out;
  out.reserve(256);
  stringify_to(out, value);
  return out;
}

std::string format_number(double value) {
  char buf[kMaxNumber];
  return std::string(buf, write_number(buf, value));
}

namespace {
// One parser per thread, reset for every document: its stacks and the builder's keep their
// capacity between messages.
boost::json::basic_parser<Builder>& thread_parser() {
  thread_local boost::json::basic_parser<Builder> parser = [] {
    boost::json::parse_options opts;
    // JSON.parse has no nesting limit short of the stack; Boost's default of 32 is far below it.
    opts.max_depth = 10000;
    return boost::json::basic_parser<Builder>(opts);
  }();
  return parser;
}

// Runs `parser` over `text` with the builder set up for `sink`; false on any error.
bool run_parser(boost::json::basic_parser<Builder>& parser, std::string_view text, MemberSink sink,
                StringMemberSink string_sink, void* context) {
  parser.reset();
  parser.handler().clear(sink, string_sink, context);
  boost::json::error_code ec;
  try {
    const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
    return !ec && n == text.size();
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

std::optional<boost::json::value> try_parse(std::string_view text) {
  auto& parser = thread_parser();
  if (!run_parser(parser, text, nullptr, nullptr, nullptr)) return std::nullopt;
  return parser.handler().take();
}

bool try_parse_members(std::string_view text, MemberSink sink, void* context) {
  return try_parse_members(text, sink, nullptr, context);
}

namespace {
// The fast path of try_parse_members, for the shape nearly every message has: a top-level object
// written without whitespace whose keys and string values are plain ASCII without escapes (what
// JSON.stringify writes for UMF's routes, IDs and timestamps). Those are read here directly; each
// other value (the body, headers, numbers) is located by matching its brackets and then read
// alone: by PlainReader when it is as plain as small bodies are, else by Boost's parser, which
// checks it fully. Anything else is left to the general path before a single member has been
// handed over.

// Plain pointers and sizes, so that an array of them is left uninitialised until filled (32
// string_view pairs would be zeroed on every parse).
struct FlatMember {
  const char* key;
  std::size_t key_size;
  const char* value;  // a string's content (without quotes), else the value's JSON text
  std::size_t value_size;
  bool is_string;

  std::string_view key_text() const { return {key, key_size}; }
  std::string_view value_text() const { return {value, value_size}; }
};
static_assert(std::is_trivially_default_constructible_v<FlatMember>);
constexpr std::size_t kMaxFlatMembers = 32;

enum class Flat { parsed, invalid, general };

// The closing quote of a plain string whose content starts at `p`; nullptr when an escape, a
// control character or a non-ASCII byte comes first, or the text ends.
const char* plain_string_end(const char* p, const char* end) {
  p = next_marked<true>(p, end);
  return p < end && *p == '"' ? p : nullptr;
}

// Values nested deeper than this are left to the general path, which applies the nesting limit
// to the whole document.
constexpr std::size_t kMaxFlatDepth = 256;

// The end of the object or array that starts at `p` (its closing bracket, plus one), counting
// brackets outside strings; nullptr when the text ends first or the nesting is deeper than
// kMaxFlatDepth. The brackets' kinds are not matched here: the value is parsed afterwards, and
// in valid JSON the count finds its exact end.
const char* nested_end(const char* p, const char* end) {
  std::size_t depth = 0;
  for (; p < end; ++p) {
    switch (*p) {
      case '"':
        // Skip the string: an escaped character never ends it.
        for (++p;; ++p) {
          p = next_escape(p, end);
          if (p == end) return nullptr;
          if (*p == '"') break;
          if (*p == '\\' && ++p == end) return nullptr;
        }
        break;
      case '{':
      case '[':
        if (++depth > kMaxFlatDepth) return nullptr;
        break;
      case '}':
      case ']':
        if (--depth == 0) return p + 1;
        break;
      default:
        break;
    }
  }
  return nullptr;
}

// Reads a member's value itself when it has the plain shape JSON.stringify gives small bodies:
// no whitespace; strings without escapes, control characters or non-ASCII bytes; integers of at
// most 18 digits without a fraction or an exponent (not "-0": Boost reads that as the integer
// 0, JSON.parse as a double, and it stays Boost's); true, false, null; objects and arrays of
// those. It builds what the Builder builds
// (integers as int64, each container at its final size, a repeated key in its first place with
// its last value). For anything else it gives up, keeping nothing, and Boost's parser reads the
// value: escapes, UTF-8 checks, number rounding and every error stay with Boost. Values nest no
// deeper than nested_end allowed before they get here.
class PlainReader {
 public:
  // The value spelled by exactly `text`; false when `text` is not of the plain shape.
  bool read(std::string_view text, boost::json::value& out) {
    p_ = text.data();
    end_ = p_ + text.size();
    if (value(out) && p_ == end_) return true;
    items_.clear();  // what a container given up half-way left
    return false;
  }

 private:
  struct Item {
    std::string_view key;  // empty for array elements
    boost::json::value value;
  };

  bool value(boost::json::value& out) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        const char* start = ++p_;
        const char* close = plain_string_end(start, end_);
        if (!close) return false;
        out = std::string_view(start, static_cast<std::size_t>(close - start));
        p_ = close + 1;
        return true;
      }
      case '{':
        return container(out, false);
      case '[':
        return container(out, true);
      case 't':
        return literal("true", out, boost::json::value(true));
      case 'f':
        return literal("false", out, boost::json::value(false));
      case 'n':
        return literal("null", out, boost::json::value(nullptr));
      default:
        return integer(out);
    }
  }

  bool literal(std::string_view word, boost::json::value& out, boost::json::value v) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    out = std::move(v);
    return true;
  }

  bool integer(boost::json::value& out) {
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    const char* const digits = p_;
    std::int64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
      v = v * 10 + (*p_++ - '0');
    const auto count = p_ - digits;
    if (count == 0 || count > 18) return false;
    if (*digits == '0' && (count > 1 || negative)) return false;  // "01" is invalid; "-0" Boost's
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    out = negative ? -v : v;
    return true;
  }

  // An object or an array, at `p_`'s bracket.
  bool container(boost::json::value& out, bool array) {
    const char close = array ? ']' : '}';
    ++p_;
    const std::size_t start = items_.size();
    if (p_ < end_ && *p_ == close) {
      ++p_;
    } else {
      for (;;) {
        std::string_view key;
        if (!array) {
          if (p_ == end_ || *p_ != '"') return false;
          const char* k = ++p_;
          const char* k_end = plain_string_end(k, end_);
          if (!k_end || k_end + 1 == end_ || k_end[1] != ':') return false;
          key = std::string_view(k, static_cast<std::size_t>(k_end - k));
          p_ = k_end + 2;
        }
        boost::json::value v;
        if (!value(v)) return false;
        items_.push_back(Item{key, std::move(v)});
        if (p_ == end_) return false;
        if (*p_ == close) break;
        if (*p_++ != ',') return false;
      }
      ++p_;
    }
    if (array) {
      boost::json::array a;
      a.reserve(items_.size() - start);
      for (std::size_t i = start; i < items_.size(); ++i)
        a.push_back(std::move(items_[i].value));
      out = std::move(a);
    } else {
      boost::json::object o;
      o.reserve(items_.size() - start);
      for (std::size_t i = start; i < items_.size(); ++i)
        o.insert_or_assign(items_[i].key, std::move(items_[i].value));
      out = std::move(o);
    }
    items_.resize(start);
    return true;
  }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  // The members and elements of the open containers; kept between values (its capacity too).
  std::vector<Item> items_;
};

PlainReader& plain_reader() {
  thread_local PlainReader reader;
  return reader;
}

// Finds the top-level members of `text` (phase one, nothing handed over yet); false when the
// text is not of the fast path's shape.
bool scan_flat_members(std::string_view text, std::array<FlatMember, kMaxFlatMembers>& members,
                       std::size_t& count) {
  const char* p = text.data();
  const char* const end = p + text.size();
  count = 0;
  if (p == end || *p++ != '{') return false;
  if (p < end && *p == '}') return p + 1 == end;
  for (;;) {
    if (count == kMaxFlatMembers || p == end || *p++ != '"') return false;
    const char* key_end = plain_string_end(p, end);
    if (!key_end || key_end + 1 == end || key_end[1] != ':') return false;
    FlatMember& m = members[count++];
    m.key = p;
    m.key_size = static_cast<std::size_t>(key_end - p);
    p = key_end + 2;
    if (p == end) return false;
    if (*p == '"') {
      const char* value_end = plain_string_end(++p, end);
      if (!value_end) return false;
      m.value = p;
      m.value_size = static_cast<std::size_t>(value_end - p);
      m.is_string = true;
      p = value_end + 1;
    } else {
      const char* start = p;
      if (*p == '{' || *p == '[') {
        p = nested_end(p, end);
        if (!p) return false;
      } else {
        // A number, true, false or null: up to the next separator (the parse checks it).
        while (p < end && *p != ',' && *p != '}')
          ++p;
      }
      m.value = start;
      m.value_size = static_cast<std::size_t>(p - start);
      m.is_string = false;
    }
    if (p == end) return false;
    if (*p == '}') return p + 1 == end;
    if (*p++ != ',') return false;
  }
}

Flat try_parse_flat_members(std::string_view text, MemberSink sink, StringMemberSink string_sink,
                            void* context) {
  std::array<FlatMember, kMaxFlatMembers> members;
  std::size_t count = 0;
  if (!scan_flat_members(text, members, count)) return Flat::general;
  // Phase two: every member handed over in order. A value the parser rejects makes the whole
  // text invalid JSON (its span is exact in any valid text).
  auto& parser = thread_parser();
  for (std::size_t i = 0; i < count; ++i) {
    const FlatMember& m = members[i];
    if (m.is_string) {
      if (string_sink) {
        string_sink(context, m.key_text(), m.value_text());
      } else {
        sink(context, m.key_text(), boost::json::value(m.value_text()));
      }
      continue;
    }
    if (boost::json::value plain; plain_reader().read(m.value_text(), plain)) {
      sink(context, m.key_text(), std::move(plain));
      continue;
    }
    if (!run_parser(parser, m.value_text(), nullptr, nullptr, nullptr)) {
      parser.handler().clear();
      return Flat::invalid;
    }
    sink(context, m.key_text(), parser.handler().take());
  }
  parser.handler().clear();
  return Flat::parsed;
}
}  // namespace

bool try_parse_members(std::string_view text, MemberSink sink, StringMemberSink string_sink,
                       void* context) {
  if (const Flat flat = try_parse_flat_members(text, sink, string_sink, context);
      flat != Flat::general) {
    return flat == Flat::parsed;
  }
  auto& parser = thread_parser();
  const bool ok = run_parser(parser, text, sink, string_sink, context);
  const bool object = parser.handler().top_object();
  parser.handler().clear();
  return ok && object;
}

std::string iso_timestamp(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  // A JS Date holds whole milliseconds; flooring matches it for instants before 1970 too.
  const std::int64_t ms = floor<milliseconds>(tp).time_since_epoch().count();
  std::int64_t days = ms / 86'400'000;
  std::int64_t rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const Civil c = civil_from_days(days);
  std::string out;
  out.reserve(27);
  // Years outside 0000–9999 use the expanded ±YYYYYY form, as toISOString does.
  if (c.year < 0 || c.year > 9999) {
    out.push_back(c.year < 0 ? '-' : '+');
    append_padded(out, c.year < 0 ? -c.year : c.year, 6);
  } else {
    append_padded(out, c.year, 4);
  }
  out.push_back('-');
  append_padded(out, c.month, 2);
  out.push_back('-');
  append_padded(out, c.day, 2);
  out.push_back('T');
  append_padded(out, rem / 3'600'000, 2);
  out.push_back(':');
  append_padded(out, rem / 60'000 % 60, 2);
  out.push_back(':');
  append_padded(out, rem / 1000 % 60, 2);
  out.push_back('.');
  append_padded(out, rem % 1000, 3);
  out.push_back('Z');
  return out;
}

std::string iso_now() {
  return iso_timestamp(std::chrono::system_clock::now());
}

std::optional<std::chrono::system_clock::time_point> parse_iso_timestamp(std::string_view s) {
  size_t pos = 0;
  std::int64_t year = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    const bool neg = s[0] == '-';
    pos = 1;
    int y = 0;
    if (!read_digits(s, pos, 6, y)) return std::nullopt;
    year = neg ? -y : y;
  } else {
    int y = 0;
    if (!read_digits(s, pos, 4, y)) return std::nullopt;
    year = y;
  }
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!expect(s, pos, '-') || !read_digits(s, pos, 2, month) || !expect(s, pos, '-') ||
      !read_digits(s, pos, 2, day) || !expect(s, pos, 'T') || !read_digits(s, pos, 2, hour) ||
      !expect(s, pos, ':') || !read_digits(s, pos, 2, minute) || !expect(s, pos, ':') ||
      !read_digits(s, pos, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month)) || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;  // digits past nanoseconds are dropped
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  const std::string_view zone = s.substr(pos);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;

  using namespace std::chrono;
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86'400 + hour * 3600 + minute * 60 + second;
  // system_clock counts nanoseconds here, which spans only about ±292 years around 1970.
  constexpr std::int64_t kLimit = duration_cast<seconds>(system_clock::duration::max()).count() - 1;
  if (secs > kLimit || secs < -kLimit) return std::nullopt;
  return system_clock::time_point(
      duration_cast<system_clock::duration>(seconds(secs) + nanoseconds(nanos)));
}

}  // namespace hydra::json
