// The Hydra registry: init, registration, the presence/health loop, discovery, routes, configs.
#include "hydra/hydra.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cstdio>
#include <random>
#include <set>
#include <type_traits>
#include <utility>

#include "common/clock.hpp"
#include "common/deadline.hpp"
#include "common/executors.hpp"
#include "hydra/json.hpp"
#include "hydra/route_pattern.hpp"
#include "hydra/text.hpp"
#include "registry/pending_requests.hpp"
#include "registry/records.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;
using hydra::redis::cmd;
using hydra::redis::Command;
using hydra::redis::Reply;

namespace hydra {

namespace {

struct CompiledRoute {
  std::string text;
  RoutePattern full;                      // with the [method] prefix, as Node matches
  std::optional<RoutePattern> path_only;  // without it, so "/v1/x" matches too
};

struct PresenceCacheEntry {
  std::chrono::steady_clock::time_point expires;
  std::vector<NodeEntry> entries;
};

}  // namespace

struct Hydra::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, RegistryOptions options)
      : ex(std::move(executor)), opts(options), presence_timer(ex), rng(std::random_device{}()) {}

  asio::any_io_executor ex;
  RegistryOptions opts;
  ServiceConfig cfg;
  bool initialized = false;
  /// The random service port's socket, held from init until the HTTP server takes it (-1: none).
  int reserved_fd = -1;
  void close_reserved() {
    if (reserved_fd >= 0) ::close(reserved_fd);
    reserved_fd = -1;
  }
  bool registered = false;
  // `<iid>@<svc>:/`, the `from` of this instance's requests (their replies come back on its
  // instance channel); set when it registers.
  boost::json::value request_from;
  bool stopping = false;
  std::string instance_id = "not set";
  registry::InstanceFacts facts;
  std::unique_ptr<redis::Connection> conn;
  std::unique_ptr<redis::Connection> sub;
  LogHandler log_handler;
  RawMessageHandler raw_handler;
  MessageHandler message_handler;
  MessagingStats msg_stats;
  // async_request(): the requests waiting for replies, and one deadline for the earliest of
  // them (request_deadline_at; max() when it is not armed).
  registry::PendingRequests pending;
  detail::Deadline request_deadline{ex, [this] { on_request_deadline(); }};
  std::chrono::steady_clock::time_point request_deadline_at =
      std::chrono::steady_clock::time_point::max();
  redis::Connection::StateHandler state_handler;
  std::vector<CompiledRoute> routes;
  std::map<std::string, PresenceCacheEntry> presence_cache;
  std::set<std::string> warned;
  asio::steady_timer presence_timer;
  std::mt19937_64 rng;
  unsigned long ticks = 0;
  std::string last_connection_error;
  bool tick_failing = false;

  // Logging ------------------------------------------------------------------------------------
  void emit(const boost::json::object& entry) {
    if (log_handler) {
      log_handler(entry);
      return;
    }
    auto type = entry.at("type").as_string();
    if (type == "error" || type == "fatal" || type == "warn") {
      std::fprintf(stderr, "hydra: %s: %s\n", type.c_str(),
                   std::string(entry.at("msg").as_string()).c_str());
    }
  }

  void log(const std::string& type, const std::string& message) {
    emit(registry::log_entry(json::iso_now(), name_for_log(), type, getpid(), message));
  }

  std::string name_for_log() const {
    return registered ? cfg.service_name : std::string("not a service");
  }

  // Foreign or malformed data is skipped; this says so once per key, not on every read.
  void warn_once(const std::string& key, const std::string& message) {
    if (warned.insert(key).second) log("warn", message);
  }

  redis::Connection& redis() {
    if (!conn)
      throw Error(errc::not_initialized,
                  "init() not called, Hydra requires a configuration object.");
    return *conn;
  }

  void require_init() const {
    if (!initialized) {
      throw Error(errc::not_initialized,
                  "init() not called, Hydra requires a configuration object.");
    }
  }

  // Init ---------------------------------------------------------------------------------------
  std::unique_ptr<redis::Connection> make_connection(redis::Config rc, redis::Mode mode) {
    // Hydra already lives on one executor (a strand when several threads run it), so its
    // connections need no strand of their own.
    rc.single_threaded = true;
    auto c = std::make_unique<redis::Connection>(ex, rc, mode);
    std::weak_ptr<Impl> weak = weak_from_this();
    bool is_main = mode == redis::Mode::commands;
    c->set_state_handler([weak, is_main](redis::State s, const std::string& detail) {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->ex, [self, s, detail, is_main] { self->on_state(s, detail, is_main); });
    });
    return c;
  }

  void on_state(redis::State s, const std::string& detail, bool is_main) {
    std::string which = is_main ? "Redis" : "Redis subscriber";
    switch (s) {
      case redis::State::connected:
        log("info", which + " connection established: " + detail);
        // After a reconnect, write presence at once instead of waiting for the next tick.
        if (is_main && registered && conn && conn->connect_count() > 1) presence_timer.cancel();
        break;
      case redis::State::disconnected:
        log("error", which + ": " + detail);
        break;
      case redis::State::stopped:
        if (!stopping) log("error", which + " connection stopped: " + detail);
        break;
      default:
        break;
    }
    if (is_main && state_handler) state_handler(s, detail);
  }

  asio::awaitable<void> wait_connected(redis::Connection& c) {
    redis::RequestOptions o;
    o.timeout = opts.connect_wait;
    try {
      (co_await c.exec(cmd("PING"), o)).check();
    } catch (const Error& e) {
      // The connection's last failure says why (refused, AUTH, SELECT, TLS); the PING error
      // itself would only say that it timed out.
      std::string why = last_connection_error.empty() ? e.what() : last_connection_error;
      throw Error(e.code(), "cannot reach Redis at " + describe(c.config()) + ": " + why);
    }
  }

  asio::awaitable<boost::json::value> load_stored_document(const std::string& label,
                                                           const EnvOverrides& env) {
    auto [svc, version] = registry::parse_config_label(label);
    redis::Connection temp(ex, redis::parse_url(*env.redis_url));
    temp.start();
    co_await wait_connected(temp);
    auto reply = co_await temp.exec(cmd("HGET", registry::Keys::configs(svc), version));
    temp.stop();
    auto text = reply.as_optional_string();
    if (!text) {
      throw Error(errc::invalid_config, "HYDRA_SERVICE: no stored config " + label +
                                            " (hydra:service:" + svc + ":configs)");
    }
    auto doc = json::try_parse(*text);
    if (!doc || !doc->is_object() || !doc->as_object().contains("hydra")) {
      throw Error(errc::invalid_config, "HYDRA_SERVICE: stored config " + label +
                                            " is not a JSON object with a hydra branch");
    }
    co_return *doc;
  }

  asio::awaitable<boost::json::object> init(boost::json::value document) {
    if (initialized) throw Error(errc::invalid_argument, "Hydra.init() already invoked");
    auto env = read_env();
    if (auto label = apply_env(document, env)) {
      document = co_await load_stored_document(*label, env);
      EnvOverrides redis_only;
      redis_only.redis_url = env.redis_url;
      apply_env(document, redis_only);
    }
    cfg = parse_config(document);
    if (cfg.max_message_bytes) opts.max_message_bytes = *cfg.max_message_bytes;
    stopping = false;
    conn = make_connection(cfg.redis, redis::Mode::commands);
    conn->start();
    try {
      co_await wait_connected(*conn);
    } catch (...) {
      conn->stop();
      throw;
    }
    std::string ip = resolve_service_ip(cfg);
    ResolvedPort port = resolve_and_reserve_service_port(cfg.service_port, ip);
    close_reserved();
    reserved_fd = port.fd;
    instance_id = registry::new_instance_id();
    facts = {};
    facts.service_name = cfg.service_name;
    facts.service_description = cfg.service_description;
    facts.version = cfg.service_version;
    facts.instance_id = instance_id;
    facts.process_id = getpid();
    facts.ip = ip;
    facts.port = port.port;
    facts.port_fixed = port.fixed;
    facts.host_name = registry::host_name();
    facts.service_type = cfg.service_type;
    auto& hydra_branch = cfg.document["hydra"].as_object();
    if (port.fixed) {
      hydra_branch["servicePort"] = std::to_string(port.port);
    } else {
      hydra_branch["servicePort"] = port.port;
    }
    initialized = true;
    co_return cfg.document;
  }

  // Registration and the presence loop ---------------------------------------------------------
  asio::awaitable<ServiceInfo> register_service() {
    require_init();
    auto record = registry::service_record(facts, json::iso_now());
    auto set = co_await conn->exec(
        cmd("SET", registry::Keys::service(cfg.service_name), json::stringify(record)));
    if (set.is_error()) throw Error(errc::redis_error, "Unable to set :service key in Redis db.");
    if (!sub) {
      sub = make_connection(cfg.redis, redis::Mode::subscriber);
      std::weak_ptr<Impl> weak = weak_from_this();
      sub->set_message_handler([weak](std::string_view channel, std::string_view payload) {
        if (auto self = weak.lock()) self->on_payload(channel, payload);
      });
      sub->start();
    }
    co_await sub->subscribe(cmd(registry::Keys::service_channel(cfg.service_name),
                                registry::Keys::instance_channel(cfg.service_name, instance_id)));
    request_from = boost::json::string(instance_id + "@" + cfg.service_name + ":/");
    registered = true;
    co_await tick();
    asio::co_spawn(ex, presence_loop(shared_from_this()), asio::detached);
    co_return ServiceInfo{cfg.service_name, facts.ip, facts.port};
  }

  // One refresh: presence, the nodes entry and health in one pipelined round trip. Health is
  // refreshed with presence (same TTL) so it exists whenever the instance does; Node refreshes it
  // every 5 s with a 3 s TTL, which leaves it missing 40 % of the time.
  asio::awaitable<void> tick() {
    auto now = json::iso_now();
    std::vector<Command> batch;
    auto ttl = std::to_string(opts.presence_ttl_seconds);
    batch.push_back(
        cmd("SETEX", registry::Keys::presence(cfg.service_name, instance_id), ttl, instance_id));
    batch.push_back(cmd("HSET", registry::Keys::nodes(), instance_id,
                        json::stringify(registry::nodes_entry(facts, now))));
    auto health = registry::health(facts, registry::sample_process(), now, json::iso_now());
    batch.push_back(cmd("SETEX", registry::Keys::health(cfg.service_name, instance_id), ttl,
                        json::stringify(health)));
    if (ticks++ % 5 == 0) {
      batch.push_back(cmd("EXPIRE", registry::Keys::health_log(cfg.service_name, instance_id),
                          std::to_string(registry::kHealthLogTtlSeconds)));
    }
    redis::RequestOptions o;
    o.wait_for_connection = false;  // a tick during an outage is skipped, not queued
    try {
      auto replies = co_await conn->exec_batch(std::move(batch), o);
      for (auto& r : replies)
        r.check();
      if (tick_failing) log("info", "presence updates resumed");
      tick_failing = false;
    } catch (const std::exception& e) {
      if (!tick_failing) log("error", std::string("presence update failed: ") + e.what());
      tick_failing = true;
    }
  }

  static asio::awaitable<void> presence_loop(std::shared_ptr<Impl> self) {
    auto next = std::chrono::steady_clock::now() + self->opts.presence_interval;
    while (self->registered && !self->stopping) {
      self->presence_timer.expires_at(next);
      auto [ec] = co_await self->presence_timer.async_wait(asio::as_tuple(use_awaitable));
      if (!self->registered || self->stopping) break;
      co_await self->tick();
      next = std::chrono::steady_clock::now() + self->opts.presence_interval;
      (void)ec;
    }
  }

  // Health log ---------------------------------------------------------------------------------
  void send_to_health_log(std::string type, std::string message, bool suppress_emit) {
    auto entry = registry::log_entry(json::iso_now(), name_for_log(), type, getpid(), message);
    if (!suppress_emit) emit(entry);
    if (!registered || !conn) return;
    auto text = json::stringify(entry);
    if (registry::mentions_redis(text)) return;
    auto key = registry::Keys::health_log(cfg.service_name, instance_id);
    std::vector<Command> batch{
        cmd("MULTI"), cmd("LPUSH", key, text),
        cmd("LTRIM", key, "0", std::to_string(registry::kHealthLogLength - 1)),
        cmd("EXPIRE", key, std::to_string(registry::kHealthLogTtlSeconds)), cmd("EXEC")};
    conn->async_exec(std::move(batch), {}, [](std::error_code, std::vector<Reply>) {});
  }

  // Shutdown -----------------------------------------------------------------------------------
  asio::awaitable<void> shutdown() {
    if (!conn) co_return;
    bool was_registered = registered;
    stopping = true;
    registered = false;
    presence_timer.cancel();
    if (was_registered) {
      auto entry = registry::log_entry(json::iso_now(), cfg.service_name, "error", getpid(),
                                       "Service is shutting down.");
      emit(entry);
      auto log_key = registry::Keys::health_log(cfg.service_name, instance_id);
      std::vector<Command> batch;
      batch.push_back(cmd("LPUSH", log_key, json::stringify(entry)));
      batch.push_back(cmd("LTRIM", log_key, "0", std::to_string(registry::kHealthLogLength - 1)));
      batch.push_back(cmd("EXPIRE", registry::Keys::health(cfg.service_name, instance_id), "3"));
      batch.push_back(cmd("EXPIRE", log_key, std::to_string(registry::kHealthLogTtlSeconds)));
      batch.push_back(cmd("DEL", registry::Keys::presence(cfg.service_name, instance_id)));
      redis::RequestOptions o;
      o.wait_for_connection = false;
      o.timeout = std::chrono::milliseconds(2000);
      try {
        co_await conn->exec_batch(std::move(batch), o);
      } catch (const std::exception& e) {
        log("error", std::string("shutdown cleanup failed: ") + e.what());
      }
    }
    if (sub) sub->stop();
    conn->stop();
    initialized = false;
    instance_id = "not set";
    close_reserved();
    presence_cache.clear();
  }

  // Messaging ----------------------------------------------------------------------------------
  // Every payload on the two channels: raw hook, then JSON and UMF checks (bad input is dropped,
  // counted and reported once per kind), then either a pending request() or the handler.
  void on_payload(std::string_view channel, std::string_view payload) {
    if (raw_handler) raw_handler(channel, payload);
    auto parsed = umf::Message::parse(payload);
    if (!parsed) {
      ++msg_stats.invalid_json;
      warn_once("invalid-json", "dropping a non-JSON message on " + std::string(channel) +
                                    " (reported once; see messaging_stats())");
      return;
    }
    auto& message = *parsed;
    if (!message.validate()) {
      ++msg_stats.invalid_umf;
      warn_once("invalid-umf", "dropping a message without to/from/body on " +
                                   std::string(channel) + " (reported once)");
      return;
    }
    if (const auto* rmid = message.get(umf::Field::rmid); rmid && rmid->is_string()) {
      const auto& id = rmid->get_string();
      if (auto handler = pending.take(std::string_view(id.data(), id.size()))) {
        ++msg_stats.replies;
        complete_request(std::move(*handler), nullptr, std::move(message));
        return;
      }
    }
    ++msg_stats.received;
    if (message_handler) message_handler(std::move(message));
  }

  Outgoing check_outgoing(const umf::Message& m) {
    if (!m.validate()) return refused_as_invalid();
    return route_outgoing(
        m.text_view(umf::Field::to), [&] { return m.to_short_json(); },
        std::string(m.text_view(umf::Field::mid)));
  }

  // A reply checked as check_outgoing(make_reply(original, response)) checks it, written
  // straight from the two (umf::reply_json) instead of being built as a message first.
  Outgoing check_reply(const umf::Message& original, const boost::json::object& response) {
    auto reply = umf::reply_json(original, response);
    if (!reply.valid) return refused_as_invalid();
    return route_outgoing(
        reply.to, [&] { return std::move(reply.json); }, std::move(reply.mid));
  }

  static Outgoing refused_as_invalid() {
    Outgoing out;
    out.refused = Result::failure(400, R"(UMF message requires "to", "from" and "body" fields)");
    return out;
  }

  // The rest of the checks of a valid message to `to` whose short form `payload()` gives.
  template <class Payload>
  Outgoing route_outgoing(std::string_view to, Payload&& payload, std::string mid) {
    Outgoing out;
    // The route is split in place (views of `to`), and only the service and instance copied.
    const auto route = umf::parse_route_view(to);
    if (!route.error.empty()) {
      out.refused = Result::failure(400, std::string(route.error));
      return out;
    }
    // Service names are stored lower-cased; Node would look up the name as written and miss.
    out.service = ascii_lower(route.service_name);
    out.instance.assign(route.instance);
    out.payload = payload();
    if (out.payload.size() > opts.max_message_bytes) {
      out.refused = Result::failure(413, "message of " + std::to_string(out.payload.size()) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(opts.max_message_bytes) + " bytes");
      return out;
    }
    out.mid = std::move(mid);
    return out;
  }

  // Node logs every 503 of sendMessage/sendBroadcastMessage as an error before resolving.
  Result unavailable(const std::string& reason) {
    log("error", reason);
    return Result::failure(503, reason);
  }

  // Completes a send: a public handler (type-erased, with the caller's executor) as an
  // asynchronous operation must be; a request's own handler (code of this class, running here)
  // is called directly.
  template <class Handler>
  void complete_send(Handler&& h, Result r) {
    if constexpr (std::is_same_v<std::decay_t<Handler>, SendHandler>) {
      invoke_here_or_dispatch(ex, std::move(h), std::move(r));
    } else {
      std::move(h)(std::move(r));
    }
  }

  // A send of a checked message (Hydra::async_send). When the presence cache knows the
  // destination (every reply, and most sends to a service) it is one PUBLISH whose reply
  // completes the send directly: no coroutine frame between the caller and the connection.
  // Everything else (cache misses, a pick that nobody received) goes through send_checked.
  template <class Handler>
  void start_send(Outgoing&& out, Handler handler) {
    if (out.refused) {
      // Completed from inside the initiation: posted, as an asynchronous operation must be.
      asio::post(ex, [self = shared_from_this(), h = std::move(handler),
                      r = std::move(*out.refused)]() mutable {
        self->complete_send(std::move(h), std::move(r));
      });
      return;
    }
    const bool named = !out.instance.empty();
    const std::string* pick = nullptr;
    std::optional<std::string> random_pick;
    if (!conn) {
      // Not initialised: send_checked reports it.
    } else if (named) {
      auto known = named_presence(out.service, out.instance);
      if (known && known->first && known->second) pick = &out.instance;
    } else if ((random_pick = random_cached_instance(out.service))) {
      pick = &*random_pick;
    }
    if (!pick) {
      send_checked(std::move(out), SendHandler(std::move(handler)));
      return;
    }
    // The channel is written into a buffer this thread reuses, and PUBLISH is encoded from views
    // of it and of the payload: the payload is copied once, into the request. A random pick
    // may have died within the cache's lifetime; then the send goes on with the other
    // instances and needs the message again, so it is kept for that case (behind a pointer,
    // so the handler moves cheaply). A named send keeps only its mid.
    // (Built before the call: the handler's capture moves `out`.)
    thread_local std::string channel;
    registry::Keys::instance_channel_into(channel, out.service, *pick);
    redis::Request publish("PUBLISH", channel, out.payload);
    std::string mid = std::move(out.mid);
    std::unique_ptr<Outgoing> retry;
    if (random_pick) retry = std::make_unique<Outgoing>(std::move(out));
    // Hydra's own code, which runs where the connection runs: called without an executor query.
    auto on_published = [self = shared_from_this(), h = std::move(handler), mid = std::move(mid),
                         retry = std::move(retry), random_pick = std::move(random_pick)](
                            std::error_code ec, const redis::Reply& reply) mutable {
      if (ec || reply.type != redis::Reply::Type::integer) {
        self->complete_send(std::move(h), self->publish_failed(ec, reply));
      } else if (reply.integer > 0 || !random_pick) {
        // A named instance the cache lists counts as reached whatever PUBLISH's count says, as
        // in Node's sendMessage.
        self->complete_send(std::move(h), Result::success(std::move(mid)));
      } else {
        // Nobody received it: that instance is forgotten and the others are tried.
        self->forget_instance(*random_pick);
        retry->mid = std::move(mid);
        self->send_checked(std::move(*retry), SendHandler(std::move(h)));
      }
    };
    conn->exec_one_here(std::move(publish), {}, std::move(on_published));
  }

  // The outcome of a PUBLISH that failed: the connection's error or Redis's error reply.
  Result publish_failed(std::error_code ec, const redis::Reply& reply) {
    std::string reason = ec                 ? "Redis PUBLISH: " + ec.message()
                         : reply.is_error() ? reply.str
                                            : "expected an integer reply, got " + reply.describe();
    log("error", reason);
    return Result::failure(500, std::move(reason));
  }

  // The rest of sendMessage as a coroutine: presence lookups when the cache does not answer,
  // and every present instance in turn until one receives the message.
  void send_checked(Outgoing out, SendHandler handler) {
    asio::co_spawn(ex, send_to_present(std::move(out)),
                   [self = shared_from_this(), h = std::move(handler)](std::exception_ptr e,
                                                                       Result r) mutable {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         r = Result::failure(500, x.what());
                       }
                     }
                     invoke_here_or_dispatch(self->ex, std::move(h), std::move(r));
                   });
  }

  asio::awaitable<Result> send_to_present(Outgoing out) {
    const auto& svc = out.service;
    try {
      if (!out.instance.empty()) {
        auto known = named_presence(svc, out.instance);
        if (!known) {
          auto ids = co_await present_ids(svc);
          known = std::make_pair(!ids.empty(),
                                 std::find(ids.begin(), ids.end(), out.instance) != ids.end());
        }
        if (!known->first) co_return unavailable("Unavailable " + svc + " instances");
        if (!known->second) {
          co_return unavailable("Unavailable " + svc + " instance named " + out.instance);
        }
        (co_await redis().exec(cmd("PUBLISH", registry::Keys::instance_channel(svc, out.instance),
                                   std::move(out.payload))))
            .as_integer();
        co_return Result::success(std::move(out.mid));
      }
      if (auto pick = random_cached_instance(svc)) {
        auto n = (co_await redis().exec(
                      cmd("PUBLISH", registry::Keys::instance_channel(svc, *pick), out.payload)))
                     .as_integer();
        if (n > 0) co_return Result::success(std::move(out.mid));
        forget_instance(*pick);
      }
      auto instances = co_await present_ids(svc);
      if (instances.empty()) co_return unavailable("Unavailable " + svc + " instances");
      // The cache may still hold an instance that died within its lifetime; PUBLISH tells
      // (nobody received it), so that one is forgotten and the next is tried.
      for (const auto& iid : instances) {
        auto n = (co_await redis().exec(
                      cmd("PUBLISH", registry::Keys::instance_channel(svc, iid), out.payload)))
                     .as_integer();
        if (n > 0) co_return Result::success(std::move(out.mid));
        forget_instance(iid);
      }
      co_return unavailable("Unavailable " + svc + " instances");
    } catch (const std::exception& e) {
      log("error", e.what());
      co_return Result::failure(500, e.what());
    }
  }

  asio::awaitable<Result> send_broadcast_message(umf::Message m) {
    auto out = check_outgoing(m);
    if (out.refused) co_return *out.refused;
    const auto& svc = out.service;
    try {
      auto instances = co_await present_ids(svc);
      if (instances.empty()) {
        if (svc == "hydra-router") co_return Result::success(std::move(out.mid));
        co_return unavailable("Unavailable " + svc + " instances");
      }
      co_await redis().exec(cmd("PUBLISH", registry::Keys::service_channel(svc), out.payload));
      co_return Result::success(std::move(out.mid));
    } catch (const std::exception& e) {
      log("error", e.what());
      co_return Result::failure(500, e.what());
    }
  }

  // Requests ---------------------------------------------------------------------------------
  // The handler type Hydra's async_request wraps is the one the table keeps.
  static_assert(std::is_same_v<RequestHandler, registry::PendingRequests::Handler>);

  // Completes a request with its reply or its exception. Its cancellation handler is removed
  // first, so it cannot fire for a later request that reuses the mid.
  void complete_request(RequestHandler handler, std::exception_ptr error, umf::Message reply) {
    if (auto slot = asio::get_associated_cancellation_slot(handler); slot.is_connected()) {
      slot.clear();
    }
    invoke_here_or_dispatch(ex, std::move(handler), error, std::move(reply));
  }

  // A request that cannot start completes posted, never inside the call.
  void refuse_request(RequestHandler handler, std::exception_ptr error) {
    asio::post(ex, [self = shared_from_this(), h = std::move(handler), error]() mutable {
      self->complete_request(std::move(h), error, umf::Message{});
    });
  }

  // What request() throws for a message that could not be sent.
  static std::exception_ptr send_error(const Result& r) {
    return std::make_exception_ptr(Error(r.status_code == 503   ? errc::unavailable
                                         : r.status_code == 500 ? errc::redis_error
                                                                : errc::invalid_message,
                                         r.reason));
  }

  // Moves the request deadline to `deadline` unless it is already due earlier.
  void arm_request_deadline(std::chrono::steady_clock::time_point deadline) {
    if (deadline >= request_deadline_at) return;
    request_deadline_at = deadline;
    request_deadline.arm(deadline);
  }

  // The earliest request deadline passed: those requests time out, the next one is armed.
  void on_request_deadline() {
    request_deadline_at = std::chrono::steady_clock::time_point::max();
    for (auto& due : pending.expire(std::chrono::steady_clock::now())) {
      complete_request(std::move(due.handler),
                       std::make_exception_ptr(
                           Error(errc::timeout, "no reply to " + due.mid + " within " +
                                                    std::to_string(due.timeout.count()) + " ms")),
                       umf::Message{});
    }
    if (auto next = pending.next_deadline(); next != std::chrono::steady_clock::time_point::max())
      arm_request_deadline(next);
  }

  // Hydra::async_request. The request is registered (with its handler) before the message is
  // sent, so a reply that overtakes PUBLISH's answer finds it; the reply, the deadline, a failed
  // send or a cancellation completes it, whichever comes first, and removes it. No coroutine
  // frame of its own: the caller's completion token decides what waits.
  void start_request(umf::Message m, std::chrono::milliseconds timeout, RequestHandler handler) {
    if (!registered) {
      refuse_request(std::move(handler),
                     std::make_exception_ptr(Error(errc::not_initialized,
                                                   "request() needs registerService(): replies "
                                                   "come back on the instance channel")));
      return;
    }
    m.set(umf::Field::from, request_from);
    if (m.text_view(umf::Field::mid).empty()) {
      m.set(umf::Field::mid, boost::json::string(registry::new_message_id()));
    }
    if (pending.contains(m.text_view(umf::Field::mid))) {
      refuse_request(
          std::move(handler),
          std::make_exception_ptr(Error(errc::invalid_message,
                                        "a request with mid " + m.mid() + " is already waiting")));
      return;
    }
    auto out = check_outgoing(m);
    if (out.refused) {
      refuse_request(std::move(handler), send_error(*out.refused));
      return;
    }
    // The send's handler keeps the mid (PUBLISH's success needs none of it).
    std::string mid = std::move(out.mid);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The slot is taken from the handler as wrapped (with Boost 1.81 an assignment made before
    // the wrapping never fired). A cancellation (e.g. the losing side of `||`) ends the request
    // at once; the requester is completed from the queue, not from inside the slot's handler.
    auto slot = asio::get_associated_cancellation_slot(handler);
    pending.add(mid, deadline, timeout, std::move(handler));
    arm_request_deadline(deadline);
    if (slot.is_connected()) {
      slot.assign([weak = weak_from_this(), mid](asio::cancellation_type) {
        auto self = weak.lock();
        if (!self) return;
        if (auto h = self->pending.take(mid)) {
          asio::post(self->ex, [self, h = std::move(*h)]() mutable {
            self->complete_request(std::move(h),
                                   std::make_exception_ptr(
                                       boost::system::system_error(asio::error::operation_aborted)),
                                   umf::Message{});
          });
        }
      });
    }
    // The send's outcome comes back to this class's own handler, not through a type-erased one.
    start_send(std::move(out), [self = shared_from_this(), mid = std::move(mid)](Result sent) {
      if (sent.ok()) return;
      if (auto h = self->pending.take(mid)) {
        self->complete_request(std::move(*h), send_error(sent), umf::Message{});
      }
    });
  }

  // Discovery ----------------------------------------------------------------------------------
  asio::awaitable<std::vector<NodeEntry>> read_nodes() {
    auto reply = co_await redis().exec(cmd("HGETALL", registry::Keys::nodes()));
    reply.check();
    std::vector<NodeEntry> out;
    if (!reply.is_array()) {
      warn_once("nodes-type", "hydra:service:nodes is not a hash; ignoring it");
      co_return out;
    }
    auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const auto& field = reply.elements[i].str;
      auto entry = registry::parse_node_entry(reply.elements[i + 1].str, now);
      if (!entry) {
        warn_once("nodes:" + field, "skipping malformed hydra:service:nodes entry " + field);
        continue;
      }
      entry->json["elapsed"] = entry->elapsed;
      out.push_back(std::move(*entry));
    }
    co_return out;
  }

  template <class T>
  void shuffle(std::vector<T>& v) {
    std::shuffle(v.begin(), v.end(), rng);
  }

  asio::awaitable<std::vector<NodeEntry>> lookup_presence(const std::string& name) {
    std::vector<NodeEntry> candidates;
    for (auto& e : co_await read_nodes()) {
      if (e.service_name == name) candidates.push_back(std::move(e));
    }
    if (candidates.empty()) co_return candidates;
    Command mget = cmd("MGET");
    for (const auto& e : candidates)
      mget.push_back(registry::Keys::presence(name, e.instance_id));
    auto reply = co_await redis().exec(std::move(mget));
    reply.check();
    std::vector<NodeEntry> present;
    for (std::size_t i = 0; i < candidates.size() && i < reply.elements.size(); ++i) {
      if (reply.elements[i].is_nil()) continue;
      auto& e = candidates[i];
      e.json.erase("elapsed");
      if (auto ts = json::parse_iso_timestamp(e.updated_on)) {
        e.json["updatedOnTS"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(ts->time_since_epoch()).count();
      }
      present.push_back(std::move(e));
    }
    shuffle(present);
    co_return present;
  }

  std::string name_or_own(std::string name) {
    if (name.empty()) {
      require_init();
      return cfg.service_name;
    }
    return ascii_lower(name);
  }

  asio::awaitable<std::vector<NodeEntry>> get_service_presence(std::string name) {
    name = name_or_own(std::move(name));
    if (const auto* cached = cached_presence(name)) {
      auto copy = *cached;
      shuffle(copy);
      co_return copy;
    }
    presence_cache.erase(name);  // expired, if there at all
    auto fresh = co_await lookup_presence(name);
    if (!fresh.empty() && opts.presence_cache_ttl.count() > 0) {
      presence_cache[name] = {std::chrono::steady_clock::now() + opts.presence_cache_ttl, fresh};
    }
    co_return fresh;
  }

  asio::awaitable<std::vector<InstanceAddress>> get_service_addresses(std::string name) {
    name = name_or_own(std::move(name));
    std::vector<InstanceAddress> out;
    if (const auto* entries = cached_presence(name)) {
      out.reserve(entries->size());
      for_each_from_random_start(*entries, [&](const NodeEntry& e) {
        out.push_back(InstanceAddress{e.instance_id, e.ip, e.port});
      });
      co_return out;
    }
    for (auto& e : co_await get_service_presence(name))
      out.push_back(InstanceAddress{std::move(e.instance_id), std::move(e.ip), std::move(e.port)});
    co_return out;
  }

  // The fresh cache entries of `name`, or nullptr when Redis must be asked.
  const std::vector<NodeEntry>* cached_presence(const std::string& name) {
    auto it = presence_cache.find(name);
    // Read on every send, so from the coarse clock: an entry may be kept a few milliseconds
    // past its lifetime (one tick, more when the kernel's tick is late).
    if (it == presence_cache.end() || it->second.expires <= coarse_steady_now()) {
      return nullptr;
    }
    return &it->second.entries;
  }

  // From the cache: {any instance present, `instance` present}; nullopt when not cached.
  std::optional<std::pair<bool, bool>> named_presence(const std::string& name,
                                                      const std::string& instance) {
    const auto* entries = cached_presence(name);
    if (!entries) return std::nullopt;
    bool named = std::any_of(entries->begin(), entries->end(),
                             [&](const NodeEntry& e) { return e.instance_id == instance; });
    return std::make_pair(!entries->empty(), named);
  }

  // A random instance ID from the cache; nullopt when not cached or none is left.
  std::optional<std::string> random_cached_instance(const std::string& name) {
    const auto* entries = cached_presence(name);
    if (!entries || entries->empty()) return std::nullopt;
    return (*entries)[rng() % entries->size()].instance_id;
  }

  // The entries in turn from a random one onwards (wrapping around): how the cached paths
  // spread load, without copying and shuffling the entries.
  template <class F>
  void for_each_from_random_start(const std::vector<NodeEntry>& entries, F f) {
    if (entries.empty()) return;
    const std::size_t start = rng() % entries.size();
    for (std::size_t i = 0; i < entries.size(); ++i)
      f(entries[(start + i) % entries.size()]);
  }

  // Present instance IDs of a service in random order, from the same cache as
  // get_service_presence but without copying whole entries: this is the send path.
  asio::awaitable<std::vector<std::string>> present_ids(const std::string& name) {
    std::vector<std::string> ids;
    if (const auto* entries = cached_presence(name)) {
      ids.reserve(entries->size());
      for_each_from_random_start(*entries,
                                 [&](const NodeEntry& e) { ids.push_back(e.instance_id); });
      co_return ids;
    }
    for (auto& e : co_await get_service_presence(name))
      ids.push_back(std::move(e.instance_id));
    co_return ids;
  }

  void forget_instance(const std::string& iid) {
    for (auto& [name, entry] : presence_cache) {
      std::erase_if(entry.entries, [&](const NodeEntry& e) { return e.instance_id == iid; });
    }
  }

  asio::awaitable<std::vector<std::string>> service_names() {
    std::set<std::string> names;
    for (auto& e : co_await read_nodes())
      names.insert(e.service_name);
    if (registered) names.insert(cfg.service_name);
    co_return std::vector<std::string>(names.begin(), names.end());
  }

  asio::awaitable<std::vector<ServiceRecord>> get_services() {
    auto names = co_await service_names();
    std::vector<ServiceRecord> out;
    if (names.empty()) co_return out;
    Command mget = cmd("MGET");
    for (const auto& n : names)
      mget.push_back(registry::Keys::service(n));
    auto reply = co_await redis().exec(std::move(mget));
    reply.check();
    for (std::size_t i = 0; i < names.size() && i < reply.elements.size(); ++i) {
      if (reply.elements[i].is_nil()) continue;
      auto rec = registry::parse_service_record(reply.elements[i].str);
      if (!rec) {
        warn_once("service:" + names[i], "skipping malformed " + registry::Keys::service(names[i]));
        continue;
      }
      out.push_back(std::move(*rec));
    }
    co_return out;
  }

  asio::awaitable<ServiceRecord> find_service(std::string name) {
    name = ascii_lower(name);
    auto reply = co_await redis().exec(cmd("GET", registry::Keys::service(name)));
    if (reply.is_error()) throw Error(errc::not_found, "Can't find " + name + " service");
    auto text = reply.as_optional_string();
    if (!text) throw Error(errc::not_found, "Can't find " + name + " service");
    auto rec = registry::parse_service_record(*text);
    if (!rec)
      throw Error(errc::bad_json, registry::Keys::service(name) + " is not a valid service record");
    co_return std::move(*rec);
  }

  asio::awaitable<std::vector<boost::json::object>> get_service_health_log(std::string name) {
    name = name_or_own(std::move(name));
    std::set<std::string> iids;
    for (auto& e : co_await read_nodes()) {
      if (e.service_name == name) iids.insert(e.instance_id);
    }
    if (name == cfg.service_name && registered) iids.insert(instance_id);
    std::vector<boost::json::object> out;
    if (iids.empty()) co_return out;
    std::vector<Command> batch;
    for (const auto& iid : iids) {
      batch.push_back(cmd("LRANGE", registry::Keys::health_log(name, iid), "0",
                          std::to_string(registry::kHealthLogLength - 1)));
    }
    auto replies = co_await redis().exec_batch(std::move(batch));
    for (const auto& r : replies) {
      if (!r.is_array()) continue;  // wrong key type: skip
      for (const auto& item : r.elements) {
        auto v = json::try_parse(item.str);
        if (v && v->is_object()) out.push_back(std::move(v->as_object()));
      }
    }
    auto ts = [](const boost::json::object& o) -> std::string {
      auto it = o.find("ts");
      return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const auto& a, const auto& b) { return ts(a) > ts(b); });
    co_return out;
  }

  asio::awaitable<std::vector<ServiceHealth>> get_service_health_all() {
    std::vector<ServiceHealth> out;
    for (auto& rec : co_await get_services()) {
      ServiceHealth h;
      h.service_name = rec.service_name;
      h.presence = co_await get_service_presence(rec.service_name);
      if (!h.presence.empty()) {
        Command mget = cmd("MGET");
        for (const auto& e : h.presence) {
          mget.push_back(registry::Keys::health(rec.service_name, e.instance_id));
        }
        auto reply = co_await redis().exec(std::move(mget));
        if (reply.is_array()) {
          for (const auto& item : reply.elements) {
            if (item.is_nil()) continue;
            auto v = json::try_parse(item.str);
            if (v && v->is_object()) h.health.push_back(std::move(v->as_object()));
          }
        }
      }
      h.log = co_await get_service_health_log(rec.service_name);
      out.push_back(std::move(h));
    }
    co_return out;
  }

  // Routes -------------------------------------------------------------------------------------
  asio::awaitable<void> register_routes(std::vector<std::string> list) {
    require_init();
    const auto& svc = cfg.service_name;
    for (auto& r : registry::automatic_routes(svc))
      list.push_back(std::move(r));
    // Compile first so a malformed pattern fails before anything is replaced in Redis.
    std::vector<CompiledRoute> compiled;
    for (const auto& r : list) {
      CompiledRoute c{r, RoutePattern(r), std::nullopt};
      if (!r.empty() && r[0] == '[') {
        auto close = r.find(']');
        if (close != std::string::npos) c.path_only.emplace(r.substr(close + 1));
      }
      compiled.push_back(std::move(c));
    }
    auto key = registry::Keys::routes(svc);
    Command sadd = cmd("SADD", key);
    sadd.insert(sadd.end(), list.begin(), list.end());
    std::vector<Command> batch;
    batch.push_back(cmd("DEL", key));
    batch.push_back(cmd("MULTI"));
    batch.push_back(std::move(sadd));
    batch.push_back(cmd("EXEC"));
    auto replies = co_await redis().exec_batch(std::move(batch));
    for (const auto& r : replies)
      r.check();
    routes = std::move(compiled);
    if (svc != "hydra-router") {
      auto routers = co_await lookup_presence("hydra-router");
      if (!routers.empty()) {
        auto msg =
            registry::router_refresh_message(svc, registry::new_message_id(), json::iso_now());
        co_await redis().exec(cmd("PUBLISH", registry::Keys::service_channel("hydra-router"), msg));
      }
    }
  }

  asio::awaitable<std::map<std::string, std::vector<std::string>>> get_all_service_routes() {
    auto names = co_await service_names();
    std::map<std::string, std::vector<std::string>> out;
    if (names.empty()) co_return out;
    std::vector<Command> batch;
    for (const auto& n : names)
      batch.push_back(cmd("SMEMBERS", registry::Keys::routes(n)));
    auto replies = co_await redis().exec_batch(std::move(batch));
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!replies[i].is_array() || replies[i].elements.empty()) continue;
      auto& v = out[names[i]];
      for (const auto& m : replies[i].elements)
        v.push_back(m.str);
      std::sort(v.begin(), v.end());
    }
    co_return out;
  }

  bool match_route(std::string_view path) const {
    bool with_method = !path.empty() && path[0] == '[';
    for (const auto& r : routes) {
      if (with_method) {
        if (r.full.match(path)) return true;
      } else if (r.path_only && r.path_only->match(path)) {
        return true;
      } else if (!r.path_only && r.full.match(path)) {
        return true;
      }
    }
    return false;
  }

  // Stored configuration -----------------------------------------------------------------------
  asio::awaitable<std::optional<boost::json::value>> get_config(std::string label) {
    auto [svc, version] = registry::parse_config_label(label);
    auto reply = co_await redis().exec(cmd("HGET", registry::Keys::configs(svc), version));
    if (reply.is_error()) throw Error(errc::redis_error, "Unable to set :configs key in Redis db.");
    auto text = reply.as_optional_string();
    if (!text) co_return std::nullopt;
    auto v = json::try_parse(*text);
    if (!v) throw Error(errc::bad_json, "stored config " + label + " is not valid JSON");
    co_return std::move(*v);
  }

  asio::awaitable<void> put_config(std::string label, const boost::json::value& value) {
    auto [svc, version] = registry::parse_config_label(label);
    (co_await redis().exec(
         cmd("HSET", registry::Keys::configs(svc), version, json::stringify(value))))
        .check();
  }

  asio::awaitable<std::vector<std::string>> list_config(std::string service) {
    // A label ("svc:1.0") or any other invalid name would silently list nothing.
    try {
      service = validate_service_name(service);
    } catch (const Error& e) {
      throw Error(errc::invalid_argument, std::string("listConfig: ") + e.what());
    }
    auto reply = co_await redis().exec(cmd("HKEYS", registry::Keys::configs(service)));
    reply.check();
    std::vector<std::string> out;
    for (const auto& k : reply.elements)
      out.push_back(service + ":" + k.str);
    std::sort(out.begin(), out.end());
    co_return out;
  }

  asio::awaitable<bool> remove_config(std::string label) {
    auto [svc, version] = registry::parse_config_label(label);
    auto reply = co_await redis().exec(cmd("HDEL", registry::Keys::configs(svc), version));
    co_return reply.as_integer() > 0;
  }

  asio::awaitable<std::size_t> remove_stale_nodes(std::chrono::seconds max_age) {
    auto reply = co_await redis().exec(cmd("HGETALL", registry::Keys::nodes()));
    reply.check();
    auto now = std::chrono::system_clock::now();
    Command hdel = cmd("HDEL", registry::Keys::nodes());
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      auto entry = registry::parse_node_entry(reply.elements[i + 1].str, now);
      // Malformed entries go too: they crash Node readers (uncaught exception in getServiceNodes).
      if (!entry || entry->elapsed < 0 || entry->elapsed > max_age.count()) {
        hdel.push_back(reply.elements[i].str);
      }
    }
    if (hdel.size() == 2) co_return 0;
    auto removed = co_await redis().exec(std::move(hdel));
    co_return static_cast<std::size_t>(removed.as_integer());
  }
};

