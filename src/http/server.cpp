// The HTTP service layer: request/response types, Node's envelope, the Beast-based HTTP/1.1
// server (routing, CORS, limits, timeouts, graceful stop) and the Hydra-bound Service.
#include "hydra/http/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>

#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "http/websocket_impl.hpp"
#include "http/wire.hpp"
#include "hydra/error.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/result.hpp"
#include "hydra/route_pattern.hpp"
#include "hydra/text.hpp"

namespace hydra::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

using hydra::ascii_iequals;
constexpr auto tuple_awaitable = asio::as_tuple(use_awaitable);

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding that keeps malformed escapes literally (as Node's querystring does) instead
// of failing the whole request.
std::string pct_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

// helmet 4's defaults as hydra-express installs them (HSTS 90 days).
const std::vector<std::pair<std::string, std::string>>& security_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = [] {
    std::vector<std::pair<std::string, std::string>> h;
    h.emplace_back("Content-Security-Policy",
                   "default-src 'self';base-uri 'self';block-all-mixed-content;font-src 'self' "
                   "https: data:;frame-ancestors 'self';img-src 'self' data:;object-src "
                   "'none';script-src 'self';script-src-attr 'none';style-src 'self' https: "
                   "'unsafe-inline';upgrade-insecure-requests");
    h.emplace_back("X-DNS-Prefetch-Control", "off");
    h.emplace_back("Expect-CT", "max-age=0");
    h.emplace_back("X-Frame-Options", "SAMEORIGIN");
    h.emplace_back("Strict-Transport-Security", "max-age=7776000; includeSubDomains");
    h.emplace_back("X-Download-Options", "noopen");
    h.emplace_back("X-Content-Type-Options", "nosniff");
    h.emplace_back("X-Permitted-Cross-Domain-Policies", "none");
    h.emplace_back("Referrer-Policy", "no-referrer");
    h.emplace_back("X-XSS-Protection", "0");
    return h;
  }();
  return headers;
}

}  // namespace

// Headers ------------------------------------------------------------------------------------

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (ascii_iequals(key, name)) return value;
  }
  return std::nullopt;
}

void Headers::set(std::string name, std::string value) {
  erase(name);
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(fields_, [&](const auto& field) { return ascii_iequals(field.first, name); });
}

// Request ------------------------------------------------------------------------------------

std::string Request::header(std::string_view name) const {
  return headers.get(name).value_or(std::string());
}

std::optional<boost::json::value> Request::json() const {
  if (body.empty()) return std::nullopt;
  return hydra::json::try_parse(body);
}

// Response -----------------------------------------------------------------------------------

Response Response::envelope(int code, const boost::json::object& data) {
  // Object.assign keeps the first four keys in place and appends the others in data's order.
  boost::json::object body;
  body["statusCode"] = code;
  body["statusMessage"] = status_message(code);
  body["statusDescription"] = status_description(code);
  body["result"] = boost::json::object();
  for (const auto& [key, value] : data)
    body[key] = value;
  Response r;
  r.status = code;
  r.content_type = "application/json";
  r.body = hydra::json::stringify(body);
  return r;
}

Response Response::envelope_result(int code, boost::json::value result) {
  boost::json::object data;
  data["result"] = std::move(result);
  return envelope(code, data);
}

Response Response::envelope_reason(int code, std::string_view reason) {
  boost::json::object result;
  if (!reason.empty()) result["reason"] = reason;
  return envelope_result(code, std::move(result));
}

Response Response::ok(boost::json::value result) {
  return envelope_result(200, std::move(result));
}
Response Response::created(boost::json::value result) {
  return envelope_result(201, std::move(result));
}
Response Response::no_content() {
  Response r;
  r.status = 204;
  return r;
}
Response Response::moved_permanently(std::string_view location) {
  Response r = envelope_reason(301, {});
  r.headers.set("Location", std::string(location));
  return r;
}
Response Response::bad_request(std::string_view reason) {
  return envelope_reason(400, reason);
}
Response Response::unauthorized(std::string_view reason) {
  return envelope_reason(401, reason);
}
Response Response::payment_required(std::string_view reason) {
  return envelope_reason(402, reason);
}
Response Response::forbidden(std::string_view reason) {
  return envelope_reason(403, reason);
}
Response Response::not_found(std::string_view reason) {
  return envelope_reason(404, reason);
}
Response Response::conflict(std::string_view reason) {
  return envelope_reason(409, reason);
}
Response Response::too_large(std::string_view reason) {
  return envelope_reason(413, reason);
}
Response Response::too_many_requests(std::string_view reason) {
  return envelope_reason(429, reason);
}
Response Response::server_error(std::string_view reason) {
  return envelope_reason(500, reason);
}
Response Response::not_implemented(std::string_view reason) {
  return envelope_reason(501, reason);
}
Response Response::unavailable(std::string_view reason) {
  return envelope_reason(502, reason);
}
Response Response::service_unavailable(std::string_view reason) {
  return envelope_reason(503, reason);
}

