// UMF messages with Node Hydra 1.9.3's normalisation, key orders, routes and signatures.
#include "hydra/umf.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>

#include "hydra/error.hpp"
#include "hydra/json.hpp"
#include "hydra/text.hpp"
#include "json/writer.hpp"
#include "registry/records.hpp"

namespace hydra::umf {

namespace {

constexpr std::array<std::string_view, kFieldCount> kLong = {
    "to",        "from", "headers", "mid", "rmid",    "signature", "timeout",
    "timestamp", "type", "version", "via", "forward", "body",      "authorization"};
constexpr std::array<std::string_view, kFieldCount> kShort = {"to",  "frm", "hdr", "mid", "rmid",
                                                              "sig", "tmo", "ts",  "typ", "ver",
                                                              "via", "fwd", "bdy", "aut"};

// Which fields Node reads under their short name too (to, mid, rmid and via have none).
constexpr std::array<bool, kFieldCount> kShortAlias = {false, true, true, false, false, true, true,
                                                       true,  true, true, false, true,  true, true};

constexpr std::size_t idx(Field f) {
  return static_cast<std::size_t>(f);
}

// The field a top-level key names, and whether under its short alias; nullopt for a key Node
// drops.
struct KeySlot {
  std::size_t index;
  bool is_short;
};
// Each name a key can have, told apart by its length and first two letters (a perfect hash of
// those must exist, checked below), so a lookup finds its one candidate at once and compares its
// text.
constexpr std::uint32_t key_code(std::size_t size, char first, char second) {
  return static_cast<std::uint32_t>(size) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(first)) << 8 |
         static_cast<unsigned char>(second);
}
struct KeyName {
  std::uint32_t code;
  std::size_t index;
  bool is_short;
};
constexpr std::size_t kKeyNames = 24;  // 14 long names and 10 short aliases
constexpr std::array<KeyName, kKeyNames> kKeyNameTable = [] {
  std::array<KeyName, kKeyNames> names{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    names[n++] = {key_code(kLong[i].size(), kLong[i][0], kLong[i][1]), i, false};
    if (kShortAlias[i])
      names[n++] = {key_code(kShort[i].size(), kShort[i][0], kShort[i][1]), i, true};
  }
  return names;
}();
// A perfect hash of the codes into 64 places. The multiplier was found by trying odd numbers
// in turn; the assertion below proves it still has no two names sharing a place.
constexpr std::size_t kHashPlaces = 64;
constexpr std::uint32_t kHashMultiplier = 1'463'309;
constexpr std::size_t hash_place(std::uint32_t code) {
  return (code * kHashMultiplier) >> 26 & (kHashPlaces - 1);
}
constexpr bool perfect_hash() {
  std::array<bool, kHashPlaces> taken{};
  for (const auto& name : kKeyNameTable) {
    if (taken[hash_place(name.code)]) return false;
    taken[hash_place(name.code)] = true;
  }
  return true;
}
static_assert(perfect_hash(), "two key names share a hash place: pick another multiplier");
// Which name sits at each place (kKeyNames where none does).
constexpr std::array<std::uint8_t, kHashPlaces> kKeyPlaces = [] {
  std::array<std::uint8_t, kHashPlaces> places{};
  places.fill(kKeyNames);
  for (std::size_t i = 0; i < kKeyNames; ++i)
    places[hash_place(kKeyNameTable[i].code)] = static_cast<std::uint8_t>(i);
  return places;
}();

std::optional<KeySlot> slot_of(std::string_view key) {
  if (key.size() < 2) return std::nullopt;
  const std::uint32_t code = key_code(key.size(), key[0], key[1]);
  const std::size_t at = kKeyPlaces[hash_place(code)];
  if (at == kKeyNames) return std::nullopt;
  const auto& name = kKeyNameTable[at];
  if (name.code != code || key != (name.is_short ? kShort[name.index] : kLong[name.index])) {
    return std::nullopt;
  }
  return KeySlot{name.index, name.is_short};
}

}  // namespace

std::string_view long_name(Field f) {
  return kLong[idx(f)];
}
std::string_view short_name(Field f) {
  return kShort[idx(f)];
}

bool truthy(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return false;
    case boost::json::kind::bool_:
      return v.get_bool();
    case boost::json::kind::int64:
      return v.get_int64() != 0;
    case boost::json::kind::uint64:
      return v.get_uint64() != 0;
    case boost::json::kind::double_:
      return v.get_double() != 0 && !std::isnan(v.get_double());
    case boost::json::kind::string:
      return !v.get_string().empty();
    default:
      return true;
  }
}

