/// @brief The Hydra registry: a service's presence, health, discovery, routes and stored
/// configuration in Redis, wire-compatible with Node.js Hydra 1.9.3.
///
/// Threading: a Hydra object lives on the executor given to its constructor; call it from
/// coroutines running on that executor (typically one io_context thread). When several threads
/// run the io_context, give Hydra a strand (`boost::asio::make_strand(io)`). Errors: coroutine
/// calls throw `hydra::Error`; "nothing found" is an empty result, never an exception.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hydra/config.hpp"
#include "hydra/error.hpp"
#include "hydra/redis/connection.hpp"
#include "hydra/result.hpp"
#include "hydra/umf.hpp"

namespace hydra {

/// What registerService resolves with.
struct ServiceInfo {
  std::string service_name;
  std::string service_ip;
  std::uint16_t service_port = 0;
};

/// An instance's entry in `hydra:service:nodes` (what Node's getServiceNodes/getServicePresence
/// return). `json` is the stored object plus the reader-added `elapsed` or `updatedOnTS`.
struct NodeEntry {
  std::string service_name;
  std::string service_description;
  std::string version;
  std::string instance_id;
  std::string updated_on;
  long long process_id = 0;
  std::string ip;
  /// The port as text; Node stores a string for a fixed port and a number for a random one.
  std::string port;
  std::string host_name;
  /// Seconds since updatedOn when read.
  long long elapsed = 0;
  boost::json::object json;
};

/// Where a present instance listens: the part of a presence entry an HTTP call needs.
struct InstanceAddress {
  std::string instance_id;
  std::string ip;
  /// As stored (a string or a number in the nodes entry), as text.
  std::string port;
};

/// A `hydra:service:<svc>:service` record.
struct ServiceRecord {
  std::string service_name;
  std::optional<std::string> type;
  std::string registered_on;
  boost::json::object json;
};

/// One element of getServiceHealthAll.
struct ServiceHealth {
  std::string service_name;
  std::vector<boost::json::object> health;
  std::vector<boost::json::object> log;
  std::vector<NodeEntry> presence;
};

/// Tuning knobs with Node's values as defaults.
struct RegistryOptions {
  /// Presence refresh period (Node: 1 s) and key TTL (Node: 3 s).
  std::chrono::milliseconds presence_interval{1000};
  int presence_ttl_seconds = 3;
  /// How long a presence lookup is cached (Node: 3 s). Entries known to be gone are never served.
  std::chrono::milliseconds presence_cache_ttl{1000};
  /// How long init() waits for the first Redis connection before failing.
  std::chrono::milliseconds connect_wait{10000};
  /// Messages larger than this (short-form JSON bytes) are refused before publishing (413).
  std::size_t max_message_bytes = 1024 * 1024;
};

/// Counters of the message receiver.
struct MessagingStats {
  unsigned long received = 0;      ///< valid UMF messages handed to the handler
  unsigned long replies = 0;       ///< replies matched to a pending request()
  unsigned long invalid_json = 0;  ///< payloads that were not JSON objects (dropped)
  unsigned long invalid_umf = 0;   ///< JSON objects that failed UMF validation (dropped)
};

class Hydra {
 public:
  /// A health-log entry `{ts, serviceName, type, processID, msg}`.
  using LogHandler = std::function<void(const boost::json::object& entry)>;
  /// A raw pub/sub message on one of the service's channels.
  using RawMessageHandler = std::function<void(std::string_view channel, std::string_view payload)>;
  /// A received UMF message, normalised (its `to_short()` is what Node's `message` event gives).
  /// The message is handed over: a handler taking `umf::Message` by value can keep it or move
  /// it into a coroutine without copying; one taking `const umf::Message&` works as well.
  using MessageHandler = std::function<void(umf::Message message)>;

  explicit Hydra(boost::asio::any_io_executor executor, RegistryOptions options = {});
  ~Hydra();
  Hydra(const Hydra&) = delete;
  Hydra& operator=(const Hydra&) = delete;

  /// Node's init: applies HYDRA_REDIS_URL/HYDRA_SERVICE (loading a stored `svc:version` config
  /// from Redis if asked), validates, connects, resolves serviceIP/servicePort and creates the
  /// instance ID. Nothing is written to Redis. Returns the document with `hydra.servicePort`
  /// replaced by the resolved port. Throws `Error` (invalid_config, timeout, ...).
  boost::asio::awaitable<boost::json::object> init(boost::json::value document);
  /// init() from a JSON file (following `location`).
  boost::asio::awaitable<boost::json::object> init_from_file(const std::string& path);

  /// Writes the `:service` key, subscribes to the service and instance channels (completing only
  /// once both are active), and starts the presence/health loop (first write at once).
  boost::asio::awaitable<ServiceInfo> register_service();

  /// Stops the loop, logs "Service is shutting down.", expires health, deletes presence at once
  /// and closes the connections. Leaves nodes entry, `:service`, routes and configs (as Node).
  /// Safe to call when init never connected, and more than once.
  boost::asio::awaitable<void> shutdown();

