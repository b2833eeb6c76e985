// hydra-router counters: per-second rings for /v1/router/stats and Prometheus metrics.
#include "metrics.hpp"

#include <boost/json/array.hpp>
#include <cstdio>

namespace hydra::router {

void SecondCounters::add(const std::string& key, std::int64_t now, std::uint32_t n) {
  std::lock_guard lock(mutex_);
  auto it = rings_.find(key);
  if (it == rings_.end()) {
    const bool full = rings_.size() >= kMaxKeys - 1;  // one slot stays for kOtherKey
    it = rings_.try_emplace(full ? std::string(kOtherKey) : key).first;
  }
  Ring& ring = it->second;
  const auto slot = static_cast<std::size_t>(now % static_cast<std::int64_t>(kSlots));
  if (ring.second[slot] != now) {
    ring.second[slot] = now;
    ring.count[slot] = 0;
  }
  ring.count[slot] += n;
}

std::map<std::string, std::vector<std::uint32_t>> SecondCounters::snapshot(std::int64_t now) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::vector<std::uint32_t>> out;
  for (const auto& [key, ring] : rings_) {
    std::vector<std::uint32_t> values(kSlots, 0);
    for (std::size_t i = 0; i < kSlots; ++i) {
      const std::int64_t second = now - static_cast<std::int64_t>(kSlots - 1 - i);
      if (second < 0) continue;
      const auto slot = static_cast<std::size_t>(second % static_cast<std::int64_t>(kSlots));
      if (ring.second[slot] == second) values[i] = ring.count[slot];
    }
    out.emplace(key, std::move(values));
  }
  return out;
}

std::uint64_t SecondCounters::sum_last(const std::string& key, std::int64_t now,
                                       std::size_t seconds) const {
  std::lock_guard lock(mutex_);
  auto it = rings_.find(key);
  if (it == rings_.end()) return 0;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < seconds && i < kSlots; ++i) {
    const std::int64_t second = now - static_cast<std::int64_t>(i);
    if (second < 0) break;
    const auto slot = static_cast<std::size_t>(second % static_cast<std::int64_t>(kSlots));
    if (it->second.second[slot] == second) sum += it->second.count[slot];
  }
  return sum;
}

boost::json::object SecondCounters::to_json(std::int64_t now) const {
  boost::json::object out;
  for (auto& [key, values] : snapshot(now)) {
    boost::json::array a;
    a.reserve(values.size());
    for (auto v : values)
      a.emplace_back(v);
    out[key] = std::move(a);
  }
  return out;
}

void Metrics::record_http(const std::string& service, int status,
                          std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{service, status}];
  Histogram& h = latency_[service];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::record_ws_message(bool inbound) {
  ++(inbound ? ws_in_ : ws_out_);
}

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string number(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace

std::string Metrics::render(const std::map<std::string, std::string>& info) const {
  std::string out;
  out += "# HELP hydra_router_info Static information about this router instance.\n";
  out += "# TYPE hydra_router_info gauge\n";
  out += "hydra_router_info{";
  bool first = true;
  for (const auto& [key, value] : info) {
    if (!first) out += ',';
    first = false;
    out += key + "=\"" + escape_label(value) + "\"";
  }
  out += "} 1\n";

  std::lock_guard lock(mutex_);
  out +=
      "# HELP hydra_router_http_requests_total HTTP requests answered, by target service and "
      "status code.\n";
  out += "# TYPE hydra_router_http_requests_total counter\n";
  // One sample of a counter labelled by service and status code.
  auto by_service_and_code = [&](std::string_view metric, const auto& key, auto n) {
    out.append(metric);
    out += "{service=\"" + escape_label(key.first) + "\",code=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  };
  for (const auto& [key, n] : requests_)
    by_service_and_code("hydra_router_http_requests_total", key, n);
  out +=
      "# HELP hydra_router_http_errors_total HTTP requests answered with a 5xx status, by "
      "target service and status code.\n";
  out += "# TYPE hydra_router_http_errors_total counter\n";
  for (const auto& [key, n] : requests_) {
    if (key.second >= 500) by_service_and_code("hydra_router_http_errors_total", key, n);
  }
  out +=
      "# HELP hydra_router_http_request_duration_seconds Time from request to response in the "
      "router, by target service.\n";
  out += "# TYPE hydra_router_http_request_duration_seconds histogram\n";
  for (const auto& [service, h] : latency_) {
    const std::string label = "service=\"" + escape_label(service) + "\"";
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      out += "hydra_router_http_request_duration_seconds_bucket{" + label + ",le=\"" +
             number(kLatencyBuckets[i]) + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "hydra_router_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "hydra_router_http_request_duration_seconds_sum{" + label + "} " + number(h.sum) + "\n";
    out += "hydra_router_http_request_duration_seconds_count{" + label + "} " +
           std::to_string(h.count) + "\n";
  }
  out += "# HELP hydra_router_websocket_clients WebSocket clients connected to this instance.\n";
  out += "# TYPE hydra_router_websocket_clients gauge\n";
  out += "hydra_router_websocket_clients " + std::to_string(ws_clients_.load()) + "\n";
  out += "# HELP hydra_router_websocket_messages_total WebSocket messages, by direction.\n";
  out += "# TYPE hydra_router_websocket_messages_total counter\n";
  out += "hydra_router_websocket_messages_total{direction=\"in\"} " +
         std::to_string(ws_in_.load()) + "\n";
  out += "hydra_router_websocket_messages_total{direction=\"out\"} " +
         std::to_string(ws_out_.load()) + "\n";
  out += "# HELP hydra_router_redis_connected 1 while the Redis command connection is up.\n";
  out += "# TYPE hydra_router_redis_connected gauge\n";
  out += std::string("hydra_router_redis_connected ") + (redis_connected_ ? "1" : "0") + "\n";
  out += "# HELP hydra_router_route_table_services Services in the route table.\n";
  out += "# TYPE hydra_router_route_table_services gauge\n";
  out += "hydra_router_route_table_services " + std::to_string(route_services_.load()) + "\n";
  return out;
}

}  // namespace hydra::router
