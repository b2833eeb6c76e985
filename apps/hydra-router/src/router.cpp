// hydra-router: HTTP proxy by the routes services registered, router endpoints, /metrics, the
// WebSocket ⇄ UMF gateway with a directory shared between router instances, and the dashboard.
#include "router.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>

#include "dashboard_assets.hpp"
#include "gzip.hpp"
#include "hydra/http/client.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"
#include "hydra/redis/reply.hpp"
#include "hydra/result.hpp"
#include "hydra/text.hpp"
#include "hydra/umf.hpp"
#include "metrics.hpp"
#include "route_table.hpp"
#include "ws_directory.hpp"

namespace hydra::router {

namespace asio = boost::asio;
namespace bj = boost::json;
using http::Request;
using http::Response;
using Clock = std::chrono::steady_clock;

namespace {

/// Entries kept in the router's issue log (/v1/router/log).
constexpr std::size_t kMaxIssueLog = 100;
/// Log entries per service in /v1/router/list/services.
constexpr std::size_t kMaxServiceLog = 3;
/// Smaller responses are not worth compressing.
constexpr std::size_t kGzipMinBytes = 256;
/// How long messages queued for a disconnected WebSocket client are kept.
constexpr int kClientQueueTtlSeconds = 24 * 3600;
/// Entries kept (approximately) in a `hydra:stream:<name>` stream.
constexpr long kMaxStreamLength = 100000;
/// Nodes entries older than this are removed by /v1/router/clear.
constexpr auto kClearAge = std::chrono::seconds(5);

const std::string kQueuePrefix = "hydra-router:message:queue:";

bool contains_gzip(std::string_view value) {
  return ascii_lower(value).find("gzip") != std::string::npos;
}

/// Hop-by-hop headers (and content-length, recomputed) never cross the proxy; any case.
bool hop_by_hop_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {"connection",
                                                "keep-alive",
                                                "transfer-encoding",
                                                "te",
                                                "trailer",
                                                "upgrade",
                                                "proxy-connection",
                                                "proxy-authenticate",
                                                "proxy-authorization",
                                                "content-length"};
  for (auto n : kNames) {
    if (ascii_iequals(name, n)) return true;
  }
  return false;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string value_text(const bj::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::stringify(v);
}

int status_of(const bj::object& data) {
  auto it = data.find("statusCode");
  if (it != data.end() && it->value().is_number()) {
    const double d = it->value().to_number<double>();
    if (d >= 100 && d <= 599) return static_cast<int>(d);
  }
  return 502;
}

std::string reason_of(const bj::object& data) {
  if (auto it = data.find("result"); it != data.end() && it->value().is_object()) {
    const auto& result = it->value().get_object();
    if (auto r = result.find("reason"); r != result.end()) return value_text(r->value());
  }
  return {};
}

/// `data.result`, or `{}` when absent. (A helper, not a conditional expression: g++ 12 may
/// destroy class-type temporaries of a ?: twice inside a coroutine.)
bj::value result_of(const bj::object& data) {
  if (auto it = data.find("result"); it != data.end()) return it->value();
  return bj::object();
}

/// "/v1/router/refresh/<svc>" → "<svc>"; "" for "/v1/router/refresh".
std::string refresh_target(const std::string& api) {
  const std::string prefix = "/v1/router/refresh/";
  if (api.rfind(prefix, 0) == 0) return api.substr(prefix.size());
  return {};
}

std::string allow_header(const std::vector<std::string>& allowed) {
  std::string allow;
  for (const auto& a : allowed) {
    if (!allow.empty()) allow += ", ";
    if (a.empty()) {
      allow += "*";
    } else {
      allow += a;
    }
  }
  return allow;
}

struct WsClient {
  WsClient(http::WebSocket socket, std::string client_id, std::string address)
      : ws(std::move(socket)), id(std::move(client_id)), ip(std::move(address)) {}
  http::WebSocket ws;
  std::string id;
  std::string ip;
};

}  // namespace

/// The router keeps many connections to each instance: with fewer idle slots than requests in
/// flight, every burst would close and reopen connections.
static http::ClientOptions client_options() {
  http::ClientOptions options;
  options.max_idle_per_instance = 256;
  return options;
}

std::string router_version() {
  return HYDRA_VERSION;
}

struct Router::Impl : std::enable_shared_from_this<Router::Impl> {
  Impl(Hydra& h, http::Server& s, RouterConfig c)
      : hydra(h),
        server(s),
        config(std::move(c)),
        hx(h.get_executor()),
        client(h, client_options()),
        queue(h),
        directory("") {}

  Hydra& hydra;
  http::Server& server;
  RouterConfig config;
  asio::any_io_executor hx;
  http::ApiClient client;
  Queue queue;
  RouteTable table;
  WsDirectory directory;
  std::map<std::string, std::shared_ptr<WsClient>> clients;
  SecondCounters http_stats;
  SecondCounters ws_stats;
  SecondCounters error_stats;
  Metrics metrics;
  std::deque<bj::object> issue_log;
  std::mutex log_mutex;
  /// Written on the Hydra executor (refresh), read by every I/O thread (proxy).
  mutable std::shared_mutex table_mutex;

  /// One per I/O thread when the router runs one io_context per thread: the proxy runs on the
  /// connection's thread with that thread's client and address cache, never handing off.
  struct Worker {
    asio::io_context* io = nullptr;
    std::unique_ptr<http::ApiClient> client;
    std::map<std::string, std::pair<Clock::time_point, std::vector<InstanceAddress>>> addresses;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  std::string iid;
  std::string from;  // <iid>@hydra-router:/
  bool stopping = false;
  std::optional<asio::steady_timer> refresh_timer;

  // Logging ------------------------------------------------------------------------------------

  void log(const std::string& type, const std::string& message) {
    bj::object entry;
    entry["ts"] = json::iso_now();
    entry["serviceName"] = hydra.service_name();
    entry["type"] = type;
    entry["processID"] = static_cast<long long>(::getpid());
    entry["msg"] = message;
    {
      std::lock_guard lock(log_mutex);
      issue_log.push_front(std::move(entry));
      while (issue_log.size() > kMaxIssueLog)
        issue_log.pop_back();
    }
    if (type != "info" || config.debug_logging)
      std::cerr << "hydra-router " << type << ": " << message << std::endl;
  }