Hydra::Hydra(asio::any_io_executor executor, RegistryOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), options)) {}

Hydra::~Hydra() {
  impl_->stopping = true;
  impl_->registered = false;
  impl_->presence_timer.cancel();
  if (impl_->sub) impl_->sub->stop();
  if (impl_->conn) impl_->conn->stop();
  impl_->close_reserved();
}

std::optional<int> Hydra::take_reserved_listener() {
  if (impl_->reserved_fd < 0) return std::nullopt;
  return std::exchange(impl_->reserved_fd, -1);
}

asio::awaitable<boost::json::object> Hydra::init(boost::json::value document) {
  return impl_->init(std::move(document));
}

asio::awaitable<boost::json::object> Hydra::init_from_file(const std::string& path) {
  return impl_->init(read_config_file(path));
}

asio::awaitable<ServiceInfo> Hydra::register_service() {
  return impl_->register_service();
}
asio::awaitable<void> Hydra::shutdown() {
  return impl_->shutdown();
}

const std::string& Hydra::service_name() const {
  impl_->require_init();
  return impl_->cfg.service_name;
}
const std::string& Hydra::instance_id() const {
  return impl_->instance_id;
}
const std::string& Hydra::instance_version() const {
  return impl_->cfg.service_version;
}
const ServiceConfig& Hydra::config() const {
  return impl_->cfg;
}
const std::string& Hydra::service_ip() const {
  return impl_->facts.ip;
}
std::uint16_t Hydra::service_port() const {
  return impl_->facts.port;
}
bool Hydra::is_initialized() const {
  return impl_->initialized;
}
bool Hydra::is_registered() const {
  return impl_->registered;
}
redis::Connection& Hydra::redis() {
  return impl_->redis();
}
asio::any_io_executor Hydra::get_executor() const {
  return impl_->ex;
}

