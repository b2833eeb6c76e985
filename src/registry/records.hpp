// The registry's pure parts: Redis key names and the exact JSON values Node Hydra writes and
// reads (nodes entry, :service record, health, health-log entry), built and parsed without I/O.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "hydra/hydra.hpp"

namespace hydra::registry {

inline constexpr std::string_view kPrefix = "hydra:service";
inline constexpr std::string_view kChannelPrefix = "hydra:service:mc";
inline constexpr int kHealthLogLength = 64;
inline constexpr int kHealthLogTtlSeconds = 604800;

/// Key and channel names (§2.1 of the spec).
struct Keys {
  static std::string nodes() { return "hydra:service:nodes"; }
  static std::string service(std::string_view svc);
  static std::string presence(std::string_view svc, std::string_view iid);
  static std::string health(std::string_view svc, std::string_view iid);
  static std::string health_log(std::string_view svc, std::string_view iid);
  static std::string routes(std::string_view svc);
  static std::string configs(std::string_view svc);
  static std::string service_channel(std::string_view svc);
  static std::string instance_channel(std::string_view svc, std::string_view iid);
  /// The same, written into `out` (whose capacity is reused).
  static void instance_channel_into(std::string& out, std::string_view svc, std::string_view iid);
};

/// A new instance ID: UUID v4 without dashes (32 lowercase hex).
std::string new_instance_id();
/// A new message ID: UUID v4 with dashes, lowercase.
std::string new_message_id();
/// The same written into `out` without allocating.
void write_message_id(std::span<char, 36> out);

/// What a process publishes about itself.
struct InstanceFacts {
  std::string service_name;
  std::string service_description;
  std::string version;
  std::string instance_id;
  long long process_id = 0;
  std::string ip;
  std::uint16_t port = 0;
  bool port_fixed = false;  ///< fixed → JSON string, random → JSON number (Node's types)
  std::string host_name;
  std::optional<std::string> service_type;
};

/// The nodes-hash value, Node's field order: serviceName, serviceDescription, version,
/// instanceID, updatedOn, processID, ip, port, hostName.
boost::json::object nodes_entry(const InstanceFacts& facts, const std::string& updated_on);

/// The `:service` value: serviceName, type (omitted when absent), registeredOn.
boost::json::object service_record(const InstanceFacts& facts, const std::string& registered_on);

/// Process figures for the health JSON.
struct ProcessSample {
  long long rss = 0;
  long long heap_total = 0;
  long long heap_used = 0;
  double uptime_seconds = 0;
  std::string architecture;  ///< Node's process.arch names: x64, arm64, ...
  std::string platform;      ///< linux
  std::string runtime;       ///< goes into nodeVersion: "hydra-cpp/<version>"
};

/// The health value, Node's field order (§2.4); `updated_on` empty = getHealth() form.
boost::json::object health(const InstanceFacts& facts, const ProcessSample& sample,
                           const std::string& updated_on, const std::string& sampled_on);

/// A health-log entry {ts, serviceName, type, processID, msg}.
boost::json::object log_entry(const std::string& ts, const std::string& service_name,
                              const std::string& type, long long process_id,
                              const std::string& message);

/// Whether Node would keep this serialized entry out of Redis (it mentions "redis").
bool mentions_redis(std::string_view serialized);

/// Parses a nodes-hash value; nullopt when it is not a JSON object with a string instanceID and
/// serviceName. `now` gives `elapsed`.
std::optional<NodeEntry> parse_node_entry(std::string_view value,
                                          std::chrono::system_clock::time_point now);

/// Parses a `:service` value; nullopt when malformed.
std::optional<ServiceRecord> parse_service_record(std::string_view value);

/// Splits `svc:version`; throws Error(invalid_argument, "label not in this form:
/// myservice:0.1.1.").
std::pair<std::string, std::string> parse_config_label(std::string_view label);

/// The three routes Node adds to every service's route set.
std::vector<std::string> automatic_routes(std::string_view svc);

/// The short-form UMF broadcast that tells hydra-router to reload a service's routes.
std::string router_refresh_message(std::string_view svc, const std::string& mid,
                                   const std::string& ts);

/// Samples this process (rss from /proc, heap from mallinfo2, uptime since process start).
ProcessSample sample_process();

/// The host name (os.hostname()).
std::string host_name();

}  // namespace hydra::registry