  const std::string& service_name() const;
  /// 32 lowercase hex characters; "not set" before init and after shutdown.
  const std::string& instance_id() const;
  const std::string& instance_version() const;
  const ServiceConfig& config() const;
  /// The resolved service address.
  const std::string& service_ip() const;
  std::uint16_t service_port() const;
  /// The socket init() bound to a randomly chosen service port (bound, not listening), handed
  /// over once to the HTTP server so it listens without re-binding; nullopt for a fixed port or
  /// once taken. Ownership passes to the caller. Closed by shutdown()/the destructor otherwise.
  std::optional<int> take_reserved_listener();
  bool is_initialized() const;
  bool is_registered() const;

  /// The command connection (for callers that need plain Redis commands).
  redis::Connection& redis();
  /// The executor this object lives on.
  boost::asio::any_io_executor get_executor() const;

  // Discovery ----------------------------------------------------------------------------------
  /// `:service` records of services that have instances in the nodes hash (see docs/decisions.md).
  boost::asio::awaitable<std::vector<ServiceRecord>> get_services();
  /// Every entry of `hydra:service:nodes` (malformed ones skipped and logged once).
  boost::asio::awaitable<std::vector<NodeEntry>> get_service_nodes();
  /// The `:service` record; throws `Error(not_found, "Can't find <name> service")`.
  boost::asio::awaitable<ServiceRecord> find_service(std::string name);
  /// Present instances of a service (default: this one), shuffled. Cost independent of unrelated
  /// keys: it reads the nodes hash and checks candidates' presence keys in one MGET.
  boost::asio::awaitable<std::vector<NodeEntry>> get_service_presence(std::string name = {});
  /// get_service_presence reduced to addresses, in random order, from the same cache without
  /// copying whole entries (the makeAPIRequest path).
  boost::asio::awaitable<std::vector<InstanceAddress>> get_service_addresses(std::string name);
  /// Uncached presence check.
  boost::asio::awaitable<bool> has_service_presence(std::string name = {});
  /// Drops an instance from the presence cache (e.g. after a failed call to it).
  void forget_instance(const std::string& instance_id);

  // Health and logs ----------------------------------------------------------------------------
  /// The health object (Node's getHealth: the stored health JSON minus updatedOn).
  boost::json::object get_health() const;
  /// Builds a log entry, emits it to the log handler and, when registered and the entry does not
  /// mention "redis", LPUSHes it to the health log (LTRIM 0 63, one-week expiry). Fire-and-forget.
  void send_to_health_log(std::string type, std::string message, bool suppress_emit = false);
  /// The health-log entries of all instances of a service (newest first).
  boost::asio::awaitable<std::vector<boost::json::object>> get_service_health_log(
      std::string name = {});
  /// For every service: health of its present instances, its log, its presence.
  boost::asio::awaitable<std::vector<ServiceHealth>> get_service_health_all();

  // Routes -------------------------------------------------------------------------------------
  /// Replaces the service's routes (`[method]/path`) plus the three automatic ones, then
  /// broadcasts `hydra-router:/refresh` when a router is present.
  boost::asio::awaitable<void> register_routes(std::vector<std::string> routes);
  /// `{service: [routes]}` for every service with instances in the nodes hash.
  boost::asio::awaitable<std::map<std::string, std::vector<std::string>>> get_all_service_routes();
  /// Matches against this service's routes, with (`[get]/v1/x`) or without (`/v1/x`) the method.
  bool match_route(std::string_view path) const;

  // Stored configuration -------------------------------------------------------------------------
  /// `svc:version` → the stored JSON, or nullopt. Throws `Error(invalid_argument)` for a bad label.
  boost::asio::awaitable<std::optional<boost::json::value>> get_config(std::string label);
  boost::asio::awaitable<void> put_config(std::string label, const boost::json::value& config);
  /// `["svc:1.0.0", ...]` sorted.
  boost::asio::awaitable<std::vector<std::string>> list_config(std::string service);
  /// Removes a stored version; false if it did not exist.
  boost::asio::awaitable<bool> remove_config(std::string label);