asio::awaitable<std::vector<ServiceRecord>> Hydra::get_services() {
  return impl_->get_services();
}
asio::awaitable<std::vector<NodeEntry>> Hydra::get_service_nodes() {
  return impl_->read_nodes();
}
asio::awaitable<ServiceRecord> Hydra::find_service(std::string name) {
  return impl_->find_service(std::move(name));
}
asio::awaitable<std::vector<NodeEntry>> Hydra::get_service_presence(std::string name) {
  return impl_->get_service_presence(std::move(name));
}

asio::awaitable<std::vector<InstanceAddress>> Hydra::get_service_addresses(std::string name) {
  return impl_->get_service_addresses(std::move(name));
}
asio::awaitable<bool> Hydra::has_service_presence(std::string name) {
  auto impl = impl_;
  name = impl->name_or_own(std::move(name));
  co_return !(co_await impl->lookup_presence(name)).empty();
}
void Hydra::forget_instance(const std::string& instance_id) {
  impl_->forget_instance(instance_id);
}

boost::json::object Hydra::get_health() const {
  impl_->require_init();
  return registry::health(impl_->facts, registry::sample_process(), "", json::iso_now());
}
void Hydra::send_to_health_log(std::string type, std::string message, bool suppress_emit) {
  impl_->send_to_health_log(std::move(type), std::move(message), suppress_emit);
}
asio::awaitable<std::vector<boost::json::object>> Hydra::get_service_health_log(std::string name) {
  return impl_->get_service_health_log(std::move(name));
}
asio::awaitable<std::vector<ServiceHealth>> Hydra::get_service_health_all() {
  return impl_->get_service_health_all();
}