namespace {
// `input.long || input.short` with JavaScript truthiness: the value to take, or nullptr.
template <class Value>
Value* pick(Value* by_long, Value* by_short) {
  if (by_long && truthy(*by_long)) return by_long;
  if (by_short && truthy(*by_short)) return by_short;
  return nullptr;
}

// The value each field takes from an input object, as Node's createMessage picks it (long key
// first, truthy values only): null where it takes none. One pass over the input finds each
// field's long and short key (a JSON object has each key once), instead of looking every name
// up separately. `Object` may be const (the values are then const).
template <class Object>
auto picked_fields(Object& in) {
  using Value =
      std::conditional_t<std::is_const_v<Object>, const boost::json::value, boost::json::value>;
  std::array<Value*, kFieldCount> by_long{};
  std::array<Value*, kFieldCount> by_short{};
  for (auto& kv : in) {
    if (auto slot = slot_of(std::string_view(kv.key().data(), kv.key().size()))) {
      (slot->is_short ? by_short : by_long)[slot->index] = &kv.value();
    }
  }
  std::array<Value*, kFieldCount> picked{};
  for (std::size_t i = 0; i < kFieldCount; ++i)
    picked[i] = pick(by_long[i], by_short[i]);
  return picked;
}
}  // namespace

// `Object` is `const boost::json::object` (values copied) or `boost::json::object` (moved).
template <class Object>
Message Message::create_from(Object& in) {
  const auto picked = picked_fields(in);
  Message m;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    auto* v = picked[i];
    if (!v) continue;
    if constexpr (std::is_const_v<Object>) {
      m.slots()[i] = *v;
    } else {
      m.slots()[i] = std::move(*v);
    }
  }
  m.fill_defaults();
  return m;
}

namespace {
// The current time as json::iso_now writes it, formatted once per millisecond on each thread:
// a busy service stamps many messages within one.
std::string_view timestamp_now() {
  thread_local std::int64_t cached_ms = -1;
  thread_local std::string cached;
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count();
  if (ms != cached_ms) {
    cached = json::iso_timestamp(now);
    cached_ms = ms;
  }
  return cached;
}
}  // namespace

void Message::fill_defaults() {
  auto& f = slots();
  if (!f[idx(Field::mid)]) {
    std::array<char, 36> id;
    registry::write_message_id(id);
    f[idx(Field::mid)].emplace(std::string_view(id.data(), id.size()));
  }
  if (!f[idx(Field::timestamp)]) f[idx(Field::timestamp)].emplace(timestamp_now());
  if (!f[idx(Field::version)]) f[idx(Field::version)].emplace(kVersion);
}

Message::Message(const Message& other)
    : fields_(other.fields_ ? std::make_unique<Slots>(*other.fields_) : nullptr),
      signature_last_(other.signature_last_) {}

Message& Message::operator=(const Message& other) {
  if (this != &other) *this = Message(other);
  return *this;
}

const std::optional<boost::json::value>& Message::slot(std::size_t i) const {
  static const std::optional<boost::json::value> absent;
  return fields_ ? (*fields_)[i] : absent;
}

Message::Slots& Message::slots() {
  if (!fields_) fields_ = std::make_unique<Slots>();
  return *fields_;
}

Message Message::create(const Message& in) {
  // What create(in.to_long()) gives, without the detour through a JSON object: the signature
  // goes back to its place in the field order, as it does in a new object built by Node.
  Message m;
  auto& to = m.slots();
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (const auto& v = in.slot(i); v && truthy(*v)) to[i] = *v;
  }
  m.fill_defaults();
  return m;
}

Message Message::create(const boost::json::object& in) {
  return create_from(in);
}

Message Message::create(boost::json::object&& in) {
  return create_from(in);
}

Message Message::create(std::string_view to, boost::json::value body) {
  Message m;
  auto& fields = m.slots();
  if (!to.empty()) fields[idx(Field::to)].emplace(to);
  if (truthy(body)) fields[idx(Field::body)] = std::move(body);
  m.fill_defaults();
  return m;
}

