// hydra-router's configuration: the `hydra` branch (as every service) plus the router's own keys
// (spec §6.4), validated with errors that name the field.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include "hydra/http/server.hpp"

namespace hydra::router {

struct RouterConfig {
  /// `externalRoutes`: `{service: ["[get]/path", ...]}` merged into the route table.
  std::map<std::string, std::vector<std::string>> external_routes;
  /// `routerToken`: a UUID v4 the router endpoints require as `?token=`; "" = no token.
  std::string router_token;
  /// `disableRouterEndpoint`: the router endpoints answer 404 (except from localhost).
  bool disable_router_endpoint = false;
  /// `debugLogging`: log every proxied request and WebSocket message.
  bool debug_logging = false;
  /// `requestTimeout` in seconds (default 5) for proxied calls.
  double request_timeout_seconds = 5;
  /// `forceMessageSignature` + `signatureSharedSecret`: WebSocket messages must carry a valid
  /// HMAC-SHA256 signature.
  bool force_message_signature = false;
  std::string signature_shared_secret;
  /// `cors`: headers added to every proxied response.
  std::vector<std::pair<std::string, std::string>> cors;
  /// `requireWebsocketAuth` with `websocketAuthService` / `websocketAuthServiceAPI`.
  bool require_websocket_auth = false;
  std::string websocket_auth_service;
  std::string websocket_auth_service_api;
  /// `maxBodyBytes`: largest request body accepted (413 above); default 1 MiB.
  std::size_t max_body_bytes = 1024 * 1024;
  /// `refreshInterval` in seconds (default 30): how often the route table is re-read (in case a
  /// refresh broadcast was missed) and router instances that are gone leave the directory.
  double refresh_interval_seconds = 30;
  /// `websocketWriteTimeout` in seconds (default 30; 0 = never): a WebSocket client on which
  /// nothing moves for this long while data waits for it (no write completes, no byte is
  /// acknowledged) is dropped (http::WebSocketOptions::stalled_write_timeout).
  double websocket_write_timeout_seconds = 30;
  /// `threads`: threads running the I/O (0 = one per core). One by default: the router's mesh
  /// state lives on one strand, so extra threads only parse HTTP in parallel and pay for the
  /// hand-offs; they help only when the router has cores to itself (docs/benchmarks.md).
  unsigned threads = 1;
  /// `busyPollMicroseconds`: after each event an I/O thread keeps polling this long before it
  /// sleeps (0 = off, the default; at most 10000). Cuts the latency the router adds where
  /// waking a sleeping CPU is slow, at the price of a busy core under steady traffic
  /// (hydra::run_event_loop, docs/router.md).
  unsigned busy_poll_microseconds = 0;
};

/// Reads the router keys of a configuration document (top level, next to `hydra`). Throws
/// `hydra::Error(invalid_config)` naming the field.
RouterConfig parse_router_config(const boost::json::object& document);

/// Carries the `cors` header map over to the server's CORS handling, so preflight OPTIONS
/// answers and the router's own responses use the configured values too.
void apply_cors(const RouterConfig& config, http::CorsOptions& cors);

/// True for a UUID version 4 in the 8-4-4-4-12 form.
bool is_uuid4(const std::string& text);

}  // namespace hydra::router
