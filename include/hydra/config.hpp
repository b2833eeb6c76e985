/// @brief The Node-Hydra-style service configuration: loading, environment overrides, validation,
/// and resolution of serviceIP / servicePort.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hydra/redis/config.hpp"

namespace hydra {

/// The `hydra` branch of a configuration document, validated.
struct ServiceConfig {
  /// Lower-cased service name; never empty, no `:`, whitespace or glob characters (`*?[]`).
  std::string service_name;
  /// serviceIP as configured: "" = automatic, a literal IP, a host name, or a `10.0.*` pattern.
  std::string service_ip;
  /// serviceDNS: when non-empty it is published verbatim as the instance's ip.
  std::string service_dns;
  /// serviceInterface `name/netmask`, used when serviceIP is "".
  std::string service_interface;
  /// servicePort as configured, as text: "" or "0" = random, "5000", "7000-7010", "7000,8000-8010".
  std::string service_port;
  /// serviceType; absent means the `type` field is omitted from the `:service` key.
  std::optional<std::string> service_type;
  /// serviceDescription; default "not specified".
  std::string service_description = "not specified";
  /// serviceVersion; default "unspecified".
  std::string service_version = "unspecified";
  /// The Redis connection (hydra.redis; default redis://127.0.0.1:6379/15).
  redis::Config redis;
  /// hydra.maxMessageBytes (hydra-cpp): when set, replaces RegistryOptions::max_message_bytes,
  /// the largest message (short-form JSON bytes) this service publishes or queues.
  std::optional<std::size_t> max_message_bytes;
  /// hydra.plugins, kept for the application.
  boost::json::object plugins;
  /// The whole document as loaded (after environment overrides): the application's own keys.
  boost::json::object document;
};

/// Validates a service name and returns it lower-cased. Throws `Error(errc::invalid_config)` with
/// a message naming `serviceName` and what is allowed.
std::string validate_service_name(std::string_view name);

/// Parses and validates a document of the form `{"hydra": {...}, ...}`. Throws
/// `Error(errc::invalid_config)` naming the field and what is allowed.
ServiceConfig parse_config(const boost::json::value& document);

/// Reads a JSON file (following a top-level `location` key to another file, as Node does) and
/// returns the document. Throws `Error(errc::invalid_config)` for unreadable files or bad JSON.
boost::json::value read_config_file(const std::string& path);

/// The environment variables Node Hydra honours.
struct EnvOverrides {
  std::optional<std::string> redis_url;  ///< HYDRA_REDIS_URL
  std::optional<std::string> service;    ///< HYDRA_SERVICE
};

/// Reads HYDRA_REDIS_URL and HYDRA_SERVICE from the process environment.
EnvOverrides read_env();

/// Applies the overrides to a document in place: HYDRA_REDIS_URL replaces `hydra.redis` with
/// `{url}`; HYDRA_SERVICE as JSON (`{...}`) or `k=v|k=v` is merged into `hydra`. When HYDRA_SERVICE
/// is a `svc:version` label (and HYDRA_REDIS_URL is set) the label is returned: the caller loads
/// the stored configuration from Redis and applies the overrides again to it.
std::optional<std::string> apply_env(boost::json::value& document, const EnvOverrides& env);

/// A network interface address (IPv4), as listed by getifaddrs.
struct InterfaceAddress {
  std::string name;     ///< e.g. "eth0"
  std::string address;  ///< dotted quad
  std::string netmask;  ///< dotted quad
};

/// The machine's IPv4 interface addresses in system order.
std::vector<InterfaceAddress> list_interfaces();

/// serviceIP resolution (Node 1.9.3 order): `*` pattern, then serviceDNS, then a host name looked
/// up in DNS, then serviceInterface or the first non-loopback IPv4 address, then a literal IP.
/// `interfaces` is injected so the rules are testable; `lookup` resolves a host name (may throw).
std::string resolve_service_ip(const ServiceConfig& config,
                               const std::vector<InterfaceAddress>& interfaces,
                               std::string (*lookup)(const std::string& host));

/// Resolves with the real interfaces and the system resolver.
std::string resolve_service_ip(const ServiceConfig& config);

/// The outcome of servicePort resolution.
struct ResolvedPort {
  std::uint16_t port = 0;
  /// True for a single configured port: Node publishes it as a JSON string ("5001"); false for a
  /// randomly chosen one, published as a JSON number.
  bool fixed = false;
  /// With resolve_and_reserve_service_port: a socket bound (not yet listening) to the chosen
  /// random port on all interfaces, owned by the caller, so the HTTP server can listen on it
  /// without a second bind that another process could win. -1 otherwise.
  int fd = -1;
};

/// A parsed servicePort value: an inclusive list of ranges to pick from, or one fixed port.
struct PortSpec {
  std::optional<std::uint16_t> fixed;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> ranges;
};

/// Parses servicePort text. Throws `Error(errc::invalid_config)` naming `servicePort`.
PortSpec parse_port_spec(std::string_view spec);

/// Resolves servicePort: a fixed port is used as is; otherwise random ports from the ranges are
/// bind-checked on `bind_ip` until one is free. Throws `Error(errc::invalid_config)` with
/// `No available service port in provided port range` when none is.
ResolvedPort resolve_service_port(std::string_view spec, const std::string& bind_ip);

/// As resolve_service_port, but a random port stays reserved: the winning socket is kept open
/// in `fd` (bound to the wildcard address, dual-stack when possible, not listening, so
/// connections are refused until a server listens on it). A fixed port is returned with fd -1
/// and is bound normally by the server. The caller must close the fd.
ResolvedPort resolve_and_reserve_service_port(std::string_view spec, const std::string& bind_ip);

}  // namespace hydra