std::optional<Message> Message::parse(std::string_view text) {
  // The fields are taken from the top-level members as the parser hands them over, straight into
  // the message: the top-level object itself is never built. Same rules as create_from; a
  // repeated key keeps its last value, as JSON.parse does. A field is usually named once, so its
  // value goes to its place; only when both its long and its short key occur does the second
  // kind wait aside until the pick.
  enum Source : unsigned char { none, by_long, by_short };
  struct Found {
    Message message;
    std::array<Source, kFieldCount> source{};
    std::unique_ptr<Slots> other;  // allocated when a field comes under both of its keys

    // Where the value of the member named `key` goes (null for a key Node drops).
    std::optional<boost::json::value>* place(std::string_view key) {
      auto slot = slot_of(key);
      if (!slot) return nullptr;
      const Source kind = slot->is_short ? by_short : by_long;
      auto& from = source[slot->index];
      if (from == none || from == kind) {
        from = kind;
        return &message.slots()[slot->index];
      }
      if (!other) other = std::make_unique<Slots>();
      return &(*other)[slot->index];
    }
  } found;
  auto sink = [](void* context, std::string_view key, boost::json::value&& value) {
    if (auto* place = static_cast<Found*>(context)->place(key)) *place = std::move(value);
  };
  // Strings (most fields) are made in their place from the text.
  auto string_sink = [](void* context, std::string_view key, std::string_view text) {
    if (auto* place = static_cast<Found*>(context)->place(key)) place->emplace(text);
  };
  if (!json::try_parse_members(text, sink, string_sink, &found)) return std::nullopt;
  Message& m = found.message;
  auto& fields = m.slots();
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    auto& field = fields[i];
    if (!field) continue;
    if (auto* other = found.other ? &(*found.other)[i] : nullptr; other && *other) {
      boost::json::value* by_long_value = found.source[i] == by_long ? &*field : &**other;
      boost::json::value* by_short_value = found.source[i] == by_long ? &**other : &*field;
      boost::json::value* v = pick(by_long_value, by_short_value);
      if (!v) {
        field.reset();
      } else if (v != &*field) {
        *field = std::move(*v);
      }
    } else if (!truthy(*field)) {
      field.reset();
    }
  }
  m.fill_defaults();
  return std::move(m);
}

bool Message::validate() const {
  auto ok = [&](Field f) {
    auto* v = get(f);
    return v && truthy(*v);
  };
  return ok(Field::from) && ok(Field::to) && ok(Field::body);
}

boost::json::object Message::to_long() const {
  boost::json::object o;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (signature_last_ && i == idx(Field::signature)) continue;
    if (const auto& v = slot(i)) o[kLong[i]] = *v;
  }
  if (const auto& v = slot(idx(Field::signature)); signature_last_ && v) o["signature"] = *v;
  return o;
}

boost::json::object Message::to_short() const {
  boost::json::object o;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (const auto& v = slot(i); v && truthy(*v)) o[kShort[i]] = *v;
  }
  return o;
}

namespace {
// One field of a message that is written without being built: a JSON value, or text made for
// it (a fresh mid or timestamp). Absent when neither.
struct FieldRef {
  const boost::json::value* value = nullptr;
  std::string_view text;
  bool is_text = false;

  bool present() const { return value != nullptr || is_text; }
  bool is_truthy() const { return value ? truthy(*value) : is_text && !text.empty(); }
  // The string it holds ("" when absent or not a string).
  std::string_view string() const {
    if (is_text) return text;
    if (!value || !value->is_string()) return {};
    const auto& s = value->get_string();
    return {s.data(), s.size()};
  }
};
using FieldRefs = std::array<FieldRef, kFieldCount>;
using FieldValues = std::array<const boost::json::value*, kFieldCount>;

// Writes the short form of `fields`: truthy ones in Node's order, under their short names.
// Short names are plain ASCII, so they need no escaping.
std::string write_short(const FieldRefs& fields) {
  std::string out;
  out.reserve(512);
  {
    json::Writer w(out);
    w.put('{');
    bool first = true;
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      const FieldRef& f = fields[i];
      if (!f.is_truthy()) continue;
      // `,"name":` in one piece (at most 8 bytes).
      char* p = w.room(8);
      if (!first) *p++ = ',';
      first = false;
      *p++ = '"';
      std::memcpy(p, kShort[i].data(), kShort[i].size());
      p += kShort[i].size();
      *p++ = '"';
      *p++ = ':';
      w.advance_to(p);
      if (f.value) {
        json::write_value(w, *f.value);
      } else {
        json::write_string(w, f.text);
      }
    }
    w.put('}');
  }
  return out;
}

