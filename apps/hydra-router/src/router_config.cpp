// hydra-router configuration parsing.
#include "router_config.hpp"

#include <cctype>

#include "hydra/error.hpp"
#include "hydra/json.hpp"
#include "hydra/text.hpp"

namespace hydra::router {

namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& what) {
  throw Error(errc::invalid_config, field + " " + what);
}

bool get_bool(const boost::json::object& doc, const char* name, bool fallback) {
  auto it = doc.find(name);
  if (it == doc.end() || it->value().is_null()) return fallback;
  if (!it->value().is_bool()) invalid(name, "must be true or false");
  return it->value().get_bool();
}

std::string get_string(const boost::json::object& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end() || it->value().is_null()) return {};
  if (!it->value().is_string()) invalid(name, "must be a string");
  return std::string(it->value().get_string());
}

double get_number(const boost::json::object& doc, const char* name, double fallback) {
  auto it = doc.find(name);
  if (it == doc.end() || it->value().is_null()) return fallback;
  if (!it->value().is_number()) invalid(name, "must be a number");
  return it->value().to_number<double>();
}

}  // namespace

bool is_uuid4(const std::string& t) {
  if (t.size() != 36) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? t[i] != '-' : !std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
  }
  const char variant = ascii_lower(t[19]);
  return t[14] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

void apply_cors(const RouterConfig& config, http::CorsOptions& cors) {
  for (const auto& [name, value] : config.cors) {
    const std::string lower_name = ascii_lower(name);
    if (lower_name == "access-control-allow-origin") {
      cors.allow_origin = value;
    } else if (lower_name == "access-control-allow-methods") {
      cors.allow_methods = value;
    } else if (lower_name == "access-control-allow-headers") {
      cors.allow_headers = value;
    } else if (lower_name == "access-control-expose-headers") {
      cors.expose_headers = value;
    } else if (lower_name == "access-control-allow-credentials") {
      cors.allow_credentials = value == "true";
    } else if (lower_name == "access-control-max-age") {
      try {
        cors.max_age = std::stoi(value);
      } catch (const std::exception&) {
        throw Error(errc::invalid_config,
                    "cors.Access-Control-Max-Age must be a number of seconds");
      }
    }
  }
}

RouterConfig parse_router_config(const boost::json::object& doc) {
  RouterConfig c;
  if (auto it = doc.find("externalRoutes"); it != doc.end() && !it->value().is_null()) {
    if (!it->value().is_object())
      invalid("externalRoutes", "must be an object {service: [routes]}");
    for (const auto& kv : it->value().get_object()) {
      if (!kv.value().is_array())
        invalid("externalRoutes." + std::string(kv.key()), "must be an array of route strings");
      std::vector<std::string> routes;
      for (const auto& r : kv.value().get_array()) {
        if (!r.is_string())
          invalid("externalRoutes." + std::string(kv.key()), "must be an array of route strings");
        routes.emplace_back(r.get_string());
      }
      c.external_routes[std::string(kv.key())] = std::move(routes);
    }
  }
  c.router_token = get_string(doc, "routerToken");
  if (!c.router_token.empty() && !is_uuid4(c.router_token))
    invalid("routerToken", "must be a UUID v4 (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx)");
  c.disable_router_endpoint = get_bool(doc, "disableRouterEndpoint", false);
  c.debug_logging = get_bool(doc, "debugLogging", false);
  c.request_timeout_seconds = get_number(doc, "requestTimeout", 5);
  if (!(c.request_timeout_seconds > 0) || c.request_timeout_seconds > 3600)
    invalid("requestTimeout", "must be a number of seconds between 0 and 3600");
  c.force_message_signature = get_bool(doc, "forceMessageSignature", false);
  c.signature_shared_secret = get_string(doc, "signatureSharedSecret");
  if (c.force_message_signature && c.signature_shared_secret.empty())
    invalid("signatureSharedSecret", "is required when forceMessageSignature is true");
  if (auto it = doc.find("cors"); it != doc.end() && !it->value().is_null()) {
    if (!it->value().is_object()) invalid("cors", "must be an object of header names and values");
    for (const auto& kv : it->value().get_object()) {
      if (!kv.value().is_string()) invalid("cors." + std::string(kv.key()), "must be a string");
      c.cors.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }
  c.require_websocket_auth = get_bool(doc, "requireWebsocketAuth", false);
  c.websocket_auth_service = get_string(doc, "websocketAuthService");
  c.websocket_auth_service_api = get_string(doc, "websocketAuthServiceAPI");
  if (c.require_websocket_auth &&
      (c.websocket_auth_service.empty() || c.websocket_auth_service_api.empty()))
    invalid("websocketAuthService",
            "and websocketAuthServiceAPI are required with requireWebsocketAuth");
  const double max_body = get_number(doc, "maxBodyBytes", static_cast<double>(c.max_body_bytes));
  if (!(max_body >= 1) || max_body > 1024.0 * 1024 * 1024)
    invalid("maxBodyBytes", "must be a number of bytes from 1 to 1 GiB");
  c.max_body_bytes = static_cast<std::size_t>(max_body);
  c.refresh_interval_seconds = get_number(doc, "refreshInterval", 30);
  if (!(c.refresh_interval_seconds >= 0.1) || c.refresh_interval_seconds > 86400)
    invalid("refreshInterval", "must be a number of seconds from 0.1 to 86400");
  c.websocket_write_timeout_seconds = get_number(doc, "websocketWriteTimeout", 30);
  if (const double t = c.websocket_write_timeout_seconds; !(t == 0 || (t >= 0.1 && t <= 3600)))
    invalid("websocketWriteTimeout", "must be 0 (never) or a number of seconds from 0.1 to 3600");
  const double threads = get_number(doc, "threads", 1);
  if (threads < 0 || threads > 256) invalid("threads", "must be from 0 (one per core) to 256");
  c.threads = static_cast<unsigned>(threads);
  const double busy_poll = get_number(doc, "busyPollMicroseconds", 0);
  if (!(busy_poll >= 0) || busy_poll > 10000)
    invalid("busyPollMicroseconds", "must be a number of microseconds from 0 (off) to 10000");
  c.busy_poll_microseconds = static_cast<unsigned>(busy_poll);
  return c;
}

}  // namespace hydra::router
