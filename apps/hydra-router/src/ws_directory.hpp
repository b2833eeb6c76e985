// The WebSocket client directory shared by hydra-router instances (pure state machine).
//
// Each router knows its own clients and, through `wsdir.*` broadcasts on the hydra-router
// service channel, the clients of the other instances: `add`/`del` a client, `rem` a router
// (shutdown), `sha` a request to share, answered with `dir` (the whole local directory).
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hydra::router {

class WsDirectory {
 public:
  explicit WsDirectory(std::string router_id) : router_id_(std::move(router_id)) {}

  const std::string& router_id() const { return router_id_; }

  void add_local(const std::string& client_id) { routers_[router_id_].insert(client_id); }
  void remove_local(const std::string& client_id);
  bool is_local(const std::string& client_id) const;

  /// What a received `wsdir.*` message asks this router to do in return.
  struct Action {
    /// Reply to a `sha` with our directory (`dir` addressed to `reply_to`'s router).
    bool share = false;
    std::string reply_to;
  };
  /// Applies a `wsdir.*` message (type and body); messages from this router itself, without a
  /// routerID or of another type are ignored.
  Action apply(const std::string& type, const boost::json::object& body);

  /// The other router instances the directory knows.
  std::vector<std::string> remote_routers() const;
  /// Forgets the clients of router instances not in `present` (instances that died without
  /// their `wsdir.rem`). Returns how many router entries were removed.
  std::size_t retain_routers(const std::set<std::string>& present);

  /// The router instance a client is connected to: our ID for a local one, nullopt if unknown.
  std::optional<std::string> router_of(const std::string& client_id) const;
  /// `{routerID: {clientID: 1, ...}, ...}` (Node's wsClients shape).
  boost::json::object to_json() const;
  /// `{clientID: 1, ...}` for our own clients (the `directory` of a `dir` message).
  boost::json::object local_json() const;

 private:
  std::string router_id_;
  std::map<std::string, std::set<std::string>> routers_;
};

}  // namespace hydra::router