// Where each field of a reply comes from in the original when the response does not set it:
// the original's mid as rmid, and to and from swapped.
constexpr std::array<std::size_t, kFieldCount> kReplySource = [] {
  std::array<std::size_t, kFieldCount> a{};
  for (std::size_t i = 0; i < kFieldCount; ++i)
    a[i] = i;
  a[idx(Field::rmid)] = idx(Field::mid);
  a[idx(Field::to)] = idx(Field::from);
  a[idx(Field::from)] = idx(Field::to);
  return a;
}();

// Node's sendReplyMessage rules, field by field: the original's `via` as `to` and its
// `forward`, else the response's field, else the original's with rmid = its mid and to/from
// swapped. `response` holds the response's fields as `create` normalised them; `original` is
// FieldTable::of(the original).
FieldRefs reply_fields(const FieldValues& original, const FieldRefs& response) {
  FieldRefs out;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (response[i].present()) {
      out[i] = response[i];
    } else {
      out[i].value = original[kReplySource[i]];
    }
  }
  if (const auto* via = original[idx(Field::via)]) out[idx(Field::to)] = FieldRef{via, {}, false};
  if (const auto* forward = original[idx(Field::forward)]) {
    out[idx(Field::forward)] = FieldRef{forward, {}, false};
  }
  return out;
}
}  // namespace

// Each field's value in a message, null where absent: one pass over the fields instead of a
// get() per field.
struct FieldTable {
  static FieldValues of(const Message& m) {
    FieldValues out{};
    if (!m.fields_) return out;
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (const auto& v = (*m.fields_)[i]) out[i] = &*v;
    }
    return out;
  }
};

std::string Message::to_short_json() const {
  FieldRefs fields;
  for (std::size_t i = 0; fields_ && i < kFieldCount; ++i) {
    if (const auto& v = (*fields_)[i]) fields[i].value = &*v;
  }
  return write_short(fields);
}

const boost::json::value* Message::get(Field f) const {
  const auto& v = slot(idx(f));
  return v ? &*v : nullptr;
}

void Message::set(Field f, boost::json::value v) {
  slots()[idx(f)] = std::move(v);
}

void Message::erase(Field f) {
  if (fields_) (*fields_)[idx(f)].reset();
}

const boost::json::value& Message::body() const {
  static const boost::json::value null_value;
  const auto* v = get(Field::body);
  return v ? *v : null_value;
}

boost::json::value& Message::mutable_body() {
  auto& v = slots()[idx(Field::body)];
  if (!v) v.emplace();
  return *v;
}

std::string Message::text(Field f) const {
  return std::string(text_view(f));
}

std::string_view Message::text_view(Field f) const {
  const auto* v = get(f);
  if (!v || !v->is_string()) return {};
  const auto& s = v->get_string();
  return {s.data(), s.size()};
}

namespace {
std::string hmac_hex(std::string_view algo, std::string_view secret, std::string_view data) {
  const EVP_MD* md = EVP_get_digestbyname(std::string(algo).c_str());
  if (md == nullptr)
    throw Error(errc::invalid_argument, "unknown HMAC algorithm " + std::string(algo));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len)) {
    throw Error(errc::invalid_argument, "HMAC failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}
}  // namespace

void Message::sign(std::string_view algo, std::string_view secret) {
  erase(Field::signature);
  signature_last_ = false;
  auto sig = hmac_hex(algo, secret, json::stringify(to_long()));
  set(Field::signature, boost::json::string(sig));
  // Node deletes and re-adds the property, so it moves to the end of the long form.
  signature_last_ = true;
}

bool Message::verify(std::string_view algo, std::string_view secret) const {
  const auto* given = get(Field::signature);
  if (!given || !given->is_string()) return false;
  Message copy = *this;
  copy.erase(Field::signature);
  copy.signature_last_ = false;
  auto expected = hmac_hex(algo, secret, json::stringify(copy.to_long()));
  const auto& g = given->get_string();
  return g.size() == expected.size() && CRYPTO_memcmp(g.data(), expected.data(), g.size()) == 0;
}

std::string new_message_id() {
  return registry::new_message_id();
}

std::string short_message_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t n = rng() % (std::uint64_t{1} << 53);
  if (n == 0) return "0";
  std::string out;
  while (n > 0) {
    out += "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
    n /= 36;
  }
  return {out.rbegin(), out.rend()};
}

