/// @brief Node Hydra's makeAPIRequest: HTTP calls to a present instance of a service addressed
/// by a UMF `to` route, resolving with Node's response object, with keep-alive connection pools,
/// instance choice policies and a safe retry rule.
///
/// Retry rule: a request is tried on another instance ONLY when it provably did not reach a
/// service (the connection failed or was reset before any byte of the request was written, or a
/// pooled idle connection was found closed before sending) OR its method is idempotent (GET,
/// HEAD, PUT, DELETE, OPTIONS). Any HTTP response (4xx/5xx included) is final. A POST/PATCH that
/// timed out or lost its connection after the request was written is never re-sent (Node would
/// re-send it to the next instance, which can execute it twice).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hydra/hydra.hpp"
#include "hydra/umf.hpp"

namespace hydra::http {

/// How an instance is picked when the route does not name a present one.
enum class InstanceChoice {
  random,             ///< Node's behaviour: the first of the shuffled presence list
  round_robin,        ///< instances in instance-ID order, rotating per service
  least_outstanding,  ///< fewest requests in flight from this client (ties random)
};

struct ClientOptions {
  InstanceChoice choice = InstanceChoice::random;
  /// Idle keep-alive connections kept per instance (0 disables reuse).
  std::size_t max_idle_per_instance = 8;
  /// Idle connections older than this are closed instead of reused (Node servers drop idle
  /// keep-alive connections after 5 s).
  std::chrono::milliseconds idle_timeout{4000};
  /// An instance that failed at the socket level is tried last for this long.
  std::chrono::milliseconds avoid_for{2000};
  /// Response bodies larger than this fail the attempt (not retried for unsafe methods).
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  /// Where present instances come from; default: the Hydra's presence cache
  /// (`get_service_addresses`). A client living on another thread than its Hydra supplies one
  /// that hops to the Hydra's executor (hydra-router does, one client per I/O thread).
  std::function<boost::asio::awaitable<std::vector<InstanceAddress>>(const std::string& service)>
      addresses;
  /// Node's `metric` events (`service:unavailable|<svc>|<iid>|<reason>`, ...).
  std::function<void(const std::string&)> on_metric;
};

struct RequestOptions {
  /// Seconds; overrides the message's `tmo` (Node's sendOpts.timeout). Default 30.
  std::optional<double> timeout_seconds;
};

/// Counters of one client.
struct ClientStats {
  unsigned long requests = 0;            ///< make_api_request calls that reached an instance
  unsigned long connections_opened = 0;  ///< TCP connections established
  unsigned long connections_reused = 0;  ///< requests sent on a pooled connection
  unsigned long retries = 0;             ///< attempts on another instance (or connection)
};

/// What a UMF message asks for, or Node's 400 object when it is invalid.
struct PreparedRequest {
  std::string service_name;
  std::string instance;  ///< named instance ("" when none)
  std::string method;    ///< upper case
  std::string target;    ///< apiRoute, query included
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< JSON text for POST/PUT/PATCH, else empty
  bool has_body = false;
  double timeout_seconds = 30;
};

/// An instance's HTTP answer as received.
struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Node's checks and request building (§4.1 steps 1, 2 and 5): either the request or the 400
/// response object.
std::variant<PreparedRequest, boost::json::object> prepare_request(const boost::json::object& umf,
                                                                   const RequestOptions& options);

/// GET, HEAD, PUT, DELETE, OPTIONS (upper case).
bool is_idempotent(std::string_view method);

/// Node's result object for an HTTP response: status texts, `result: {}`, the headers (names
/// lower-cased, repeated ones joined with ", ", `set-cookie` an array, `content-length` the body
/// size as a number), then the JSON body merged over it when the content type contains `json`,
/// else `payLoad` (the raw body).
boost::json::object response_object(int status,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    const std::string& body);

/// Node's failure object `{statusCode, statusMessage, statusDescription, result: {reason}}`.
boost::json::object error_object(int status, const std::string& reason);

class ApiClient {
 public:
  explicit ApiClient(Hydra& hydra);
  ApiClient(Hydra& hydra, ClientOptions options);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  /// Node's makeAPIRequest. Never throws for request failures: they are response objects
  /// (400 invalid message/route, 503 no or unreachable instances or timeout, 500 Redis error).
  boost::asio::awaitable<boost::json::object> make_api_request(const boost::json::object& umf);
  boost::asio::awaitable<boost::json::object> make_api_request(const boost::json::object& umf,
                                                               RequestOptions options);

  /// The HTTP exchange of make_api_request for a request already prepared (a proxy builds it
  /// from an incoming request): instance choice, pools, the retry rule and timeouts as above.
  /// The answer of the instance that responded, or Node's failure object (503/500).
  boost::asio::awaitable<std::variant<RawResponse, boost::json::object>> send(PreparedRequest p);

  ClientStats stats() const;
  /// Idle pooled connections (all instances).
  std::size_t idle_connections() const;
  /// Closes every idle pooled connection.
  void close_idle();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hydra::http