Response Response::json(int code, const boost::json::value& value) {
  Response r;
  r.status = code;
  r.content_type = "application/json";
  r.body = hydra::json::stringify(value);
  return r;
}

Response Response::text(int code, std::string body, std::string content_type) {
  Response r;
  r.status = code;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

// Helpers --------------------------------------------------------------------------------------

namespace detail {

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key = pct_decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : pct_decode(pair.substr(eq + 1), true);
    out[std::move(key)] = std::move(value);
  }
  return out;
}

std::string format_response_time(std::chrono::nanoseconds elapsed) {
  // The response-time package: milliseconds with three decimals and an "ms" suffix.
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3fms", static_cast<double>(elapsed.count()) / 1e6);
  return buffer;
}

}  // namespace detail

// Server -------------------------------------------------------------------------------------

namespace {

struct Route {
  std::string method;  // lower case; "_all" for any
  std::string pattern;
  RoutePattern matcher;
  Handler handler;
};

struct WsRoute {
  std::string pattern;
  RoutePattern matcher;
  WebSocketHandler handler;
  WebSocketOptions options;
};

// One connection. Everything but `executor` is touched only on the connection's executor: a
// strand, or a single-threaded executor (ServerOptions::single_threaded_executors).
struct Session : std::enable_shared_from_this<Session> {
  explicit Session(tcp::socket s)
      : socket(std::move(s)), executor(socket.get_executor()), deadline(executor, [this] {
          boost::system::error_code ignored;
          socket.cancel(ignored);
        }) {}

  tcp::socket socket;
  asio::any_io_executor executor;
  // The deadline of the current phase (waiting idle, reading a request, writing a response);
  // when it passes, the phase's operation is cancelled and timed_out() is true.
  hydra::detail::Deadline deadline;
  beast::flat_buffer buffer;
  // The head of the response being written (kept: its capacity is reused).
  std::string head;
  // Between the first byte of a request and the end of its response.
  bool busy = false;
  // stop() asked this connection to finish.
  bool close_requested = false;
  bool served_any = false;
  std::string remote;
  // Set once the connection was upgraded: stop() closes the WebSocket instead of the socket.
  std::weak_ptr<WebSocket::Impl> websocket;

  void arm(std::chrono::milliseconds d) { deadline.arm_after(d); }
  void disarm() { deadline.disarm(); }
  bool timed_out() const { return deadline.expired(); }
  void close() {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    deadline.disarm();
  }
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor executor, ServerOptions options)
      : ex(std::move(executor)), accept_strand(asio::make_strand(ex)), opts(std::move(options)) {
    if (!opts.log) {
      opts.log = [](std::string_view message) { std::cerr << "hydra http: " << message << "\n"; };
    }
  }

  asio::any_io_executor ex;
  asio::any_io_executor accept_strand;
  ServerOptions opts;
  std::vector<Route> routes;
  std::vector<WsRoute> ws_routes;
  Handler fallback;
  std::optional<tcp::acceptor> acceptor;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::size_t next_executor = 0;  // on accept_strand
  std::atomic<unsigned long> connections{0};
  std::atomic<unsigned long> requests{0};
  mutable std::mutex mutex;
  std::set<std::shared_ptr<Session>> sessions;

