// Builds redis::Config from Node-Hydra-style Redis URLs and `hydra.redis` objects.
#include "hydra/redis/config.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "config/integer.hpp"
#include "hydra/error.hpp"

namespace hydra::redis {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& message) {
  throw Error(errc::invalid_config, message);
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

using config_detail::integer_of;

std::string show(const json::value& value) {
  if (value.is_string()) return quoted(value.get_string());
  return json::serialize(value);
}

std::uint16_t port_of(std::string_view field, const json::value& value) {
  auto n = integer_of(value);
  if (!n || *n < 1 || *n > 65535) {
    fail(std::string(field) + ": must be an integer 1-65535, got " + show(value));
  }
  return static_cast<std::uint16_t>(*n);
}

int db_of(std::string_view field, const json::value& value) {
  auto n = integer_of(value);
  if (!n || *n < 0 || *n > INT_MAX) {
    fail(std::string(field) + ": must be an integer 0-" + std::to_string(INT_MAX) + ", got " +
         show(value));
  }
  return static_cast<int>(*n);
}

// More requests than this never wait in one turn of a connection: a larger threshold is a typo.
constexpr long long kMaxEarlyWriteThreshold = 1'000'000;

std::string string_of(std::string_view field, const json::value& value) {
  if (!value.is_string()) fail(std::string(field) + ": must be a string, got " + show(value));
  return std::string(value.get_string());
}

std::chrono::milliseconds millis_of(std::string_view field, const json::value& value) {
  auto n = integer_of(value);
  if (!n || *n < 0) {
    fail(std::string(field) + ": must be a non-negative integer (milliseconds), got " +
         show(value));
  }
  return std::chrono::milliseconds(*n);
}

// A key that is present and not null (Node's `Object.assign` would copy null too, but a null
// host/port there only means "use node_redis' default", which is what skipping it does).
const json::value* find(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

void apply_tls(Config& config, const json::value& tls) {
  if (tls.is_bool()) {
    config.tls.enabled = tls.get_bool();
    return;
  }
  if (!tls.is_object()) {
    fail(
        "hydra.redis.tls: must be true, false or an object {ca, cert, key, servername, "
        "rejectUnauthorized}, got " +
        show(tls));
  }
  const auto& object = tls.get_object();
  config.tls.enabled = true;
  if (auto* v = find(object, "ca")) config.tls.ca_file = string_of("hydra.redis.tls.ca", *v);
  if (auto* v = find(object, "cert")) config.tls.cert_file = string_of("hydra.redis.tls.cert", *v);
  if (auto* v = find(object, "key")) config.tls.key_file = string_of("hydra.redis.tls.key", *v);
  if (auto* v = find(object, "servername")) {
    config.tls.sni = string_of("hydra.redis.tls.servername", *v);
  }
  if (auto* v = find(object, "rejectUnauthorized")) {
    if (!v->is_bool()) {
      fail("hydra.redis.tls.rejectUnauthorized: must be true or false, got " + show(*v));
    }
    config.tls.verify_peer = v->get_bool();
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    fail("hydra.redis.tls: cert and key must be given together (client certificate and its key)");
  }
}

// The port text of "scheme://[userinfo@]host:port/..." as written.
std::string raw_port(std::string_view url) {
  std::string_view authority = url.substr(url.find("://") + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (auto bracket = authority.rfind(']'); bracket != std::string_view::npos) {
    authority.remove_prefix(bracket + 1);
  }
  auto colon = authority.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view rest =
      url.substr(static_cast<std::size_t>(authority.data() - url.data()) + colon + 1);
  return std::string(rest.substr(0, rest.find_first_of("/?#")));
}

}  // namespace

Config parse_url(std::string_view url) {
  if (url.empty()) fail("hydra.redis.url: empty URL");
  // Node's redis-url prefixes "//" when the scheme is missing, so "host", "host:port" and
  // ":pass@host/3" all work; prefixing "redis://" gives the same reading.
  std::string text(url);
  if (text.find("://") == std::string::npos) text = "redis://" + text;

  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    fail("hydra.redis.url: " + quoted(url) + " is not a valid URL (" + parsed.error().message() +
         ")");
  }
  const boost::urls::url_view& u = *parsed;
  const std::string scheme = lower(u.scheme());

  Config config;
  if (scheme == "rediss") {
    config.tls.enabled = true;
  } else if (scheme != "redis" && scheme != "unix") {
    fail("hydra.redis.url: unsupported scheme " + quoted(u.scheme()) +
         " (use redis://, rediss:// or unix://)");
  }

  if (u.has_userinfo()) {
    config.username = u.user();
    if (u.has_password()) config.password = u.password();
  }

  // `?db=N` is the only way to pick a database for a socket path; TCP URLs accept it too.
  std::optional<std::string> query_db;
  for (auto param : u.params()) {
    if (param.key == "db" && param.has_value) query_db = param.value;
    if (param.key == "password" && param.has_value && config.password.empty()) {
      config.password = param.value;
    }
  }

  if (scheme == "unix") {
    std::string path = u.path();
    if (!u.encoded_host().empty()) {
      fail("hydra.redis.url: " + quoted(url) +
           " — a unix:// URL takes a socket path, e.g. unix:///var/run/redis.sock?db=2");
    }
    if (path.empty() || path == "/") {
      fail("hydra.redis.url: " + quoted(url) + " has no socket path (use unix:///path/to/sock)");
    }
    config.unix_path = path;
    if (query_db) config.db = db_of("hydra.redis.db", json::value(*query_db));
    return config;
  }

  if (!u.encoded_host().empty()) config.host = u.host_address();
  if (u.has_port()) {
    // Boost.URL 1.81 reads "h:abc/1" as an empty port followed by a path, so report the
    // text as written.
    if (u.port().empty()) {
      fail("hydra.redis.port: must be an integer 1-65535, got " + quoted(raw_port(text)));
    }
    config.port = port_of("hydra.redis.port", json::value(u.port()));
  }

  // Path "/15" selects DB 15; no path (or "/") selects DB 0, exactly like redis-url.
  std::string path = u.path();
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (!path.empty()) {
    config.db = db_of("hydra.redis.db", json::value(path));
  } else if (query_db) {
    config.db = db_of("hydra.redis.db", json::value(*query_db));
  }
  return config;
}

Config from_json(const boost::json::object& redis) {
  // Node only fills in the default URL when the whole branch is missing; an empty object is
  // treated the same so "redis": {} does not silently switch to DB 0.
  if (redis.empty()) return parse_url("redis://127.0.0.1:6379/15");

  Config config;
  if (auto* v = find(redis, "url")) {
    std::string url = string_of("hydra.redis.url", *v);
    if (!url.empty()) config = parse_url(url);
  }
  // Explicit keys override the URL's parts (Node: Object.assign({db}, urlParts, redisConfig)).
  if (auto* v = find(redis, "host")) {
    std::string host = string_of("hydra.redis.host", *v);
    if (!host.empty()) {
      config.host = host;
      config.unix_path.clear();
    }
  }
  if (auto* v = find(redis, "path")) {  // node_redis' socket option
    config.unix_path = string_of("hydra.redis.path", *v);
  }
  if (auto* v = find(redis, "port")) config.port = port_of("hydra.redis.port", *v);
  if (auto* v = find(redis, "db")) config.db = db_of("hydra.redis.db", *v);
  if (auto* v = find(redis, "password")) config.password = string_of("hydra.redis.password", *v);
  if (auto* v = find(redis, "username")) config.username = string_of("hydra.redis.username", *v);
  if (auto* v = find(redis, "tls")) apply_tls(config, *v);
  if (auto* v = find(redis, "connectTimeoutMs")) {
    config.connect_timeout = millis_of("hydra.redis.connectTimeoutMs", *v);
    if (config.connect_timeout.count() == 0) {
      fail("hydra.redis.connectTimeoutMs: must be at least 1 (milliseconds), got 0");
    }
  }
  if (auto* v = find(redis, "commandTimeoutMs")) {
    config.command_timeout = millis_of("hydra.redis.commandTimeoutMs", *v);
  }
  if (auto* v = find(redis, "healthCheckIntervalMs")) {
    config.health_check_interval = millis_of("hydra.redis.healthCheckIntervalMs", *v);
  }
  if (auto* v = find(redis, "earlyWriteThreshold")) {
    auto n = integer_of(*v);
    if (!n || *n < 0 || *n > kMaxEarlyWriteThreshold) {
      fail("hydra.redis.earlyWriteThreshold: must be an integer 0-" +
           std::to_string(kMaxEarlyWriteThreshold) + " (0 turns early writes off), got " +
           show(*v));
    }
    config.early_write_threshold = static_cast<std::size_t>(*n);
  }
  return config;
}

std::string describe(const Config& config) {
  using boost::urls::encode;
  using boost::urls::unreserved_chars;
  std::string out;
  std::string userinfo;
  if (!config.username.empty() || !config.password.empty()) {
    userinfo = encode(config.username, unreserved_chars);
    if (!config.password.empty()) userinfo += ":***";
    userinfo += "@";
  }
  if (!config.unix_path.empty()) {
    out = "unix://" + userinfo + config.unix_path;
    if (config.db != 0) out += "?db=" + std::to_string(config.db);
    return out;
  }
  out = config.tls.enabled ? "rediss://" : "redis://";
  out += userinfo;
  if (config.host.find(':') != std::string::npos) {
    out += "[" + config.host + "]";
  } else {
    out += config.host;
  }
  out += ":" + std::to_string(config.port) + "/" + std::to_string(config.db);
  return out;
}

}  // namespace hydra::redis

namespace hydra::config_detail {

namespace {
// Digits only (no sign, no spaces): Node's config values are either numbers or numeric strings,
// and anything looser hides typos like "63 79".
std::optional<long long> parse_digits(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.front() == '+' ||
      text.front() == '-') {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<long long> integer_of(const boost::json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) {
    auto v = value.get_uint64();
    if (v > static_cast<std::uint64_t>(LLONG_MAX)) return std::nullopt;
    return static_cast<long long>(v);
  }
  if (value.is_double()) {
    double d = value.get_double();
    if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9e15) return std::nullopt;
    return static_cast<long long>(d);
  }
  if (value.is_string()) return parse_digits(value.get_string());
  return std::nullopt;
}

}  // namespace hydra::config_detail