  // Messaging ----------------------------------------------------------------------------------
  /// Node's sendMessage: to the named instance (which must be present) or to a random present
  /// instance's instance channel. 400 invalid UMF/route, 413 too large, 503 `Unavailable <svc>
  /// instances` / `Unavailable <svc> instance named <iid>`, 500 Redis error. An instance that
  /// vanished within the cache window (PUBLISH reached nobody) is skipped for the next one.
  /// The message is checked and serialised by this call; it is published when awaited.
  boost::asio::awaitable<Result> send_message(umf::Message message);
  boost::asio::awaitable<Result> send_message(const boost::json::object& message);
  /// Node's sendBroadcastMessage: to the service channel (all instances); 503 when none is
  /// present, except for hydra-router (silently ok).
  boost::asio::awaitable<Result> send_broadcast_message(umf::Message message);
  boost::asio::awaitable<Result> send_broadcast_message(const boost::json::object& message);
  /// Node's sendReplyMessage (rmid, to/from swapped, `via` wins, fields carried over).
  boost::asio::awaitable<Result> send_reply_message(const umf::Message& original,
                                                    const boost::json::object& response);
  /// The same, moving the response's fields instead of copying them.
  boost::asio::awaitable<Result> send_reply_message(const umf::Message& original,
                                                    boost::json::object&& response);
  /// A message checked and serialised for publishing, or the reason it cannot be sent: what
  /// the send operations below carry from the call to the PUBLISH (a umf::Message is not kept).
  struct Outgoing {
    std::optional<Result> refused;
    std::string service;   // lower-cased
    std::string instance;  // "" = any instance of the service
    std::string payload;   // the short form, as published
    std::string mid;
  };
  /// send_message with any Asio completion token (a callback, `use_awaitable`, `deferred`,
  /// ...), completing with `void(Result)`. With a plain callback no coroutine is involved:
  /// when the presence cache knows the destination the callback runs from PUBLISH's reply.
  /// The message is checked and serialised by this call.
  template <class Token>
  auto async_send_message(const umf::Message& message, Token&& token) {
    return async_send(prepare_send(message), token);
  }
  /// send_reply_message with any completion token, as async_send_message.
  template <class Token>
  auto async_send_reply_message(const umf::Message& original, boost::json::object response,
                                Token&& token) {
    return async_send(prepare_reply(original, response), token);
  }
  /// Sends `message` from `<iid>@<svc>:/` (so the reply comes back to this instance) and
  /// completes with the reply whose `rmid` is its mid. Throws `Error(timeout)` after `timeout`
  /// (nothing is left behind), `Error(unavailable|invalid_message|redis_error)` when it cannot
  /// be sent or when a request with the same mid is already waiting, and
  /// `boost::system::system_error(operation_aborted)` when its wait is cancelled (for example as
  /// the losing side of `||`). Requires register_service(). `async_request` with
  /// `use_awaitable`.
  boost::asio::awaitable<umf::Message> request(umf::Message message,
                                               std::chrono::milliseconds timeout);
  /// request() with any completion token, completing with `void(std::exception_ptr,
  /// umf::Message)`: the reply, or the exception request() would throw (never inside the call).
  /// The operation has no coroutine frame of its own; a token's cancellation slot (e.g.
  /// `||`, bind_cancellation_slot) ends the request at once.
  template <class Token>
  auto async_request(umf::Message message, std::chrono::milliseconds timeout, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr, umf::Message)>(
        [this](auto handler, umf::Message m, std::chrono::milliseconds t) {
          start_request(std::move(m), t, RequestHandler(std::move(handler)));
        },
        token, std::move(message), timeout);
  }
  /// Receiver counters.
  MessagingStats messaging_stats() const;
  /// Requests waiting for a reply (0 when idle: timeouts leave nothing behind).
  std::size_t pending_requests() const;

  // Maintenance --------------------------------------------------------------------------------
  /// Deletes nodes entries whose updatedOn is older than `max_age` (hydra-cli `refresh`);
  /// returns how many were removed.
  boost::asio::awaitable<std::size_t> remove_stale_nodes(std::chrono::seconds max_age);

  // Events -------------------------------------------------------------------------------------
  /// Log entries (also Redis connection events). Without a handler, errors go to stderr.
  void on_log(LogHandler handler);
  /// Raw payloads on the service and instance channels, before any parsing.
  void on_raw_message(RawMessageHandler handler);
  /// Valid UMF messages received on the service and instance channels (replies that complete a
  /// request() are not delivered here). Invalid JSON/UMF is dropped, counted and logged once.
  void on_message(MessageHandler handler);
  /// Redis connection state changes of the command connection.
  void on_connection_state(redis::Connection::StateHandler handler);

 private:
  using SendHandler = boost::asio::any_completion_handler<void(Result)>;
  using RequestHandler =
      boost::asio::any_completion_handler<void(std::exception_ptr, umf::Message)>;
  void start_request(umf::Message message, std::chrono::milliseconds timeout,
                     RequestHandler handler);
  Outgoing prepare_send(const umf::Message& message);
  Outgoing prepare_reply(const umf::Message& original, const boost::json::object& response);
  void start_send(Outgoing&& out, SendHandler handler);
  // The checked message is passed on by reference until the send's handler takes it: it holds
  // several strings, and each move of it costs more than the reference.
  template <class Token>
  auto async_send(Outgoing&& out, Token& token) {
    return boost::asio::async_initiate<Token, void(Result)>(
        [this](auto handler, Outgoing&& o) {
          start_send(std::move(o), SendHandler(std::move(handler)));
        },
        token, std::move(out));
  }

  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hydra
