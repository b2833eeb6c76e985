// Counters of hydra-router: per-second request counts for the last hour (the `/v1/router/stats`
// shape Node's router serves) and Prometheus metrics (`GET /metrics`). Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hydra::router {

/// Events per key per second over the last hour, in a ring of 3600 slots stamped with the second
/// they belong to (a slot from an older hour reads as 0).
class SecondCounters {
 public:
  static constexpr std::size_t kSlots = 3600;
  /// Keys come from clients (service names in messages): past this many, new keys are counted
  /// under kOtherKey so a client cannot grow the counters without bound (a key costs ~43 KB).
  static constexpr std::size_t kMaxKeys = 256;
  static constexpr const char* kOtherKey = "(other)";

  void add(const std::string& key, std::int64_t now_seconds, std::uint32_t n = 1);
  /// Per key: kSlots values, oldest first; the last one is `now_seconds`.
  std::map<std::string, std::vector<std::uint32_t>> snapshot(std::int64_t now_seconds) const;
  /// Sum of the last `seconds` seconds (including now) for one key.
  std::uint64_t sum_last(const std::string& key, std::int64_t now_seconds,
                         std::size_t seconds) const;
  /// `{key: [..3600 numbers..]}` as JSON.
  boost::json::object to_json(std::int64_t now_seconds) const;

 private:
  struct Ring {
    std::array<std::uint32_t, kSlots> count{};
    std::array<std::int64_t, kSlots> second{};
  };
  mutable std::mutex mutex_;
  std::map<std::string, Ring> rings_;
};

/// Upper bounds (seconds) of the latency histogram buckets.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

/// Prometheus counters and histograms, rendered in the text exposition format 0.0.4.
class Metrics {
 public:
  /// One proxied HTTP request: the service it went to ("" when none matched), the status sent,
  /// and how long the router took from request to response.
  void record_http(const std::string& service, int status, std::chrono::nanoseconds latency);
  /// One WebSocket message in (from a client) or out (to a client).
  void record_ws_message(bool inbound);
  void set_ws_clients(std::int64_t n) { ws_clients_ = n; }
  void add_ws_clients(std::int64_t delta) { ws_clients_ += delta; }
  std::int64_t ws_clients() const { return ws_clients_; }
  void set_redis_connected(bool up) { redis_connected_ = up; }
  void set_route_services(std::size_t n) { route_services_ = static_cast<std::int64_t>(n); }

  /// The exposition text; `info` labels go on `hydra_router_info`.
  std::string render(const std::map<std::string, std::string>& info) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::atomic<std::uint64_t> ws_in_{0};
  std::atomic<std::uint64_t> ws_out_{0};
  std::atomic<std::int64_t> ws_clients_{0};
  std::atomic<bool> redis_connected_{false};
  std::atomic<std::int64_t> route_services_{0};
};

/// A Prometheus label value with `\`, `"` and newlines escaped.
std::string escape_label(const std::string& value);

}  // namespace hydra::router
