// Route table and matching for hydra-router.
#include "route_table.hpp"

#include <algorithm>
#include <cctype>

#include "hydra/error.hpp"
#include "hydra/text.hpp"

namespace hydra::router {

namespace {

bool method_matches(const std::string& route_method, const std::string& method) {
  return route_method.empty() || route_method == method ||
         (method == "head" && route_method == "get");
}

}  // namespace

std::pair<std::string, std::string> split_route(std::string_view route) {
  if (!route.empty() && route.front() == '[') {
    const auto close = route.find(']');
    if (close != std::string_view::npos) {
      std::string method = ascii_lower(route.substr(1, close - 1));
      if (method == "all" || method == "_all" || method == "*") method.clear();
      return {method, std::string(route.substr(close + 1))};
    }
  }
  return {"", std::string(route)};
}

std::vector<std::string> RouteTable::set_service(const std::string& service,
                                                 const std::vector<std::string>& routes) {
  stored_[service] = routes;
  rebuild_service(service);
  std::vector<std::string> invalid;
  std::vector<std::string> all = routes;
  if (auto it = external_.find(service); it != external_.end())
    all.insert(all.end(), it->second.begin(), it->second.end());
  for (const auto& route : all) {
    const auto& entries = services_[service];
    if (std::none_of(entries.begin(), entries.end(),
                     [&](const RouteEntry& e) { return e.text == route; }))
      invalid.push_back(route);
  }
  return invalid;
}

void RouteTable::remove_service(const std::string& service) {
  stored_.erase(service);
  rebuild_service(service);
}

void RouteTable::replace(const std::map<std::string, std::vector<std::string>>& all) {
  stored_ = all;
  services_.clear();
  for (const auto& [service, routes] : stored_)
    rebuild_service(service);
  for (const auto& [service, routes] : external_)
    rebuild_service(service);
}

void RouteTable::set_external(const std::map<std::string, std::vector<std::string>>& external) {
  external_ = external;
  for (const auto& [service, routes] : external_)
    rebuild_service(service);
}

void RouteTable::rebuild_service(const std::string& service) {
  std::vector<std::string> texts;
  if (auto it = stored_.find(service); it != stored_.end()) texts = it->second;
  if (auto it = external_.find(service); it != external_.end())
    texts.insert(texts.end(), it->second.begin(), it->second.end());
  if (texts.empty() && !stored_.contains(service)) {
    services_.erase(service);
    return;
  }
  std::vector<RouteEntry> entries;
  for (const auto& text : texts) {
    auto [method, pattern] = split_route(text);
    if (pattern.empty() || pattern.front() != '/') continue;
    try {
      RoutePattern matcher(pattern);
      entries.push_back(
          RouteEntry{std::move(method), std::move(pattern), text, std::move(matcher)});
    } catch (const Error&) {
      // An unbalanced pattern registered by some service: skipped, reported by set_service.
    }
  }
  services_[service] = std::move(entries);
}

RouteMatch RouteTable::match(std::string_view method_in, std::string_view target,
                             std::string_view referer) const {
  const std::string method = ascii_lower(method_in);
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string_view query =
      qpos == std::string_view::npos ? std::string_view() : target.substr(qpos);

  RouteMatch other_method;
  for (const auto& [service, entries] : services_) {
    if (service == excluded_) continue;
    for (const auto& entry : entries) {
      if (!entry.matcher.match(path)) continue;
      if (method_matches(entry.method, method)) {
        RouteMatch m;
        m.kind = RouteMatch::Kind::found;
        m.service = service;
        m.target = std::string(target);
        m.pattern = entry.pattern;
        return m;
      }
      if (other_method.service.empty()) {
        other_method.kind = RouteMatch::Kind::method_not_allowed;
        other_method.service = service;
        other_method.pattern = entry.pattern;
      }
      if (other_method.service == service) {
        std::string allowed = ascii_upper(entry.method);
        if (std::find(other_method.allowed.begin(), other_method.allowed.end(), allowed) ==
            other_method.allowed.end())
          other_method.allowed.push_back(std::move(allowed));
      }
    }
  }
  // Referer fallback: assets requested by a page that a service served under /<service>/...
  if (!referer.empty()) {
    std::string_view ref = referer;
    if (auto scheme = ref.find("://"); scheme != std::string_view::npos) {
      ref = ref.substr(scheme + 3);
      auto slash = ref.find('/');
      ref = slash == std::string_view::npos ? std::string_view() : ref.substr(slash);
    }
    for (const auto& [service, entries] : services_) {
      if (service == excluded_) continue;
      const std::string prefix = "/" + service;
      if (ref.substr(0, prefix.size()) == prefix &&
          (ref.size() == prefix.size() || ref[prefix.size()] == '/' || ref[prefix.size()] == '?')) {
        RouteMatch m;
        m.kind = RouteMatch::Kind::found;
        m.service = service;
        m.target = std::string(target);
        return m;
      }
    }
  }

  // Prefix fallback: /<service>/rest → <service> with /rest.
  if (path.size() > 1 && path.front() == '/') {
    const auto slash = path.find('/', 1);
    const std::string_view first =
        path.substr(1, slash == std::string_view::npos ? path.npos : slash - 1);
    auto it = services_.find(first);
    if (it != services_.end() && it->first != excluded_) {
      RouteMatch m;
      m.kind = RouteMatch::Kind::found;
      m.service = it->first;
      std::string rest = slash == std::string_view::npos ? "/" : std::string(path.substr(slash));
      m.target = rest + std::string(query);
      return m;
    }
  }
  if (other_method.kind == RouteMatch::Kind::method_not_allowed) return other_method;
  return RouteMatch{};
}

bool RouteTable::has_service(std::string_view service) const {
  return services_.find(service) != services_.end();
}

std::vector<std::pair<std::string, std::vector<std::string>>> RouteTable::list() const {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [service, entries] : services_) {
    std::vector<std::string> texts;
    for (const auto& entry : entries)
      texts.push_back(entry.text);
    out.emplace_back(service, std::move(texts));
  }
  return out;
}

}  // namespace hydra::router