asio::awaitable<void> Hydra::register_routes(std::vector<std::string> routes) {
  return impl_->register_routes(std::move(routes));
}
asio::awaitable<std::map<std::string, std::vector<std::string>>> Hydra::get_all_service_routes() {
  return impl_->get_all_service_routes();
}
bool Hydra::match_route(std::string_view path) const {
  return impl_->match_route(path);
}

asio::awaitable<std::optional<boost::json::value>> Hydra::get_config(std::string label) {
  return impl_->get_config(std::move(label));
}
asio::awaitable<void> Hydra::put_config(std::string label, const boost::json::value& config) {
  return impl_->put_config(std::move(label), config);
}
asio::awaitable<std::vector<std::string>> Hydra::list_config(std::string service) {
  return impl_->list_config(std::move(service));
}
asio::awaitable<bool> Hydra::remove_config(std::string label) {
  return impl_->remove_config(std::move(label));
}
asio::awaitable<std::size_t> Hydra::remove_stale_nodes(std::chrono::seconds max_age) {
  return impl_->remove_stale_nodes(max_age);
}

void Hydra::on_log(LogHandler handler) {
  impl_->log_handler = std::move(handler);
}
void Hydra::on_raw_message(RawMessageHandler handler) {
  impl_->raw_handler = std::move(handler);
}
void Hydra::on_message(MessageHandler handler) {
  impl_->message_handler = std::move(handler);
}

