/// @brief The HTTP service layer (the C++ counterpart of hydra-express): an HTTP/1.1 server with
/// route-parser routes, Node Hydra's response envelope, CORS, limits, graceful stop, and a
/// Service that ties it to a registered hydra::Hydra (port, routes in Redis, SIGTERM/SIGINT).
///
/// Threading: every connection runs on its own strand of the executor given to the Server, so an
/// io_context may be run by several threads (`io.run()` on N threads) to scale. Handlers then run
/// on their connection's strand; a handler that calls a hydra::Hydra living on another executor
/// must hop there first (`co_await asio::dispatch(hydra.get_executor(), asio::use_awaitable)`).
/// With one io_context thread (the usual setup) no care is needed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hydra/http/websocket.hpp"

namespace hydra {
class Hydra;
}

namespace hydra::http {

/// HTTP header fields in arrival/insertion order; names compare case-insensitively.
class Headers {
 public:
  /// The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  /// Replaces every field called `name` with one field.
  void set(std::string name, std::string value);
  /// Appends a field (for repeated fields such as Set-Cookie).
  void add(std::string name, std::string value);
  void erase(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// One parsed request as a handler sees it.
struct Request {
  /// Lower-case ("get", "post", ...), as hydra-express registers routes.
  std::string method;
  /// The request target as received ("/v1/x/5?y=1").
  std::string target;
  /// The percent-decoded path without the query ("/v1/x/5").
  std::string path;
  /// Decoded query parameters (`+` is a space); for a repeated key the last value wins.
  std::map<std::string, std::string> query;
  /// Parameters captured by the matched route pattern (`:id`, `*splat`).
  std::map<std::string, std::string> params;
  Headers headers;
  std::string body;
  /// The peer's address ("127.0.0.1"); empty when unknown.
  std::string remote_address;

  /// The first value of a header, or "" (case-insensitive name).
  std::string header(std::string_view name) const;
  /// The body parsed as JSON; nullopt when it is empty or not valid JSON. The server answers 400
  /// before calling a handler when the content type mentions JSON and the body is invalid, so
  /// for such requests a handler only sees nullopt for an empty body.
  std::optional<boost::json::value> json() const;
};

/// What a handler returns.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// Sent as Content-Type unless `headers` sets one; empty → no Content-Type.
  std::string content_type;

  /// Node's ServerResponse.sendResponse: `Object.assign({statusCode, statusMessage,
  /// statusDescription, result: {}}, data)`, Content-Type `application/json`.
  static Response envelope(int code, const boost::json::object& data);
  /// The envelope with `result` set (an object, normally).
  static Response envelope_result(int code, boost::json::value result);
  /// The envelope with `result: {reason}` (or `result: {}` when `reason` is empty).
  static Response envelope_reason(int code, std::string_view reason);

  // Node's sendX helpers.
  static Response ok(boost::json::value result = boost::json::object());       // 200
  static Response created(boost::json::value result = boost::json::object());  // 201
  /// 204; Node still writes the envelope, but HTTP forbids a body, so none is sent.
  static Response no_content();
  static Response moved_permanently(std::string_view location);     // 301
  static Response bad_request(std::string_view reason = {});        // 400
  static Response unauthorized(std::string_view reason = {});       // 401
  static Response payment_required(std::string_view reason = {});   // 402
  static Response forbidden(std::string_view reason = {});          // 403
  static Response not_found(std::string_view reason = {});          // 404
  static Response conflict(std::string_view reason = {});           // 409
  static Response too_large(std::string_view reason = {});          // 413
  static Response too_many_requests(std::string_view reason = {});  // 429
  static Response server_error(std::string_view reason = {});       // 500
  static Response not_implemented(std::string_view reason = {});    // 501
  /// Node's sendUnavailableError answers 502 ("Connection Refused"), kept for parity.
  static Response unavailable(std::string_view reason = {});  // 502
  /// A true 503 envelope ("Service Unavailable").
  static Response service_unavailable(std::string_view reason = {});  // 503

  /// Any JSON body (JS-exact serialisation), Content-Type `application/json`.
  static Response json(int code, const boost::json::value& value);
  /// Any other body.
  static Response text(int code, std::string body, std::string content_type = "text/plain");
};

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

/// Cross-origin settings; the defaults are the `cors` package's defaults (hydra-express's
/// `cors()`): any origin, preflight OPTIONS answered 204, requested headers reflected.
struct CorsOptions {
  bool enabled = true;
  std::string allow_origin = "*";
  std::string allow_methods = "GET,HEAD,PUT,PATCH,POST,DELETE";
  /// Empty: reflect the preflight's Access-Control-Request-Headers.
  std::string allow_headers;
  std::string expose_headers;
  bool allow_credentials = false;
  /// Access-Control-Max-Age in seconds; negative → not sent.
  int max_age = -1;
};

struct ServerOptions {
  /// Request line + header bytes; more → 431 and close (Node's default 16 KiB).
  std::size_t max_header_bytes = 16 * 1024;
  /// Body bytes; more → 413 and close (body-parser's default 100 kB).
  std::size_t max_body_bytes = 100 * 1024;
  /// A kept-alive connection with no new request for this long is closed (Node 5 s); a fresh
  /// connection that never sends a request gets 408 first.
  std::chrono::milliseconds idle_timeout{5000};
  /// Time to receive a whole request once its first byte arrived; more → 408 and close.
  std::chrono::milliseconds request_timeout{30000};
  /// How long stop() waits for in-flight requests before closing their connections.
  std::chrono::milliseconds shutdown_timeout{10000};
  CorsOptions cors;
  /// helmet 4's default response headers (HSTS 90 days as hydra-express configures it).
  bool security_headers = true;
  /// When not empty, accepted connections are spread round-robin over these executors (for
  /// one io_context per thread); otherwise each runs on a strand of the server's executor.
  std::vector<boost::asio::any_io_executor> connection_executors;
  /// Promise that each executor connections run on (the server's, or each of
  /// `connection_executors`) is run by a single thread, as an `io_context` per thread is. Then a
  /// connection needs no strand of its own and its handlers skip the strand's queue.
  bool single_threaded_executors = false;
  /// Where handler exceptions and I/O problems are reported; default: stderr.
  std::function<void(std::string_view)> log;
};

/// Counters for monitoring and tests.
struct ServerStats {
  unsigned long connections = 0;  ///< accepted so far
  unsigned long requests = 0;     ///< responses written
  std::size_t open_connections = 0;
};

class Server {
 public:
  explicit Server(boost::asio::any_io_executor executor);
  Server(boost::asio::any_io_executor executor, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Adds a route: `method` any case ("GET"; "all"/"*" → any method, registered as `[_all]`),
  /// `pattern` in route-parser syntax. First match in registration order wins; HEAD uses GET
  /// routes. Throws `hydra::Error(invalid_argument)` for a bad pattern.
  void route(std::string method, std::string pattern, Handler handler);
  /// Serves WebSocket upgrade requests whose path matches `pattern` (route-parser syntax) with
  /// `handler`; other requests on that path are routed as usual.
  void websocket(std::string pattern, WebSocketHandler handler, WebSocketOptions options = {});
  /// Called for requests no route matches (instead of the 404 envelope). The JSON body check
  /// is not applied: the handler gets the body as received.
  void fallback(Handler handler);
  /// `[method]/path` strings (lower-case methods) for Hydra::register_routes.
  std::vector<std::string> routes() const;

  /// Binds `address:port` (port 0 → any free port) and starts accepting. "" or "::" → all
  /// interfaces, dual-stack when possible. Throws `hydra::Error` when the bind fails.
  void listen(const std::string& address, std::uint16_t port);
  /// Takes ownership of an already-bound socket (listening or not) and starts accepting on it;
  /// used with Hydra::take_reserved_listener so the port is never released in between.
  void adopt(int fd);
  /// The local port being listened on (0 before listen/adopt).
  std::uint16_t port() const;

  /// Graceful stop: stops accepting, closes idle keep-alive connections, lets in-flight requests
  /// finish (their responses carry `Connection: close`) and after `shutdown_timeout` closes the
  /// rest. Completes when no connection is left. Safe to call more than once.
  boost::asio::awaitable<void> stop();

  ServerStats stats() const;
  boost::asio::any_io_executor get_executor() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Ties a Server to a registered Hydra, as hydra-express does: serve on the service port,
/// register the routes, and on SIGTERM/SIGINT (or request_stop) remove presence first, then stop
/// the server gracefully.
class Service {
 public:
  Service(Hydra& hydra, Server& server);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// After `init` + `register_service`: listens on hydra.service_port() (on the socket init
  /// reserved when the port was chosen randomly) and registers `server.routes()` in Redis.
  boost::asio::awaitable<void> start();
  /// start() if not yet done, then waits for SIGTERM/SIGINT or request_stop(); then
  /// hydra.shutdown() (presence gone at once) and server.stop(). Returns normally (exit 0).
  boost::asio::awaitable<void> run();
  /// Makes run() proceed to shutdown as if a signal had arrived. Thread-safe.
  void request_stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

namespace detail {
/// Splits and percent-decodes a query string ("a=1&b=x+y") as the server does.
std::map<std::string, std::string> parse_query(std::string_view query);
/// hydra-express's X-Response-Time value for a duration ("0.512ms").
std::string format_response_time(std::chrono::nanoseconds elapsed);
}  // namespace detail

}  // namespace hydra::http
