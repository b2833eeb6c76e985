// hydra-router: the HTTP proxy, router endpoints, /metrics, WebSocket gateway and dashboard,
// bound to a registered hydra::Hydra and an http::Server.
//
// Threading: all router state lives on the Hydra executor (a strand when the io_context runs on
// several threads). HTTP and WebSocket connections run on their own strands and hop to the
// Hydra executor with co_spawn for anything that touches the mesh or router state.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "router_config.hpp"

namespace hydra::router {

/// hydra-router's version, served by /v1/router/version.
std::string router_version();

class Router {
 public:
  Router(Hydra& hydra, http::Server& server, RouterConfig config);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// One io_context per I/O thread: each gets its own HTTP client and address cache, and the
  /// proxy runs on the thread of the connection (the server must spread connections over the
  /// same contexts). Call before install(). Without it the proxy runs on the Hydra executor.
  void use_workers(const std::vector<boost::asio::io_context*>& contexts);
  /// Adds the router's routes, the proxy fallback and the WebSocket endpoint to the server.
  /// Call before the server starts listening.
  void install();
  /// After register_service: loads the route table, listens to the mesh and asks the other
  /// router instances for their WebSocket directories. Runs on the Hydra executor.
  boost::asio::awaitable<void> start();
  /// Tells the other router instances this one is gone and closes the WebSocket clients.
  boost::asio::awaitable<void> stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hydra::router