Hydra::Outgoing Hydra::prepare_send(const umf::Message& message) {
  return impl_->check_outgoing(message);
}
Hydra::Outgoing Hydra::prepare_reply(const umf::Message& original,
                                     const boost::json::object& response) {
  return impl_->check_reply(original, response);
}
void Hydra::start_send(Outgoing&& out, SendHandler handler) {
  impl_->start_send(std::move(out), std::move(handler));
}

void Hydra::start_request(umf::Message message, std::chrono::milliseconds timeout,
                          RequestHandler handler) {
  impl_->start_request(std::move(message), timeout, std::move(handler));
}

asio::awaitable<Result> Hydra::send_message(umf::Message message) {
  return async_send_message(message, asio::use_awaitable);
}
asio::awaitable<Result> Hydra::send_message(const boost::json::object& message) {
  return async_send_message(umf::Message::create(message), asio::use_awaitable);
}
asio::awaitable<Result> Hydra::send_broadcast_message(umf::Message message) {
  return impl_->send_broadcast_message(std::move(message));
}
asio::awaitable<Result> Hydra::send_broadcast_message(const boost::json::object& message) {
  return impl_->send_broadcast_message(umf::Message::create(message));
}
asio::awaitable<Result> Hydra::send_reply_message(const umf::Message& original,
                                                  const boost::json::object& response) {
  return async_send(impl_->check_reply(original, response), asio::use_awaitable);
}
asio::awaitable<Result> Hydra::send_reply_message(const umf::Message& original,
                                                  boost::json::object&& response) {
  return async_send_reply_message(original, std::move(response), asio::use_awaitable);
}
asio::awaitable<umf::Message> Hydra::request(umf::Message message,
                                             std::chrono::milliseconds timeout) {
  return async_request(std::move(message), timeout, asio::use_awaitable);
}
MessagingStats Hydra::messaging_stats() const {
  return impl_->msg_stats;
}
std::size_t Hydra::pending_requests() const {
  return impl_->pending.size();
}
void Hydra::on_connection_state(redis::Connection::StateHandler handler) {
  impl_->state_handler = std::move(handler);
}

}  // namespace hydra