  void debug(const std::string& message) {
    if (config.debug_logging) log("info", message);
  }

  // Running work on the Hydra executor ---------------------------------------------------------

  /// Runs `f()` (an awaitable) on the Hydra executor; the caller resumes on its own.
  /// Call sites keep `f` in a named variable: g++ 12 destroys a closure temporary in a
  /// co_await expression twice.
  /// With one I/O thread every handler runs on that thread, one at a time, so the work runs in
  /// place instead of being handed to the strand and back.
  template <class F>
  auto on_hydra(const F& f) -> decltype(f()) {
    if (config.threads == 1) return f();
    return asio::co_spawn(hx, f, asio::use_awaitable);
  }

  // Access control -------------------------------------------------------------------------------

  /// Router endpoints: open unless disabled or token-protected; a request whose Host is exactly
  /// `localhost` from a loopback peer is always let in (Node lets any `Host: localhost` in).
  bool allowed(const Request& req) const {
    const bool loopback = req.remote_address == "127.0.0.1" || req.remote_address == "::1";
    if (req.header("host") == "localhost" && loopback) return true;
    if (config.disable_router_endpoint) return false;
    if (config.router_token.empty()) return true;
    auto it = req.query.find("token");
    if (it == req.query.end() || it->second.size() != config.router_token.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < it->second.size(); ++i)
      diff |= static_cast<unsigned char>(it->second[i] ^ config.router_token[i]);
    return diff == 0;
  }

  /// Wraps a router endpoint with the access check (denied → 404, as Node's router).
  http::Handler protect(std::function<asio::awaitable<Response>(Request&)> inner) {
    return [self = shared_from_this(),
            inner = std::move(inner)](Request& req) -> asio::awaitable<Response> {
      if (!self->allowed(req)) co_return Response::not_found();
      co_return co_await inner(req);
    };
  }

  // Route table ----------------------------------------------------------------------------------

  asio::awaitable<void> refresh_routes(std::string service) {
    try {
      if (service.empty()) {
        auto all = co_await hydra.get_all_service_routes();
        std::size_t services = 0;
        {
          std::unique_lock lock(table_mutex);
          table.replace(all);
          services = table.service_count();
        }
        debug("route table reloaded: " + std::to_string(services) + " services");
      } else {
        auto reply = co_await hydra.redis().exec(
            redis::cmd("SMEMBERS", "hydra:service:" + service + ":service:routes"));
        std::vector<std::string> routes;
        for (const auto& element : reply.elements)
          routes.push_back(element.as_string());
        if (routes.empty()) {
          std::unique_lock lock(table_mutex);
          table.remove_service(service);
        } else {
          std::vector<std::string> invalid;
          {
            std::unique_lock lock(table_mutex);
            invalid = table.set_service(service, routes);
          }
          for (const auto& route : invalid)
            log("error", "ignored invalid route " + route + " of " + service);
        }
        debug("routes of " + service + " reloaded");
      }
      std::shared_lock lock(table_mutex);
      metrics.set_route_services(table.service_count());
    } catch (const std::exception& e) {
      log("error", std::string("route refresh failed: ") + e.what());
    }
  }

  asio::awaitable<void> refresh_loop() {
    auto self = shared_from_this();
    while (!stopping) {
      refresh_timer->expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::duration<double>(config.refresh_interval_seconds)));
      boost::system::error_code ec;
      co_await refresh_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      co_await refresh_routes(std::string());
      co_await prune_directory();
    }
  }

  /// Router instances that died without `wsdir.rem` (kill -9) leave their clients in the
  /// directory; drop those whose presence key is gone. The keys are read directly, not through
  /// the presence cache: a cached list may predate a router that has just registered.
  asio::awaitable<void> prune_directory() {
    try {
      const auto routers = directory.remote_routers();
      if (routers.empty()) co_return;
      std::vector<redis::Command> checks;
      for (const auto& router : routers)
        checks.push_back(redis::cmd(
            "EXISTS", "hydra:service:" + hydra.service_name() + ":" + router + ":presence"));
      auto replies = co_await hydra.redis().exec_batch(std::move(checks));
      std::set<std::string> present;
      for (std::size_t i = 0; i < routers.size() && i < replies.size(); ++i) {
        if (replies[i].as_integer() > 0) present.insert(routers[i]);
      }
      if (auto removed = directory.retain_routers(present))
        log("info", "forgot the clients of " + std::to_string(removed) +
                        " router instance(s) that are gone");
    } catch (const std::exception& e) {
      debug(std::string("directory pruning skipped: ") + e.what());
    }
  }

  // HTTP proxy -----------------------------------------------------------------------------------

  void count_http(const std::string& service, int status, Clock::time_point started) {
    const auto now = now_seconds();
    const std::string key = service.empty() ? "unmatched" : service;
    http_stats.add(key, now);
    if (status >= 400) error_stats.add(key, now);
    metrics.record_http(service, status, Clock::now() - started);
  }

