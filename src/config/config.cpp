// Loads and validates the Node-Hydra-style service configuration and applies the HYDRA_*
// environment overrides.
#include "hydra/config.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/integer.hpp"
#include "hydra/error.hpp"

namespace hydra {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(const std::string& message) {
  throw Error(errc::invalid_config, message);
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string show(const json::value& value) {
  if (value.is_string()) return quoted(value.get_string());
  return json::serialize(value);
}

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

const json::value* find(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::string string_field(const json::object& hydra, std::string_view key) {
  const json::value* value = find(hydra, key);
  if (value == nullptr) return {};
  if (!value->is_string()) {
    fail("hydra." + std::string(key) + ": must be a string, got " + show(*value));
  }
  return std::string(value->get_string());
}

// servicePort as text, the way Node stringifies it ("5000", "7000-7010"); 0 and absent mean random.
std::string port_field(const json::object& hydra) {
  const json::value* value = find(hydra, "servicePort");
  if (value == nullptr) return {};
  if (value->is_string()) return std::string(trim(value->get_string()));
  if (value->is_int64() || value->is_uint64() || value->is_double()) {
    double d = value->to_number<double>();
    if (!std::isfinite(d) || std::floor(d) != d || d < 0 || d > 65535) {
      fail("hydra.servicePort: must be 0 (random) or a port 1-65535, got " + show(*value));
    }
    return std::to_string(static_cast<int>(d));
  }
  fail("hydra.servicePort: must be a number or a string, got " + show(*value));
}

std::optional<std::uint16_t> port_number(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value < 1 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

[[noreturn]] void bad_port_spec(std::string_view spec, std::string_view why) {
  fail("hydra.servicePort: " + quoted(spec) + " " + std::string(why) +
       "; use 0 or \"\" (random port 1024-65535), one port 1-65535 (\"5000\"), a range "
       "(\"7000-7010\") or a comma list of ports and ranges (\"7000,8000-8010\")");
}

// Line and column (1-based) of a byte offset, for JSON error messages.
std::string position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

json::value parse_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("config file " + quoted(path) + ": cannot be read (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) ec = json::error::extra_data;
  if (!ec) parser.finish(ec);
  if (ec) {
    fail("config file " + quoted(path) + ": invalid JSON at " + position(text, consumed) + ": " +
         ec.message());
  }
  return parser.release();
}

}  // namespace

std::string validate_service_name(std::string_view name) {
  if (name.empty()) fail("hydra.serviceName: missing — every service needs a name");
  std::string out;
  out.reserve(name.size());
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    const char* problem = nullptr;
    if (c == ':') {
      problem = "a colon (':' separates the parts of Redis keys and routes)";
    } else if (std::isspace(c) || c < 0x20 || c == 0x7f) {
      problem = "whitespace or a control character";
    } else if (c == '*' || c == '?' || c == '[' || c == ']') {
      problem = "a glob character ('*', '?', '[' or ']' would break SCAN MATCH discovery)";
    }
    if (problem != nullptr) {
      fail("hydra.serviceName: " + quoted(name) + " contains " + problem +
           "; use letters, digits, '-', '_' or '.'");
    }
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

PortSpec parse_port_spec(std::string_view spec) {
  const std::string_view text = trim(spec);
  PortSpec result;
  if (text.empty() || text == "0") {
    result.ranges.emplace_back(1024, 65535);
    return result;
  }
  if (text.find_first_of("-,") == std::string_view::npos) {
    auto port = port_number(text);
    if (!port) bad_port_spec(spec, "is not a port");
    result.fixed = *port;
    return result;
  }
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) bad_port_spec(spec, "has an empty list item");
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      auto port = port_number(item);
      if (!port) bad_port_spec(spec, "has an invalid port " + quoted(item));
      result.ranges.emplace_back(*port, *port);
    } else {
      auto low = port_number(trim(item.substr(0, dash)));
      auto high = port_number(trim(item.substr(dash + 1)));
      if (!low || !high) bad_port_spec(spec, "has an invalid range " + quoted(item));
      if (*low > *high) bad_port_spec(spec, "has a range whose start exceeds its end");
      result.ranges.emplace_back(*low, *high);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return result;
}

// Redis refuses a bulk string over 512 MB (proto-max-bulk-len), so no larger limit can work.
constexpr long long kMaxMessageBytesLimit = 512LL * 1024 * 1024;

ServiceConfig parse_config(const boost::json::value& document) {
  if (!document.is_object()) {
    fail("hydra: missing — the configuration must be a JSON object with a \"hydra\" branch");
  }
  const json::object& root = document.get_object();
  const json::value* branch = find(root, "hydra");
  if (branch == nullptr) {
    fail("hydra: missing — the configuration must be a JSON object with a \"hydra\" branch");
  }
  if (!branch->is_object()) fail("hydra: must be an object, got " + show(*branch));
  const json::object& hydra = branch->get_object();

  ServiceConfig config;
  config.service_name = validate_service_name(string_field(hydra, "serviceName"));
  config.service_ip = string_field(hydra, "serviceIP");
  config.service_dns = string_field(hydra, "serviceDNS");
  config.service_interface = string_field(hydra, "serviceInterface");
  if (!config.service_interface.empty()) {
    const auto slash = config.service_interface.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == config.service_interface.size() ||
        config.service_interface.find('/', slash + 1) != std::string::npos) {
      fail("hydra.serviceInterface: " + quoted(config.service_interface) +
           " must have the form name/netmask, e.g. \"eth0/255.255.255.0\"");
    }
  }
  config.service_port = port_field(hydra);
  parse_port_spec(config.service_port);

  if (const json::value* type = find(hydra, "serviceType")) {
    if (!type->is_string()) fail("hydra.serviceType: must be a string, got " + show(*type));
    config.service_type = std::string(type->get_string());
  }
  if (auto description = string_field(hydra, "serviceDescription"); !description.empty()) {
    config.service_description = std::move(description);
  }
  if (auto version = string_field(hydra, "serviceVersion"); !version.empty()) {
    config.service_version = std::move(version);
  }

  if (const json::value* limit = find(hydra, "maxMessageBytes")) {
    const auto n = config_detail::integer_of(*limit);
    if (!n || *n < 1 || *n > kMaxMessageBytesLimit) {
      fail("hydra.maxMessageBytes: must be a whole number of bytes 1-" +
           std::to_string(kMaxMessageBytesLimit) + ", got " + show(*limit));
    }
    config.max_message_bytes = static_cast<std::size_t>(*n);
  }
  if (const json::value* redis = find(hydra, "redis")) {
    if (!redis->is_object()) fail("hydra.redis: must be an object, got " + show(*redis));
    config.redis = redis::from_json(redis->get_object());
  } else {
    config.redis = redis::from_json(json::object{});
  }
  if (const json::value* plugins = find(hydra, "plugins")) {
    if (!plugins->is_object()) fail("hydra.plugins: must be an object, got " + show(*plugins));
    config.plugins = plugins->get_object();
  }
  config.document = root;
  return config;
}

boost::json::value read_config_file(const std::string& path) {
  std::string current = path;
  // A `location` key points at the real file (Node resolves it like any path: relative to the
  // working directory). The hop limit only stops a file that points back at itself.
  for (int hops = 0; hops < 16; ++hops) {
    json::value document = parse_json_file(current);
    if (!document.is_object()) {
      fail("config file " + quoted(current) + ": must contain a JSON object, got " +
           std::string(json::to_string(document.kind())));
    }
    const json::value* location = find(document.get_object(), "location");
    if (location == nullptr) return document;
    if (location->is_object()) return *location;  // Node also accepts the config inline here
    if (!location->is_string() || location->get_string().empty()) {
      fail("config file " + quoted(current) +
           ": \"location\" must be the path of the configuration file, got " + show(*location));
    }
    current = std::string(location->get_string());
  }
  fail("config file " + quoted(path) + ": too many \"location\" redirects (a loop?)");
}

EnvOverrides read_env() {
  EnvOverrides env;
  // Node tests `if (process.env.X)`, so an empty variable counts as unset.
  if (const char* url = std::getenv("HYDRA_REDIS_URL"); url != nullptr && *url != '\0') {
    env.redis_url = url;
  }
  if (const char* service = std::getenv("HYDRA_SERVICE"); service != nullptr && *service != '\0') {
    env.service = service;
  }
  return env;
}

std::optional<std::string> apply_env(boost::json::value& document, const EnvOverrides& env) {
  if (!env.redis_url && !env.service) return std::nullopt;
  if (document.is_null()) document = json::object{};
  if (!document.is_object()) fail("hydra: the configuration must be a JSON object");
  json::object& root = document.get_object();
  json::value& branch = root["hydra"];
  if (branch.is_null()) branch = json::object{};
  if (!branch.is_object()) fail("hydra: must be an object, got " + show(branch));
  json::object& hydra = branch.get_object();

  if (env.redis_url) hydra["redis"] = json::object{{"url", *env.redis_url}};
  if (!env.service) return std::nullopt;

  std::string service(trim(*env.service));
  if (service.empty()) return std::nullopt;

  if (service.front() == '{') {
    // Node's safeJSONParse swallows a parse error and silently ignores the variable; an error
    // is more useful than starting with the wrong identity.
    boost::system::error_code ec;
    json::value parsed = json::parse(service, ec);
    if (ec) fail("HYDRA_SERVICE: invalid JSON (" + ec.message() + ")");
    if (!parsed.is_object()) fail("HYDRA_SERVICE: JSON must be an object");
    for (auto& entry : parsed.get_object())
      hydra[entry.key()] = entry.value();
    return std::nullopt;
  }

  if (service.find('|') != std::string::npos || service.find('=') != std::string::npos) {
    std::erase_if(service, [](char c) { return c == '\r' || c == '\n'; });
    std::string_view rest = service;
    while (true) {
      const auto bar = rest.find('|');
      const std::string_view segment = trim(rest.substr(0, bar));
      if (!segment.empty()) {
        // Split at the first '=' so values may contain '=' (Node truncates them).
        const auto eq = segment.find('=');
        if (eq == std::string_view::npos || trim(segment.substr(0, eq)).empty()) {
          fail("HYDRA_SERVICE: " + quoted(segment) + " is not key=value (expected k=v|k=v)");
        }
        hydra[trim(segment.substr(0, eq))] = json::string(segment.substr(eq + 1));
      }
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    return std::nullopt;
  }

  // A `svc:version` label: the whole configuration lives in Redis (hydra:service:<svc>:configs).
  if (env.redis_url) return service;
  return std::nullopt;
}

}  // namespace hydra