  void start_accepting() {
    asio::co_spawn(accept_strand, accept_loop(shared_from_this()), asio::detached);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    for (;;) {
      asio::any_io_executor target = self->ex;
      if (!self->opts.connection_executors.empty())
        target = self->opts.connection_executors[self->next_executor++ %
                                                 self->opts.connection_executors.size()];
      asio::any_io_executor connection_executor = target;
      if (!self->opts.single_threaded_executors) {
        connection_executor = asio::any_io_executor(asio::make_strand(target));
      }
      auto [ec, socket] =
          co_await self->acceptor->async_accept(connection_executor, tuple_awaitable);
      if (self->stopping || !self->acceptor->is_open()) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        // Out of descriptors and the like: back off instead of spinning.
        self->opts.log("accept failed: " + ec.message());
        asio::steady_timer pause(self->accept_strand, std::chrono::milliseconds(50));
        co_await pause.async_wait(tuple_awaitable);
        continue;
      }
      hydra::detail::close_on_exec(socket.native_handle());
      // Responses are written whole; Nagle would only hold the last segment of a large one.
      boost::system::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto session = std::make_shared<Session>(std::move(socket));
      {
        std::lock_guard lock(self->mutex);
        self->sessions.insert(session);
      }
      ++self->connections;
      asio::co_spawn(session->executor, run_session(self, session), asio::detached);
    }
  }

  // Sends a response the server made up (errors) and closes the connection politely.
  static asio::awaitable<void> send_and_close(std::shared_ptr<Impl> self,
                                              std::shared_ptr<Session> s, Response response) {
    response.headers.set("Connection", "close");
    s->arm(self->opts.request_timeout);
    co_await write_response(self, s, response, 11, false, false, {},
                            std::chrono::steady_clock::now());
    s->disarm();
    ++self->requests;
    // Unread request bytes at close() would make the kernel send a reset that can destroy the
    // response before the client reads it: half-close, then drain briefly.
    boost::system::error_code ignored;
    s->socket.shutdown(tcp::socket::shutdown_send, ignored);
    s->arm(std::chrono::milliseconds(1000));
    std::size_t drained = 0;
    char sink[4096];
    while (drained < 1024 * 1024) {
      auto [ec, n] = co_await s->socket.async_read_some(asio::buffer(sink), tuple_awaitable);
      if (ec) break;
      drained += n;
    }
    s->disarm();
  }

  static asio::awaitable<void> run_session(std::shared_ptr<Impl> self, std::shared_ptr<Session> s) {
    try {
      boost::system::error_code ep_ec;
      auto peer = s->socket.remote_endpoint(ep_ec);
      if (!ep_ec) {
        auto address = peer.address();
        if (address.is_v6() && address.to_v6().is_v4_mapped())
          address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
        s->remote = address.to_string();
      }
      co_await serve(self, s);
    } catch (const std::exception& e) {
      self->opts.log(std::string("connection failed: ") + e.what());
    }
    s->close();
    std::lock_guard lock(self->mutex);
    self->sessions.erase(s);
  }

  static asio::awaitable<void> serve(std::shared_ptr<Impl> self, std::shared_ptr<Session> s) {
    for (;;) {
      // Idle: waiting for the first byte of the next request.
      if (s->buffer.size() == 0) {
        if (s->close_requested || self->stopping) co_return;
        s->arm(self->opts.idle_timeout);
        auto [ec] = co_await s->socket.async_wait(tcp::socket::wait_read, tuple_awaitable);
        s->disarm();
        if (s->timed_out()) {
          // Node answers a connection that never sent a request with 408; a kept-alive one is
          // just closed.
          if (!s->served_any) co_await send_and_close(self, s, Response::envelope_reason(408, {}));
          co_return;
        }
        if (ec || s->close_requested) co_return;
      }

      s->busy = true;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(
          std::min<std::size_t>(self->opts.max_header_bytes, UINT32_MAX)));
      parser.body_limit(self->opts.max_body_bytes);
      s->arm(self->opts.request_timeout);
      auto [hec, hn] =
          co_await bhttp::async_read_header(s->socket, s->buffer, parser, tuple_awaitable);
      const auto started = std::chrono::steady_clock::now();
      boost::system::error_code ec = hec;
      if (!ec && !parser.is_done()) {
        const auto& head = parser.get();
        if (auto expect = head.find(bhttp::field::expect);
            expect != head.end() && ascii_iequals(expect->value(), "100-continue")) {
          // A client waiting for permission would otherwise stall until its own timeout.
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [wec, wn] =
              co_await asio::async_write(s->socket, asio::buffer(kContinue), tuple_awaitable);
          ec = wec;
        }
        if (!ec) {
          auto [bec, bn] =
              co_await bhttp::async_read(s->socket, s->buffer, parser, tuple_awaitable);
          ec = bec;
        }
      }
      s->disarm();
      if (s->timed_out()) {
        co_await send_and_close(self, s, Response::envelope_reason(408, {}));
        co_return;
      }
      if (ec == bhttp::error::end_of_stream) co_return;
      if (ec) {
        if (ec == bhttp::error::header_limit) {
          co_await send_and_close(self, s, Response::envelope_reason(431, {}));
        } else if (ec == bhttp::error::body_limit) {
          co_await send_and_close(self, s, Response::too_large());
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                   ec != bhttp::error::partial_message) {
          co_await send_and_close(self, s, Response::bad_request("Malformed HTTP request"));
        }
        co_return;  // socket errors and truncated requests: nobody to answer
      }

      auto message = parser.release();
      if (!self->ws_routes.empty() && beast::websocket::is_upgrade(message)) {
        if (const WsRoute* route = self->match_websocket(message)) {
          co_await upgrade(self, s, *route, message);
          co_return;
        }
      }
      const bool head_request = message.method() == bhttp::verb::head;
      Response response = co_await self->handle(message, s->remote);
      const bool keep = message.keep_alive() && !s->close_requested && !self->stopping;
      s->arm(self->opts.request_timeout);
      const auto wec = co_await write_response(self, s, response, message.version(), head_request,
                                               keep, message[bhttp::field::origin], started);
      s->disarm();
      ++self->requests;
      s->busy = false;
      s->served_any = true;
      if (wec || s->timed_out()) co_return;
      if (!keep) {
        boost::system::error_code ignored;
        s->socket.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  // Fills the request from the wire message; false when the target cannot be parsed.
  // `encoded_path` receives the path as sent (routes match on it, as route-parser does).
  static bool fill_request(Request& req, bhttp::request<bhttp::string_body>& message,
                           const std::string& remote, std::string& encoded_path) {
    req.method = ascii_lower(message.method_string());
    req.target = std::string(message.target());
    req.remote_address = remote;
    for (const auto& field : message)
      req.headers.add(std::string(field.name_string()), std::string(field.value()));
    req.body = std::move(message.body());
    std::string query;
    auto origin_form = boost::urls::parse_origin_form(req.target);
    if (origin_form) {
      encoded_path = std::string(origin_form->encoded_path());
      query = std::string(origin_form->encoded_query());
      req.path = origin_form->path();
    } else if (auto absolute = boost::urls::parse_absolute_uri(req.target)) {
      // Absolute-form targets come from proxies; route on their path.
      encoded_path = std::string(absolute->encoded_path());
      query = std::string(absolute->encoded_query());
      req.path = absolute->path();
    } else {
      return false;
    }
    if (encoded_path.empty()) encoded_path = "/";
    if (req.path.empty()) req.path = "/";
    req.query = detail::parse_query(query);
    return true;
  }

  const WsRoute* match_websocket(const bhttp::request<bhttp::string_body>& message) const {
    auto origin_form = boost::urls::parse_origin_form(message.target());
    if (!origin_form) return nullptr;
    std::string path(origin_form->encoded_path());
    if (path.empty()) path = "/";
    for (const auto& route : ws_routes) {
      if (route.matcher.match(path)) return &route;
    }
    return nullptr;
  }

  // Hands an upgrade request to its WebSocket handler; the connection ends with the handler.
  static asio::awaitable<void> upgrade(std::shared_ptr<Impl> self, std::shared_ptr<Session> s,
                                       const WsRoute& route,
                                       bhttp::request<bhttp::string_body>& message) {
    Request req;
    std::string encoded_path;
    // fill_request takes the body; the handshake below only needs the header.
    if (!fill_request(req, message, s->remote, encoded_path)) co_return;
    if (auto params = route.matcher.match(encoded_path)) {
      for (auto& [key, value] : *params)
        req.params[key] = pct_decode(value, false);
    }
    s->disarm();
    auto impl = std::make_shared<WebSocket::Impl>(std::move(s->socket), route.options, s->remote);
    s->websocket = impl;
    ++self->requests;
    auto [ec] = co_await impl->ws.async_accept(message, tuple_awaitable);
    if (ec) {
      impl->abort();
      co_return;
    }
    if (self->stopping) {
      impl->request_close();
      co_return;
    }
    std::string failure;
    try {
      co_await route.handler(WebSocket(impl), req);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    if (!failure.empty())
      self->opts.log("websocket handler for " + route.pattern + " failed: " + failure);
    // Posted, not called: messages the handler sent just before returning are posted too and
    // must go out before the close frame.
    asio::post(impl->executor, [impl] { impl->request_close(); });
    // Let the close handshake finish (bounded) before the session is forgotten.
    asio::steady_timer wait(s->executor);
    for (int i = 0; i < 100 && impl->open; ++i) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(tuple_awaitable);
    }
    impl->abort();
  }

  // Routing, body checks and the handler; never throws.
  asio::awaitable<Response> handle(bhttp::request<bhttp::string_body>& message,
                                   const std::string& remote) {
    Request req;
    std::string encoded_path;
    const bool parsed = fill_request(req, message, remote, encoded_path);

    // CORS preflight: the cors middleware answers every OPTIONS before routing.
    if (opts.cors.enabled && req.method == "options") co_return preflight(req);
    if (!parsed) co_return Response::bad_request("Malformed request target");

    const Route* found = nullptr;
    for (const auto& route : routes) {
      const bool method_ok = route.method == "_all" || route.method == req.method ||
                             (req.method == "head" && route.method == "get");
      if (!method_ok) continue;
      if (auto params = route.matcher.match(encoded_path)) {
        for (auto& [key, value] : *params)
          req.params[key] = pct_decode(value, false);
        found = &route;
        break;
      }
    }
    if (!found && !fallback) co_return Response::not_found();
    if (!found) {
      std::string fallback_failure;
      try {
        co_return co_await fallback(req);
      } catch (const std::exception& e) {
        fallback_failure = e.what();
      }
      opts.log("fallback handler failed: " + fallback_failure);
      co_return Response::server_error();
    }

    // body-parser's json(): a body declared as JSON must be JSON.
    const std::string content_type = ascii_lower(req.header("content-type"));
    if (content_type.find("json") != std::string::npos && !req.body.empty() &&
        !hydra::json::try_parse(req.body)) {
      co_return Response::bad_request("Invalid JSON body");
    }

    std::string failure;
    try {
      co_return co_await found->handler(req);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    opts.log("handler for " + found->method + " " + found->pattern + " failed: " + failure);
    co_return Response::server_error();
  }

  Response preflight(const Request& req) const {
    Response r;
    r.status = 204;
    const auto& cors = opts.cors;
    r.headers.set("Access-Control-Allow-Methods", cors.allow_methods);
    if (!cors.allow_headers.empty()) {
      r.headers.set("Access-Control-Allow-Headers", cors.allow_headers);
    } else if (auto requested = req.headers.get("access-control-request-headers")) {
      r.headers.set("Access-Control-Allow-Headers", *requested);
      r.headers.set("Vary", "Access-Control-Request-Headers");
    }
    if (cors.max_age >= 0) r.headers.set("Access-Control-Max-Age", std::to_string(cors.max_age));
    r.headers.set("Content-Length", "0");
    return r;
  }

  // A handler's impossible status is the server's error, not a malformed status line.
  static unsigned wire_status(int status) {
    return status >= 100 && status <= 999 ? static_cast<unsigned>(status) : 500;
  }
  static bool bodiless(unsigned status) { return status == 204 || status == 304 || status < 200; }

  // The wire response's head: handler headers win over the defaults added here. The body is
  // written after it as it is (none for HEAD and the bodiless statuses).
  void render_head(std::string& out, const Response& r, unsigned version, bool keep,
                   std::string_view origin, std::chrono::steady_clock::time_point started) const {
    std::vector<detail::FieldView> fields;
    fields.reserve(24 + r.headers.fields().size());
    auto has = [&](std::string_view name) {
      for (const auto& [key, value] : r.headers.fields()) {
        if (ascii_iequals(key, name)) return true;
      }
      return false;
    };
    auto set_default = [&](std::string_view name, std::string_view value) {
      if (!has(name)) fields.emplace_back(name, value);
    };
    if (opts.cors.enabled) {
      const auto& cors = opts.cors;
      set_default("Access-Control-Allow-Origin", cors.allow_origin);
      if (cors.allow_origin != "*" && !origin.empty()) set_default("Vary", "Origin");
      if (cors.allow_credentials) set_default("Access-Control-Allow-Credentials", "true");
      if (!cors.expose_headers.empty())
        set_default("Access-Control-Expose-Headers", cors.expose_headers);
    }
    if (opts.security_headers) {
      for (const auto& [name, value] : security_headers())
        set_default(name, value);
    }
    static const std::string pid = std::to_string(::getpid());
    set_default("x-process-id", pid);
    if (!r.content_type.empty()) set_default("Content-Type", r.content_type);
    for (const auto& [name, value] : r.headers.fields())
      fields.emplace_back(name, value);
    // Measured last so that it covers the handler and header assembly.
    const std::string response_time =
        detail::format_response_time(std::chrono::steady_clock::now() - started);
    set_default("X-Response-Time", response_time);
    const unsigned status = wire_status(r.status);
    detail::append_response_head(out, version == 10 ? 10 : 11, status, fields, keep,
                                 bodiless(status), r.body.size());
  }

  // Writes the response; the error of the write, if any.
  static asio::awaitable<boost::system::error_code> write_response(
      const std::shared_ptr<Impl>& self, const std::shared_ptr<Session>& s, const Response& r,
      unsigned version, bool head_request, bool keep, std::string_view origin,
      std::chrono::steady_clock::time_point started) {
    std::string& head = s->head;
    head.clear();
    self->render_head(head, r, version, keep, origin, started);
    const std::size_t body_size =
        head_request || bodiless(wire_status(r.status)) ? 0 : r.body.size();
    const std::array<asio::const_buffer, 2> wire = {asio::buffer(head),
                                                    asio::buffer(r.body.data(), body_size)};
    auto [ec, n] = co_await asio::async_write(s->socket, wire, tuple_awaitable);
    co_return ec;
  }

  // Runs `f` on every session's executor.
  template <class F>
  void for_each_session(F f) {
    std::vector<std::shared_ptr<Session>> snapshot;
    {
      std::lock_guard lock(mutex);
      snapshot.assign(sessions.begin(), sessions.end());
    }
    for (auto& s : snapshot)
      asio::post(s->executor, [s, f] { f(*s); });
  }

  std::size_t open_sessions() const {
    std::lock_guard lock(mutex);
    return sessions.size();
  }

  void close_acceptor() {
    asio::post(accept_strand, [self = shared_from_this()] {
      boost::system::error_code ignored;
      if (self->acceptor) self->acceptor->close(ignored);
    });
  }
};

Server::Server(asio::any_io_executor executor)
    : impl_(std::make_shared<Impl>(std::move(executor), ServerOptions{})) {}

Server::Server(asio::any_io_executor executor, ServerOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

Server::~Server() {
  // Sessions still running keep the Impl alive; tell them and the acceptor to finish.
  impl_->stopping = true;
  impl_->close_acceptor();
  impl_->for_each_session([](Session& s) {
    if (auto ws = s.websocket.lock()) ws->abort();
    s.close();
  });
}

void Server::route(std::string method, std::string pattern, Handler handler) {
  std::string m = ascii_lower(method);
  if (m == "all" || m == "*") m = "_all";
  if (m.empty() || pattern.empty() || pattern.front() != '/')
    throw Error(errc::invalid_argument, "route needs a method and a pattern starting with /");
  RoutePattern matcher(pattern);
  impl_->routes.push_back(Route{m, std::move(pattern), std::move(matcher), std::move(handler)});
}

void Server::websocket(std::string pattern, WebSocketHandler handler, WebSocketOptions options) {
  if (pattern.empty() || pattern.front() != '/')
    throw Error(errc::invalid_argument, "websocket route needs a pattern starting with /");
  RoutePattern matcher(pattern);
  impl_->ws_routes.push_back(
      WsRoute{std::move(pattern), std::move(matcher), std::move(handler), options});
}

void Server::fallback(Handler handler) {
  impl_->fallback = std::move(handler);
}

std::vector<std::string> Server::routes() const {
  std::vector<std::string> out;
  for (const auto& route : impl_->routes)
    out.push_back("[" + route.method + "]" + route.pattern);
  return out;
}

void Server::listen(const std::string& address, std::uint16_t port) {
  if (impl_->acceptor) throw Error(errc::invalid_argument, "server is already listening");
  tcp::acceptor acceptor(impl_->accept_strand);
  boost::system::error_code ec;
  auto bind = [&](const tcp::endpoint& endpoint, bool dual_stack) {
    ec = {};
    if (acceptor.is_open()) acceptor.close(ec);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return;
    if (dual_stack) acceptor.set_option(asio::ip::v6_only(false), ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
    if (ec) return;
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  };
  if (address.empty() || address == "::") {
    // All interfaces like Node's default listener; IPv4 only when IPv6 is unavailable.
    bind(tcp::endpoint(tcp::v6(), port), true);
    if (ec && ec != asio::error::address_in_use) bind(tcp::endpoint(tcp::v4(), port), false);
  } else {
    auto ip = asio::ip::make_address(address, ec);
    if (ec) throw Error(errc::invalid_argument, "invalid listen address " + address);
    bind(tcp::endpoint(ip, port), false);
  }
  if (ec) {
    throw Error(ec, "cannot listen on " + (address.empty() ? std::string("*") : address) + ":" +
                        std::to_string(port) + ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  hydra::detail::close_on_exec(acceptor.native_handle());
  impl_->acceptor.emplace(std::move(acceptor));
  impl_->start_accepting();
}

void Server::adopt(int fd) {
  if (impl_->acceptor) {
    ::close(fd);
    throw Error(errc::invalid_argument, "server is already listening");
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    ::close(fd);
    throw Error(errc::invalid_argument, "adopt: not a socket");
  }
  tcp::acceptor acceptor(impl_->accept_strand);
  boost::system::error_code ec;
  acceptor.assign(storage.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    throw Error(ec, "adopt: " + ec.message());
  }
  // listen() on a socket that already listens only changes the backlog.
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ec, "adopt: listen failed: " + ec.message());
  impl_->port = acceptor.local_endpoint().port();
  hydra::detail::close_on_exec(acceptor.native_handle());
  impl_->acceptor.emplace(std::move(acceptor));
  impl_->start_accepting();
}

std::uint16_t Server::port() const {
  return impl_->port;
}

asio::awaitable<void> Server::stop() {
  auto self = impl_;
  self->stopping = true;
  self->close_acceptor();
  // Idle connections go now; busy ones finish their request with Connection: close.
  self->for_each_session([](Session& s) {
    s.close_requested = true;
    if (auto ws = s.websocket.lock()) {
      ws->request_close();
    } else if (!s.busy) {
      s.close();
    }
  });
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer poll(executor);
  const auto deadline = std::chrono::steady_clock::now() + self->opts.shutdown_timeout;
  while (self->open_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(tuple_awaitable);
  }
  if (self->open_sessions() == 0) co_return;
  // Out of patience: close what is left; a handler that never returns cannot hold stop() up
  // for more than a second longer.
  self->for_each_session([](Session& s) {
    if (auto ws = s.websocket.lock()) ws->abort();
    s.close();
  });
  const auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (self->open_sessions() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(tuple_awaitable);
  }
}

ServerStats Server::stats() const {
  ServerStats s;
  s.connections = impl_->connections;
  s.requests = impl_->requests;
  s.open_connections = impl_->open_sessions();
  return s;
}

asio::any_io_executor Server::get_executor() const {
  return impl_->ex;
}

// Service ------------------------------------------------------------------------------------

struct Service::Impl {
  Impl(Hydra& h, Server& s) : hydra(h), server(s) {}
  Hydra& hydra;
  Server& server;
  bool started = false;
  bool stop_requested = false;  // on the hydra executor
  std::optional<asio::signal_set> signals;
};

Service::Service(Hydra& hydra, Server& server) : impl_(std::make_shared<Impl>(hydra, server)) {}

Service::~Service() = default;

asio::awaitable<void> Service::start() {
  auto self = impl_;
  if (self->started) co_return;
  if (!self->hydra.is_registered())
    throw Error(errc::not_initialized, "Service::start needs init() and register_service()");
  // A random port was reserved by init(); listening on that very socket leaves no window in
  // which another process could take the port.
  if (auto fd = self->hydra.take_reserved_listener()) {
    self->server.adopt(*fd);
  } else {
    self->server.listen("", self->hydra.service_port());
  }
  self->started = true;
  co_await self->hydra.register_routes(self->server.routes());
}

asio::awaitable<void> Service::run() {
  auto self = impl_;
  co_await start();
  if (!self->stop_requested) {
    self->signals.emplace(self->hydra.get_executor(), SIGINT, SIGTERM);
    co_await self->signals->async_wait(tuple_awaitable);
    self->signals.reset();
  }
  // Presence first, so callers stop picking this instance while requests drain.
  co_await self->hydra.shutdown();
  co_await self->server.stop();
}

void Service::request_stop() {
  asio::post(impl_->hydra.get_executor(), [self = impl_] {
    self->stop_requested = true;
    if (self->signals) {
      boost::system::error_code ignored;
      self->signals->cancel(ignored);
    }
  });
}

}  // namespace hydra::http