  // g++ 12's -Wmismatched-new-delete false positive on Asio's coroutine frame allocator
  // (docs/decisions.md), silenced for this coroutine only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
  asio::awaitable<Response> proxy(Request& req, http::ApiClient& api) {
    const auto started = Clock::now();
    RouteMatch m;
    {
      std::shared_lock lock(table_mutex);
      m = table.match(req.method, req.target, req.header("referer"));
    }
    if (m.kind == RouteMatch::Kind::not_found && req.path == "/favicon.ico") {
      // Browsers ask for it with every dashboard load; it is not an error of the mesh.
      co_return Response::no_content();
    }
    if (m.kind == RouteMatch::Kind::not_found) {
      debug("no service match for " + req.method + " " + req.target);
      count_http({}, 404, started);
      co_return Response::not_found();
    }
    if (m.kind == RouteMatch::Kind::method_not_allowed) {
      const std::string allow = allow_header(m.allowed);
      auto r = Response::envelope_reason(405, "Method " + ascii_lower(req.method) +
                                                  " is not registered for " + req.path + " by " +
                                                  m.service);
      r.headers.set("Allow", allow);
      count_http(m.service, 405, started);
      co_return r;
    }

    const std::string tracer = umf::short_message_id();
    // What makeAPIRequest would build from Node's router message `{to: '<svc>:[<method>]<url>',
    // headers, authorization, body}`, made directly: the request is forwarded as received
    // (headers minus hop-by-hop and gzip ones, the body byte for byte) plus x-hydra-tracer.
    http::PreparedRequest p;
    p.service_name = m.service;
    p.method = ascii_upper(req.method);
    p.target = m.target;
    p.timeout_seconds = config.request_timeout_seconds;
    p.headers.reserve(req.headers.fields().size() + 1);
    bool gzip_body = false;
    for (const auto& [name, value] : req.headers.fields()) {
      if (hop_by_hop_name(name)) continue;
      if (ascii_iequals(name, "content-encoding") && contains_gzip(value)) {
        gzip_body = true;
        continue;
      }
      if (ascii_iequals(name, "accept-encoding") && contains_gzip(value)) continue;
      p.headers.emplace_back(name, value);
    }
    p.headers.emplace_back("x-hydra-tracer", tracer);
    p.body = std::move(req.body);
    if (gzip_body) {
      auto plain = gunzip(p.body, config.max_body_bytes);
      if (!plain) {
        count_http(m.service, 400, started);
        co_return Response::bad_request("Request body is not valid gzip or too large");
      }
      p.body = std::move(*plain);
    }
    p.has_body = !p.body.empty() || p.method == "POST" || p.method == "PUT" || p.method == "PATCH";
    debug("[" + tracer + "] " + req.method + " " + req.target + " → " + m.service + " " + m.target);

    auto outcome = co_await api.send(std::move(p));
    Response r;
    int status = 0;
    if (auto* answer = std::get_if<http::RawResponse>(&outcome)) {
      r = forward_response(*answer, tracer, req.header("accept-encoding"));
      status = r.status;
    } else {
      // Hydra's own failure (no instance, unreachable, timeout): the envelope with the tracer.
      const auto& data = std::get<bj::object>(outcome);
      status = status_of(data);
      bj::object extra;
      bj::object result;
      result["reason"] = reason_of(data);
      extra["result"] = std::move(result);
      extra["tracer"] = tracer;
      r = Response::envelope(status, extra);
      r.headers.set("x-hydra-tracer", tracer);
      for (const auto& [name, value] : config.cors)
        r.headers.set(name, value);
    }
    if (status >= 500)
      log("error", "[" + tracer + "] " + m.service + " answered HTTP " + std::to_string(status));
    count_http(m.service, status, started);
    co_return r;
  }
#pragma GCC diagnostic pop

  /// A service's answer as Node's router passes it on: its headers (minus hop-by-hop ones) with
  /// x-hydra-tracer and the configured cors headers; a JSON body re-serialised from hydra's
  /// response object (the envelope keys always present, the body's own keys over them, only
  /// cache-control kept of the headers inside it); any other body unchanged; gzip when accepted.
  Response forward_response(const http::RawResponse& answer, const std::string& tracer,
                            const std::string& accept_encoding) const {
    Response r;
    r.status = answer.status;
    r.headers.set("x-hydra-tracer", tracer);
    bool already_encoded = false;
    bool is_json = false;
    const std::string* cache_control = nullptr;
    for (const auto& [name, value] : answer.headers) {
      if (hop_by_hop_name(name) || ascii_iequals(name, "x-hydra-tracer")) continue;
      if (ascii_iequals(name, "content-encoding")) already_encoded = true;
      if (ascii_iequals(name, "content-type") && value.find("json") != std::string::npos)
        is_json = true;
      if (ascii_iequals(name, "cache-control")) cache_control = &value;
      r.headers.add(ascii_lower(name), value);
    }
    for (const auto& [name, value] : config.cors)
      r.headers.set(name, value);
    if (is_json && !already_encoded) {
      bj::object data;
      data["statusCode"] = answer.status;
      data["statusMessage"] = status_message(answer.status);
      data["statusDescription"] = status_description(answer.status);
      data["result"] = bj::object();
      if (auto parsed = json::try_parse(answer.body); parsed && parsed->is_object()) {
        auto& body = parsed->get_object();
        // A body with its own statusCode decides the status and its texts (Node: data.statusCode).
        if (auto it = body.find("statusCode"); it != body.end()) {
          data["statusCode"] = it->value();
          const int code = status_of(body);
          data["statusMessage"] = status_message(code);
          data["statusDescription"] = status_description(code);
          r.status = code;
        }
        for (auto& kv : body)
          data[kv.key()] = std::move(kv.value());
      }
      if (cache_control) {
        bj::object kept;
        kept["cache-control"] = *cache_control;
        data["headers"] = std::move(kept);
      }
      r.body = json::stringify(data);
    } else {
      r.body = answer.body;
    }
    if (!already_encoded && r.body.size() >= kGzipMinBytes && accepts_gzip(accept_encoding)) {
      r.body = gzip(r.body);
      r.headers.set("content-encoding", "gzip");
      r.headers.set("vary", "Accept-Encoding");
    }
    return r;
  }

  // Router endpoints -----------------------------------------------------------------------------

  asio::awaitable<bj::array> list_services() {
    bj::array out;
    auto all = co_await hydra.get_service_health_all();
    for (auto& service : all) {
      bj::array log_entries;
      for (std::size_t i = 0; i < service.log.size() && i < kMaxServiceLog; ++i)
        log_entries.emplace_back(service.log[i]);
      for (auto& instance : service.presence) {
        bj::object item = instance.json;
        for (const auto& health : service.health) {
          auto id = health.find("instanceID");
          if (id == health.end() || !id->value().is_string() ||
              id->value().get_string() != instance.instance_id)
            continue;
          for (const auto& kv : health)
            item[kv.key()] = kv.value();
        }
        item["log"] = log_entries;
        out.emplace_back(std::move(item));
      }
    }
    co_return out;
  }

