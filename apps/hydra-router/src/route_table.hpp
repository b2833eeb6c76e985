// The router's table of service routes and the matching rules (pure code, no I/O).
//
// Differences from Node's hydra-router, recorded in docs/decisions.md: the HTTP method takes part
// in matching (a `[get]` route does not take a POST); a path that matches only with another method
// is reported as such (405) instead of being forwarded; the Referer fallback requires the
// referring page's path to start with `/<service>`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hydra/route_pattern.hpp"

namespace hydra::router {

/// One stored route (`[get]/v1/x/:id`) compiled.
struct RouteEntry {
  /// Lower-case method; "" for any (no brackets, `[]`, `[all]` or `[_all]`).
  std::string method;
  /// The route-parser pattern without the method prefix.
  std::string pattern;
  /// The route as stored.
  std::string text;
  RoutePattern matcher;
};

/// Splits `[get]/v1/x` into ("get", "/v1/x"); no brackets → ("", route).
std::pair<std::string, std::string> split_route(std::string_view route);

struct RouteMatch {
  enum class Kind {
    found,               ///< forward to `service` with `target`
    method_not_allowed,  ///< the path is a route of `service`, but not for this method
    not_found,
  };
  Kind kind = Kind::not_found;
  std::string service;
  /// Path and query to forward (the original target, or with the service prefix removed).
  std::string target;
  /// The matched pattern ("" for a fallback).
  std::string pattern;
  /// The methods the path accepts (for 405's Allow header), upper case.
  std::vector<std::string> allowed;
};

class RouteTable {
 public:
  /// Replaces a service's routes (invalid patterns are skipped and returned).
  std::vector<std::string> set_service(const std::string& service,
                                       const std::vector<std::string>& routes);
  void remove_service(const std::string& service);
  /// Replaces the whole table, keeping `extra` (externalRoutes) merged in.
  void replace(const std::map<std::string, std::vector<std::string>>& all);
  /// `externalRoutes` from the configuration: kept across refreshes.
  void set_external(const std::map<std::string, std::vector<std::string>>& external);
  /// Services excluded from matching (the router itself: its endpoints are served directly).
  void set_excluded(std::string service) { excluded_ = std::move(service); }

  /// Matching order: every service's patterns (services in name order, routes in stored order)
  /// against the path with the method; then the Referer fallback; then the `/<service>/rest`
  /// prefix fallback. `target` is the request target (path and query, percent-encoded).
  RouteMatch match(std::string_view method, std::string_view target,
                   std::string_view referer = {}) const;

  bool has_service(std::string_view service) const;
  /// `[{service, [routes as stored]}]` in table order.
  std::vector<std::pair<std::string, std::vector<std::string>>> list() const;
  std::size_t service_count() const { return services_.size(); }

 private:
  void rebuild_service(const std::string& service);

  /// Routes from Redis per service.
  std::map<std::string, std::vector<std::string>> stored_;
  std::map<std::string, std::vector<std::string>> external_;
  std::map<std::string, std::vector<RouteEntry>, std::less<>> services_;
  std::string excluded_;
};

}  // namespace hydra::router
