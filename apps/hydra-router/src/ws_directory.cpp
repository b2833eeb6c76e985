// The shared WebSocket client directory of hydra-router instances.
#include "ws_directory.hpp"

namespace hydra::router {

namespace {

std::string string_field(const boost::json::object& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

}  // namespace

void WsDirectory::remove_local(const std::string& client_id) {
  auto it = routers_.find(router_id_);
  if (it != routers_.end()) it->second.erase(client_id);
}

bool WsDirectory::is_local(const std::string& client_id) const {
  auto it = routers_.find(router_id_);
  return it != routers_.end() && it->second.contains(client_id);
}

WsDirectory::Action WsDirectory::apply(const std::string& type, const boost::json::object& body) {
  Action action;
  const std::string router = string_field(body, "routerID");
  if (router.empty() || router == router_id_) return action;
  if (type == "wsdir.add") {
    const std::string client = string_field(body, "clientID");
    if (!client.empty()) routers_[router].insert(client);
  } else if (type == "wsdir.del") {
    const std::string client = string_field(body, "clientID");
    auto it = routers_.find(router);
    if (it != routers_.end()) it->second.erase(client);
  } else if (type == "wsdir.rem") {
    routers_.erase(router);
  } else if (type == "wsdir.sha") {
    action.share = true;
    action.reply_to = router;
  } else if (type == "wsdir.dir") {
    auto& clients = routers_[router];
    clients.clear();
    if (auto it = body.find("directory"); it != body.end() && it->value().is_object()) {
      for (const auto& kv : it->value().get_object())
        clients.insert(std::string(kv.key()));
    }
  }
  return action;
}

std::vector<std::string> WsDirectory::remote_routers() const {
  std::vector<std::string> out;
  for (const auto& [router, clients] : routers_) {
    if (router != router_id_) out.push_back(router);
  }
  return out;
}

std::size_t WsDirectory::retain_routers(const std::set<std::string>& present) {
  return std::erase_if(routers_, [&](const auto& entry) {
    return entry.first != router_id_ && !present.contains(entry.first);
  });
}

std::optional<std::string> WsDirectory::router_of(const std::string& client_id) const {
  if (is_local(client_id)) return router_id_;
  for (const auto& [router, clients] : routers_) {
    if (clients.contains(client_id)) return router;
  }
  return std::nullopt;
}

boost::json::object WsDirectory::to_json() const {
  boost::json::object out;
  out[router_id_] = local_json();
  for (const auto& [router, clients] : routers_) {
    if (router == router_id_) continue;
    boost::json::object dir;
    for (const auto& client : clients)
      dir[client] = 1;
    out[router] = std::move(dir);
  }
  return out;
}

boost::json::object WsDirectory::local_json() const {
  boost::json::object dir;
  if (auto it = routers_.find(router_id_); it != routers_.end()) {
    for (const auto& client : it->second)
      dir[client] = 1;
  }
  return dir;
}

}  // namespace hydra::router