  /// The `result` of `/v1/router/list/<thing>` (HTTP and WebSocket); nullopt for an unknown
  /// thing.
  asio::awaitable<std::optional<bj::value>> list_value(std::string thing) {
    std::optional<bj::value> out;
    if (thing == "routes") {
      std::vector<std::pair<std::string, std::vector<std::string>>> listed;
      {
        std::shared_lock lock(table_mutex);
        listed = table.list();
      }
      bj::array services;
      for (auto& [service, routes] : listed) {
        bj::object item;
        item["serviceName"] = service;
        bj::array r;
        for (auto& route : routes)
          r.emplace_back(bj::string(route));
        item["routes"] = std::move(r);
        services.emplace_back(std::move(item));
      }
      out = std::move(services);
    } else if (thing == "services") {
      out = co_await list_services();
    } else if (thing == "nodes") {
      bj::array nodes;
      for (auto& node : co_await hydra.get_service_nodes())
        nodes.emplace_back(node.json);
      out = std::move(nodes);
    } else if (thing == "wsdir") {
      out = directory.to_json();
    }
    co_return out;
  }

  asio::awaitable<Response> list(std::string thing) {
    auto value = co_await list_value(thing);
    if (!value) co_return Response::not_found();
    if (thing == "nodes") {
      // Node's router puts its own identity next to the nodes.
      bj::object data;
      data["instanceID"] = iid;
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      data["hostname"] = host;
      data["version"] = hydra.instance_version();
      data["result"] = std::move(*value);
      co_return Response::envelope(200, data);
    }
    co_return Response::ok(std::move(*value));
  }

  bj::object stats_json() const {
    const auto now = now_seconds();
    bj::object result;
    result["httpStats"] = http_stats.to_json(now);
    result["wsStats"] = ws_stats.to_json(now);
    result["errorStats"] = error_stats.to_json(now);
    return result;
  }

  static std::optional<bj::object> umf_body(const Request& req) {
    auto parsed = req.json();
    if (!parsed || !parsed->is_object()) return std::nullopt;
    return parsed->get_object();
  }

  asio::awaitable<Response> post_message(Request& req) {
    auto input = umf_body(req);
    if (!input) co_return Response::bad_request("Body must be a UMF message (JSON object)");
    auto m = umf::Message::create(*input);
    const bj::value* fwd = m.get(umf::Field::forward);
    if (!fwd || !fwd->is_string())
      co_return Response::bad_request("UMF message needs a forward (fwd) route");
    bj::object message;
    message["to"] = fwd->get_string();
    message["from"] = from;
    if (m.body().is_null()) {
      message["body"] = bj::object();
    } else {
      message["body"] = m.body();
    }
    http::RequestOptions options;
    options.timeout_seconds = config.request_timeout_seconds;
    auto data = co_await client.make_api_request(message, options);
    bj::object out;
    out["result"] = result_of(data);
    co_return Response::envelope(status_of(data), out);
  }

  asio::awaitable<Response> post_send(Request& req, bool queued) {
    auto input = umf_body(req);
    if (!input) co_return Response::bad_request("Body must be a UMF message (JSON object)");
    auto m = umf::Message::create(*input);
    if (!m.validate())
      co_return Response::bad_request(R"(UMF message requires "to", "from" and "body" fields)");
    auto route = umf::parse_route(m.to());
    if (!route.error.empty()) co_return Response::bad_request(route.error);
    http_stats.add(route.service_name, now_seconds());
    Result result;
    if (queued) {
      result = co_await queue.queue_message(m);
    } else {
      result = co_await hydra.send_message(m);
    }
    if (!result.ok()) co_return Response::envelope_reason(result.status_code, result.reason);
    bj::object out;
    out["mid"] = m.mid();
    co_return Response::ok(std::move(out));
  }

  Worker* worker_of(const asio::any_io_executor& executor) {
    auto& context = asio::query(executor, asio::execution::context);
    for (auto& w : workers) {
      if (static_cast<asio::execution_context*>(w->io) == &context) return w.get();
    }
    return nullptr;
  }

  void use_workers(const std::vector<asio::io_context*>& contexts) {
    for (auto* io : contexts) {
      auto w = std::make_unique<Worker>();
      w->io = io;
      http::ClientOptions options = client_options();
      Worker* raw = w.get();
      options.addresses =
          [self = shared_from_this(),
           raw](const std::string& service) -> asio::awaitable<std::vector<InstanceAddress>> {
        co_return co_await self->worker_addresses(*raw, service);
      };
      w->client = std::make_unique<http::ApiClient>(hydra, std::move(options));
      workers.push_back(std::move(w));
    }
  }