RouteView parse_route_view(std::string_view to) {
  // Node splits `to` at every ':' and joins the segments after the service's again, so the
  // route is everything after the first ':' (after the second when the service part is an
  // http(s) URL's scheme). Every part is a piece of `to`: the http case's service name runs
  // from the scheme to the next ':', with the ':' between them.
  RouteView r;
  const auto colon = to.find(':');
  if (colon == std::string_view::npos) {
    r.error = "route field has invalid number of routable segments";
    return r;
  }
  std::string_view service = to.substr(0, colon);
  std::string_view route = to.substr(colon + 1);
  if (auto at = service.find('@'); at != std::string_view::npos) {
    std::string_view instance = service.substr(0, at);
    service = service.substr(at + 1);
    if (auto dash = instance.find('-'); dash != std::string_view::npos) {
      // JavaScript split('-'): parts[0] and parts[1]; anything after a second '-' is dropped.
      auto next = instance.find('-', dash + 1);
      r.sub_id = instance.substr(dash + 1, next == std::string_view::npos ? next : next - dash - 1);
      instance = instance.substr(0, dash);
    }
    r.instance = instance;
  }
  if (service.rfind("http", 0) == 0) {
    // "http" and the next segment are the service: "http://host" without its own route.
    const auto next = route.find(':');
    const auto segment = route.substr(0, next);
    service = std::string_view(service.data(), service.size() + 1 + segment.size());
    route = next == std::string_view::npos ? std::string_view() : route.substr(next + 1);
  }
  r.service_name = service;
  if (!route.empty() && route[0] == '[') {
    const auto close = route.find(']');
    if (close == std::string_view::npos) {
      r.error = "route field has ill-formed HTTP method verb in segment";
    } else {
      r.http_method = route.substr(1, close - 1);
      if (!r.http_method->empty()) route = route.substr(close + 1);
    }
  }
  r.api_route = route;
  return r;
}

Route parse_route(std::string_view to) {
  const RouteView v = parse_route_view(to);
  Route r;
  r.instance = v.instance;
  r.sub_id = v.sub_id;
  r.service_name = v.service_name;
  if (v.http_method) r.http_method = ascii_lower(*v.http_method);
  r.api_route = v.api_route;
  r.error = v.error;
  return r;
}

Message make_reply(const Message& original, Message response) {
  // The response's fields are taken over where they stay (same places in the order); only what
  // comes from the original is copied.
  Message reply = std::move(response);
  reply.signature_last_ = false;
  auto& to = reply.slots();
  FieldRefs own;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (to[i]) own[i].value = &*to[i];
  }
  const FieldRefs fields = reply_fields(FieldTable::of(original), own);
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (fields[i].value == own[i].value) continue;
    to[i] = *fields[i].value;  // from the original: reply_fields never makes text
  }
  return reply;
}

ReplyJson reply_json(const Message& original, const boost::json::object& response) {
  // The response's fields picked as create() picks them, with a fresh mid, the current time and
  // the version when it has none.
  const auto values = picked_fields(response);
  FieldRefs picked;
  for (std::size_t i = 0; i < kFieldCount; ++i)
    picked[i].value = values[i];
  std::array<char, 36> id;
  auto fill = [&](Field f, std::string_view text) {
    auto& ref = picked[idx(f)];
    if (ref.present()) return;
    ref.text = text;
    ref.is_text = true;
  };
  if (!picked[idx(Field::mid)].present()) {
    registry::write_message_id(id);
    fill(Field::mid, std::string_view(id.data(), id.size()));
  }
  fill(Field::timestamp, timestamp_now());
  fill(Field::version, kVersion);
  const FieldRefs fields = reply_fields(FieldTable::of(original), picked);
  ReplyJson out;
  out.json = write_short(fields);
  out.valid = fields[idx(Field::to)].is_truthy() && fields[idx(Field::from)].is_truthy() &&
              fields[idx(Field::body)].is_truthy();
  out.to = fields[idx(Field::to)].string();
  out.mid = fields[idx(Field::mid)].string();
  return out;
}

Message make_reply(const Message& original, const boost::json::object& response) {
  return make_reply(original, Message::create(response));
}

Message make_reply(const Message& original, boost::json::object&& response) {
  return make_reply(original, Message::create(std::move(response)));
}

}  // namespace hydra::umf