  /// A worker's copy of the presence cache (as long-lived as Hydra's); misses ask the Hydra on
  /// its executor.
  asio::awaitable<std::vector<InstanceAddress>> worker_addresses(Worker& w, std::string service) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const auto now = Clock::now();
    if (auto it = w.addresses.find(service); it != w.addresses.end() && it->second.first > now) {
      std::vector<InstanceAddress> out = it->second.second;
      if (out.size() > 1) {
        const auto start = static_cast<std::ptrdiff_t>(rng() % out.size());
        std::rotate(out.begin(), out.begin() + start, out.end());
      }
      co_return out;
    }
    auto lookup = [this, service]() { return hydra.get_service_addresses(service); };
    std::vector<InstanceAddress> fresh = co_await asio::co_spawn(hx, lookup, asio::use_awaitable);
    if (!fresh.empty()) {
      w.addresses[service] = {Clock::now() + std::chrono::seconds(1), fresh};
    } else {
      w.addresses.erase(service);
    }
    co_return fresh;
  }

  /// `POST /v1/router/stream/:name`: the UMF (short form) appended to the Redis stream
  /// `hydra:stream:<name>` as field `message`, as Node's router does; the stream is capped at
  /// about kMaxStreamLength entries (Node lets it grow without bound).
  asio::awaitable<Response> post_stream(Request& req) {
    const std::string name = req.params["name"];
    if (name.empty()) co_return Response::bad_request("A stream name is required");
    auto input = umf_body(req);
    if (!input) co_return Response::bad_request("Body must be a UMF message (JSON object)");
    auto m = umf::Message::create(*input);
    if (!m.validate())
      co_return Response::bad_request(R"(UMF message requires "to", "from" and "body" fields)");
    auto reply = co_await hydra.redis().exec(redis::cmd("XADD", "hydra:stream:" + name, "MAXLEN",
                                                        "~", std::to_string(kMaxStreamLength), "*",
                                                        "message", m.to_short_json()));
    bj::object out;
    out["id"] = reply.as_string();
    co_return Response::ok(std::move(out));
  }

  void install() {
    auto self = shared_from_this();
    auto asset = [](std::string path) {
      return [path](Request&) -> asio::awaitable<Response> {
        const Asset* a = find_dashboard_asset(path);
        if (!a) co_return Response::not_found();
        auto r = Response::text(200, std::string(a->body), std::string(a->content_type));
        r.headers.set("Cache-Control", "no-cache");
        r.headers.set("Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; style-src 'self'");
        co_return r;
      };
    };
    // Static assets are always allowed, the page itself only where the endpoints are.
    server.route("get", "/", protect(asset("/")));
    server.route("get", "/index.html", protect(asset("/index.html")));
    server.route("get", "/index.css", asset("/index.css"));
    server.route("get", "/index.js", asset("/index.js"));

    auto on_hydra_route = [self](auto body) {
      return self->protect([self, body](Request& req) -> asio::awaitable<Response> {
        auto work = [self, body, &req]() { return body(*self, req); };
        co_return co_await self->on_hydra(work);
      });
    };
    server.route("get", "/v1/router/health",
                 on_hydra_route([](Impl& r, Request&) -> asio::awaitable<Response> {
                   co_return Response::ok(r.hydra.get_health());
                 }));
    server.route("get", "/v1/router/version",
                 on_hydra_route([](Impl&, Request&) -> asio::awaitable<Response> {
                   bj::object result;
                   result["version"] = router_version();
                   co_return Response::ok(std::move(result));
                 }));
    server.route("get", "/v1/router/list/:thing",
                 on_hydra_route([](Impl& r, Request& req) -> asio::awaitable<Response> {
                   co_return co_await r.list(req.params["thing"]);
                 }));
    server.route("get", "/v1/router/clear",
                 on_hydra_route([](Impl& r, Request&) -> asio::awaitable<Response> {
                   auto removed = co_await r.hydra.remove_stale_nodes(kClearAge);
                   r.log("info", "cleared " + std::to_string(removed) + " stale nodes entries");
                   auto res = Response::envelope_reason(302, {});
                   res.headers.set("Location", "/");
                   co_return res;
                 }));
    auto refresh = [](Impl& r, Request& req) -> asio::awaitable<Response> {
      std::string service;
      if (auto it = req.params.find("service"); it != req.params.end()) service = it->second;
      co_await r.refresh_routes(service);
      co_return Response::ok();
    };
    server.route("get", "/v1/router/refresh", on_hydra_route(refresh));
    server.route("get", "/v1/router/refresh/:service", on_hydra_route(refresh));
    server.route("get", "/v1/router/log",
                 on_hydra_route([](Impl& r, Request&) -> asio::awaitable<Response> {
                   bj::array logs;
                   std::lock_guard lock(r.log_mutex);
                   for (const auto& entry : r.issue_log)
                     logs.emplace_back(entry);
                   bj::object result;
                   result["logs"] = std::move(logs);
                   co_return Response::ok(std::move(result));
                 }));
    server.route("get", "/v1/router/stats",
                 on_hydra_route([](Impl& r, Request&) -> asio::awaitable<Response> {
                   co_return Response::ok(r.stats_json());
                 }));
    server.route("post", "/v1/router/message",
                 on_hydra_route([](Impl& r, Request& req) -> asio::awaitable<Response> {
                   co_return co_await r.post_message(req);
                 }));
    server.route("post", "/v1/router/send",
                 on_hydra_route([](Impl& r, Request& req) -> asio::awaitable<Response> {
                   co_return co_await r.post_send(req, false);
                 }));
    server.route("post", "/v1/router/queue",
                 on_hydra_route([](Impl& r, Request& req) -> asio::awaitable<Response> {
                   co_return co_await r.post_send(req, true);
                 }));
    server.route("post", "/v1/router/stream/:name",
                 on_hydra_route([](Impl& r, Request& req) -> asio::awaitable<Response> {
                   co_return co_await r.post_stream(req);
                 }));
    server.route("get", "/metrics", protect([self](Request&) -> asio::awaitable<Response> {
                   std::map<std::string, std::string> info;
                   info["version"] = router_version();
                   info["instance"] = self->iid;
                   co_return Response::text(200, self->metrics.render(info),
                                            "text/plain; version=0.0.4; charset=utf-8");
                 }));

    server.fallback([self](Request& req) -> asio::awaitable<Response> {
      if (!self->workers.empty()) {
        auto executor = co_await asio::this_coro::executor;
        if (Worker* w = self->worker_of(executor)) co_return co_await self->proxy(req, *w->client);
      }
      auto work = [self, &req]() { return self->proxy(req, self->client); };
      co_return co_await self->on_hydra(work);
    });

    http::WebSocketOptions ws_options;
    ws_options.max_message_bytes = config.max_body_bytes;
    ws_options.stalled_write_timeout =
        std::chrono::milliseconds(std::llround(config.websocket_write_timeout_seconds * 1000));
    auto ws_handler = [self](http::WebSocket ws, Request& req) -> asio::awaitable<void> {
      co_await self->ws_session(std::move(ws), req);
    };
    server.websocket("/", ws_handler, ws_options);
    server.websocket("/*path", ws_handler, ws_options);
  }

  // WebSocket gateway ----------------------------------------------------------------------------

  void ws_send(const std::shared_ptr<WsClient>& c, const umf::Message& message) {
    if (c->ws.send(message.to_short_json())) metrics.record_ws_message(false);
  }

  void ws_send(const std::shared_ptr<WsClient>& c, const bj::object& message) {
    ws_send(c, umf::Message::create(message));
  }

  /// Node's invalidMessage: an error UMF to the client.
  void ws_error(const std::shared_ptr<WsClient>& c, const std::string& error) {
    bj::object body;
    body["error"] = error;
    bj::object m;
    m["to"] = "client:/";
    m["from"] = from;
    m["body"] = std::move(body);
    ws_send(c, m);
  }

  void ws_fail(const std::shared_ptr<WsClient>& c, const std::string& error) {
    debug("websocket " + c->id + ": " + error);
    ws_error(c, error);
    c->ws.close();
  }

  // An overload, not a defaulted argument: g++ 12 miscompiles defaulted class-type arguments
  // of coroutines.
  asio::awaitable<void> broadcast(std::string type, bj::object body) {
    co_await broadcast(std::move(type), std::move(body), std::string());
  }

  asio::awaitable<void> broadcast(std::string type, bj::object body, std::string to) {
    bj::object m;
    if (to.empty()) to = hydra.service_name() + ":/";
    m["to"] = to;
    m["from"] = from;
    m["type"] = type;
    m["body"] = std::move(body);
    try {
      co_await hydra.send_broadcast_message(m);
    } catch (const std::exception& e) {
      log("error", "broadcast " + type + " failed: " + e.what());
    }
  }

  bj::object dir_body(const std::string& client_id) {
    bj::object body;
    body["routerID"] = iid;
    if (!client_id.empty()) body["clientID"] = client_id;
    return body;
  }

  /// Node's sendConnectMessage: registers the client under `id` and greets it.
  asio::awaitable<void> connect_client(std::shared_ptr<WsClient> c, std::string id,
                                       bj::value auth_response) {
    c->id = std::move(id);
    if (!clients.contains(c->id)) {
      clients[c->id] = c;
      directory.add_local(c->id);
      metrics.set_ws_clients(static_cast<std::int64_t>(clients.size()));
      co_await broadcast("wsdir.add", dir_body(c->id));
    }
    bj::object body;
    body["id"] = c->id;
    body["ip"] = c->ip;
    if (!auth_response.is_null()) body["authResponse"] = std::move(auth_response);
    bj::object m;
    m["to"] = c->id + "@client:/";
    m["from"] = from;
    m["type"] = "connection";
    m["body"] = std::move(body);
    ws_send(c, m);
  }

  asio::awaitable<void> remove_client(std::shared_ptr<WsClient> c) {
    auto it = clients.find(c->id);
    if (it == clients.end() || it->second != c) co_return;
    clients.erase(it);
    directory.remove_local(c->id);
    metrics.set_ws_clients(static_cast<std::int64_t>(clients.size()));
    co_await broadcast("wsdir.del", dir_body(c->id));
  }

  /// The credential of an upgrade request: `Authorization: Basic <b64>`/`Bearer <t>` (the part
  /// after the scheme) or the `token` query parameter.
  static std::string ws_key(const Request& req) {
    std::string auth = req.header("authorization");
    if (auto space = auth.find(' '); space != std::string::npos) return auth.substr(space + 1);
    if (!auth.empty()) return auth;
    auto it = req.query.find("token");
    return it == req.query.end() ? std::string() : it->second;
  }

  asio::awaitable<bool> ws_open(std::shared_ptr<WsClient> c, Request& req) {
    bj::value auth_response;
    if (config.require_websocket_auth) {
      bj::object body;
      body["key"] = ws_key(req);
      bj::object m;
      m["to"] = config.websocket_auth_service + ":[post]" + config.websocket_auth_service_api;
      m["from"] = from;
      m["body"] = std::move(body);
      http::RequestOptions options;
      options.timeout_seconds = config.request_timeout_seconds;
      auto data = co_await client.make_api_request(m, options);
      if (status_of(data) != 200) {
        log("info", "websocket authentication refused for " + c->ip);
        ws_fail(c, "Unauthorized");
        co_return false;
      }
      auth_response = result_of(data);
    }
    co_await connect_client(c, c->id, std::move(auth_response));
    co_return true;
  }

  asio::awaitable<void> ws_session(http::WebSocket ws, Request& req) {
    auto self = shared_from_this();
    std::string ip = req.header("x-forwarded-for");
    if (ip.empty()) ip = ws.remote_address();
    auto c = std::make_shared<WsClient>(ws, umf::short_message_id(), ip);
    auto open = [self, c, &req]() { return self->ws_open(c, req); };
    const bool ok = co_await on_hydra(open);
    if (!ok) co_return;
    // Not `while (auto text = co_await ...)`: g++ 12 mishandles a co_await in a condition.
    for (;;) {
      std::optional<std::string> text = co_await ws.read();
      if (!text) break;
      metrics.record_ws_message(true);
      auto payload = std::make_shared<std::string>(std::move(*text));
      auto work = [self, c, payload]() { return self->ws_message_guarded(c, *payload); };
      co_await on_hydra(work);
    }
    auto close = [self, c]() { return self->remove_client(c); };
    co_await on_hydra(close);
  }

  /// ws_message, with failures (Redis unreachable and the like) reported to the client instead
  /// of ending its connection.
  asio::awaitable<void> ws_message_guarded(std::shared_ptr<WsClient> c, std::string text) {
    std::string failure;
    try {
      co_await ws_message(c, std::move(text));
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure.empty()) co_return;
    log("error", "websocket message from " + c->id + " failed: " + failure);
    ws_error(c, "Message could not be processed: " + failure);
  }

  /// Answers `<router>:[get]/v1/router/...` over the socket.
  asio::awaitable<void> ws_router_api(std::shared_ptr<WsClient> c, const umf::Message& msg,
                                      const umf::Route& route) {
    bj::value body;
    const std::string& api = route.api_route;
    try {
      if (api.find("/v1/router/list/") == 0) {
        auto value = co_await list_value(api.substr(std::string("/v1/router/list/").size()));
        if (value) body = std::move(*value);
      } else if (api == "/v1/router/health") {
        body = hydra.get_health();
      } else if (api == "/v1/router/version") {
        bj::object v;
        v["version"] = router_version();
        body = std::move(v);
      } else if (api == "/v1/router/refresh" || api.find("/v1/router/refresh/") == 0) {
        co_await refresh_routes(refresh_target(api));
        body = bj::object();
      } else if (api == "/v1/router/clear") {
        co_await hydra.remove_stale_nodes(kClearAge);
        body = bj::object();
      } else if (api == "/v1/router/stats") {
        body = stats_json();
      }
    } catch (const std::exception& e) {
      bj::object err;
      err["error"] = e.what();
      body = std::move(err);
    }
    if (body.is_null()) {
      bj::object err;
      err["error"] = "Route " + api + " is not routable.";
      body = std::move(err);
    }
    bj::object m;
    m["to"] = c->id + "@client:/";
    m["from"] = from;
    m["rmid"] = msg.mid();
    m["body"] = std::move(body);
    ws_send(c, m);
  }

  /// `svc:[method]/path` from a socket: makeAPIRequest, the answer as a reply.
  asio::awaitable<void> ws_http(std::shared_ptr<WsClient> c, umf::Message msg) {
    http::RequestOptions options;
    options.timeout_seconds = config.request_timeout_seconds;
    auto data = co_await client.make_api_request(msg.to_long(), options);
    bj::object reply;
    reply["to"] = msg.from();
    reply["from"] = msg.to();
    reply["rmid"] = msg.mid();
    if (data.contains("headers")) {
      if (auto p = data.find("payLoad"); p != data.end()) {
        reply["body"] = p->value();
      } else {
        reply["body"] = result_of(data);
      }
    } else {
      error_stats.add(umf::parse_route(msg.to()).service_name, now_seconds());
      bj::object err;
      err["error"] = true;
      err["result"] = reason_of(data);
      reply["body"] = std::move(err);
    }
    ws_send(c, reply);
  }

  /// Delivers a message to a WebSocket client wherever it is connected, or queues it.
  asio::awaitable<void> deliver(const std::string& client_id, const umf::Message& msg,
                                bool allow_remote) {
    if (auto it = clients.find(client_id); it != clients.end()) {
      ws_send(it->second, msg);
      co_return;
    }
    if (allow_remote) {
      if (auto router = directory.router_of(client_id); router && *router != iid) {
        // Straight onto the other router's instance channel, unchanged: it delivers by the
        // same rules (via subID or fwd instance).
        try {
          auto reply = co_await hydra.redis().exec(
              redis::cmd("PUBLISH", "hydra:service:mc:" + hydra.service_name() + ":" + *router,
                         msg.to_short_json()));
          if (reply.as_integer() > 0) co_return;
        } catch (const std::exception& e) {
          log("error", std::string("forward to router ") + *router + " failed: " + e.what());
        }
      }
    }
    debug("queuing message " + msg.mid() + " for client " + client_id);
    try {
      const std::string key = kQueuePrefix + client_id + ":queued";
      std::vector<redis::Command> batch;
      batch.push_back(redis::cmd("RPUSH", key, msg.to_short_json()));
      batch.push_back(redis::cmd("EXPIRE", key, std::to_string(kClientQueueTtlSeconds)));
      co_await hydra.redis().exec_batch(std::move(batch));
    } catch (const std::exception& e) {
      log("error",
          std::string("queuing a message for client ") + client_id + " failed: " + e.what());
    }
  }

  asio::awaitable<void> drain_queue(std::shared_ptr<WsClient> c) {
    const std::string key = kQueuePrefix + c->id + ":queued";
    try {
      for (;;) {
        auto reply = co_await hydra.redis().exec(redis::cmd("LPOP", key));
        auto text = reply.as_optional_string();
        if (!text) break;
        if (auto m = umf::Message::parse(*text)) ws_send(c, *m);
      }
    } catch (const std::exception& e) {
      log("error", std::string("reading queued messages of ") + c->id + " failed: " + e.what());
    }
  }

  asio::awaitable<void> ws_message(std::shared_ptr<WsClient> c, std::string text) {
    if (clients.find(c->id) == clients.end() || clients[c->id] != c) co_return;
    auto parsed = json::try_parse(text);
    if (!parsed || !parsed->is_object()) {
      ws_fail(c, "HR: Invalid UMF message: " + text.substr(0, 200) + " closing connection");
      co_return;
    }
    auto msg = umf::Message::create(parsed->get_object());
    if (!msg.validate()) {
      ws_fail(c, "HR: Invalid UMF message: " + text.substr(0, 200) + " closing connection");
      co_return;
    }
    auto route = umf::parse_route(msg.to());
    std::string stats_key = route.service_name;
    if (stats_key.empty()) stats_key = "unknown";
    ws_stats.add(stats_key, now_seconds());
    debug("websocket " + c->id + " message " + text.substr(0, 500));

    if (config.force_message_signature) {
      const bj::value* sig = msg.get(umf::Field::signature);
      if (!sig || !sig->is_string()) {
        ws_fail(c, "Not a signed UMF message");
        co_return;
      }
      if (!msg.verify("sha256", config.signature_shared_secret)) {
        ws_fail(c, "Invalid signed UMF message");
        co_return;
      }
    }
    const std::string to = msg.to();
    const std::string& me = hydra.service_name();
    if (to.find('[') != std::string::npos && to.find(']') != std::string::npos) {
      if (route.service_name == me) {
        co_await ws_router_api(c, msg, route);
      } else {
        asio::co_spawn(hx, ws_http(c, std::move(msg)), asio::detached);
      }
      co_return;
    }
    if (route.service_name == me) {
      const std::string type = msg.type();
      if (type == "log") {
        log("info", "client " + c->id + ": " + json::stringify(msg.body()));
        co_return;
      }
      if (type == "ping") {
        bj::object body;
        body["typ"] = "pong";
        bj::object m;
        m["to"] = msg.from();
        m["rmid"] = msg.mid();
        m["type"] = "pong";
        m["body"] = std::move(body);
        ws_send(c, m);
        co_return;
      }
      if (type == "reconnect" || type == "reconnection") {
        const bj::value& body = msg.body();
        const bj::value* id = body.is_object() ? body.get_object().if_contains("id") : nullptr;
        if (!id || !id->is_string() || id->get_string().empty()) {
          ws_fail(c, "reconnect message missing reconnect id");
          co_return;
        }
        std::string new_id(id->get_string());
        co_await remove_client(c);
        if (auto old = clients.find(new_id); old != clients.end() && old->second != c) {
          // The same id still open elsewhere on this router: the newer socket takes over.
          auto previous = old->second;
          clients.erase(old);
          previous->ws.close();
        }
        co_await connect_client(c, new_id, bj::value());
        co_await drain_queue(c);
        co_return;
      }
      if (type == "wsdir.loc") {
        const bj::value& body = msg.body();
        std::string client_id;
        if (body.is_object()) {
          if (const auto* id = body.get_object().if_contains("clientID"); id && id->is_string())
            client_id = std::string(id->get_string());
        }
        bj::object rb;
        rb["routerID"] = directory.router_of(client_id).value_or("");
        rb["clientID"] = client_id;
        bj::object m;
        m["to"] = msg.from();
        m["rmid"] = msg.mid();
        m["body"] = std::move(rb);
        ws_send(c, m);
        co_return;
      }
      const bj::value* fwd = msg.get(umf::Field::forward);
      if (fwd && fwd->is_string()) {
        std::string forward(fwd->get_string());
        if (route.api_route == "/queue") {
          auto queued = msg;
          queued.set(umf::Field::to, bj::string(forward));
          queued.erase(umf::Field::forward);
          auto result = co_await queue.queue_message(queued);
          if (!result.ok()) ws_error(c, result.reason);
          co_return;
        }
        auto target = umf::parse_route(forward);
        umf::Message out = msg;
        out.set(umf::Field::to, bj::string(forward));
        if (auto local = clients.find(target.instance); local != clients.end()) {
          out.set(umf::Field::via, bj::string(from));
          ws_send(local->second, out);
          co_return;
        }
        // Another router's client (it delivers by `fwd`), or queued for a later reconnect.
        co_await deliver(target.instance, out, true);
        co_return;
      }
      ws_fail(c, "Unrecognized Hydra Router request");
      co_return;
    }

    const std::string via = iid + "-" + c->id + "@" + me + ":/";
    if (!route.instance.empty()) {
      msg.set(umf::Field::via, bj::string(via));
      auto result = co_await hydra.send_message(msg);
      if (!result.ok()) {
        error_stats.add(route.service_name, now_seconds());
        ws_error(c, result.reason);
      }
      co_return;
    }
    auto present = co_await hydra.get_service_presence(route.service_name);
    if (present.empty()) {
      error_stats.add(route.service_name, now_seconds());
      ws_error(c, "No " + route.service_name + " instances available");
      co_return;
    }
    msg.set(umf::Field::to, bj::string(present.front().instance_id + "@" +
                                       present.front().service_name + ":" + route.api_route));
    msg.set(umf::Field::via, bj::string(via));
    auto result = co_await hydra.send_message(msg);
    if (!result.ok()) {
      error_stats.add(route.service_name, now_seconds());
      ws_error(c, result.reason);
    }
  }

  // Messages from the mesh ----------------------------------------------------------------------

  void on_mesh_message(const umf::Message& message) {
    asio::co_spawn(hx, handle_mesh_message(shared_from_this(), message), asio::detached);
  }

  static asio::awaitable<void> handle_mesh_message(std::shared_ptr<Impl> self,
                                                   umf::Message message) {
    try {
      co_await self->mesh_message(std::move(message));
    } catch (const std::exception& e) {
      self->log("error", std::string("handling a mesh message failed: ") + e.what());
    }
  }

  asio::awaitable<void> mesh_message(umf::Message message) {
    const bj::value& body = message.body();
    if (body.is_object()) {
      const auto& b = body.get_object();
      if (const auto* action = b.if_contains("action");
          action && action->is_string() && action->get_string() == "refresh") {
        std::string service;
        if (const auto* s = b.if_contains("serviceName"); s && s->is_string())
          service = std::string(s->get_string());
        co_await refresh_routes(service);
        co_return;
      }
      if (const auto* router = b.if_contains("routerID"); router && router->is_string()) {
        if (router->get_string() == iid) co_return;  // our own broadcast
        auto action = directory.apply(message.type(), b);
        if (action.share) {
          bj::object rb = dir_body({});
          rb["directory"] = directory.local_json();
          co_await broadcast("wsdir.dir", std::move(rb),
                             action.reply_to + "@" + hydra.service_name() + ":/");
        }
        co_return;
      }
    }
    if (const std::string via = message.via(); !via.empty()) {
      auto route = umf::parse_route(via);
      if (!route.sub_id.empty()) {
        umf::Message out = message;
        out.erase(umf::Field::via);
        if (auto it = clients.find(route.sub_id); it != clients.end()) {
          ws_send(it->second, out);
        } else {
          // Keep `via` so the router that has the client now can deliver it the same way.
          co_await deliver(route.sub_id, message, route.instance == iid);
        }
        co_return;
      }
    }
    if (const bj::value* fwd = message.get(umf::Field::forward); fwd && fwd->is_string()) {
      auto route = umf::parse_route(std::string(fwd->get_string()));
      co_await deliver(route.instance, message, false);
    }
  }

  asio::awaitable<void> start() {
    iid = hydra.instance_id();
    from = iid + "@" + hydra.service_name() + ":/";
    directory = WsDirectory(iid);
    {
      std::unique_lock lock(table_mutex);
      table.set_excluded(hydra.service_name());
      table.set_external(config.external_routes);
    }
    auto self = shared_from_this();
    hydra.on_message([self](const umf::Message& m) { self->on_mesh_message(m); });
    hydra.on_connection_state([self](redis::State state, const std::string&) {
      self->metrics.set_redis_connected(state == redis::State::connected);
    });
    metrics.set_redis_connected(true);
    co_await refresh_routes(std::string());
    co_await broadcast("wsdir.sha", dir_body({}));
    refresh_timer.emplace(hx);
    asio::co_spawn(hx, refresh_loop(), asio::detached);
    log("info", "hydra-router " + router_version() + " started as " + iid);
  }

  asio::awaitable<void> stop() {
    stopping = true;
    if (refresh_timer) refresh_timer->cancel();
    co_await broadcast("wsdir.rem", dir_body({}));
    for (auto& [id, c] : clients)
      c->ws.close();
  }
};

Router::Router(Hydra& hydra, http::Server& server, RouterConfig config)
    : impl_(std::make_shared<Impl>(hydra, server, std::move(config))) {}

Router::~Router() = default;

void Router::use_workers(const std::vector<asio::io_context*>& contexts) {
  impl_->use_workers(contexts);
}

void Router::install() {
  impl_->install();
}

asio::awaitable<void> Router::start() {
  co_await impl_->start();
}

asio::awaitable<void> Router::stop() {
  co_await impl_->stop();
}

}  // namespace hydra::router
