// makeAPIRequest: Node Hydra's HTTP call to a present service instance, with keep-alive pools,
// instance choice policies, avoidance of failed instances and a retry rule that never re-sends a
// request that may have executed unless its method is idempotent.
#include "hydra/http/client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <map>

#include "common/deadline.hpp"
#include "common/fd.hpp"
#include "http/wire.hpp"
#include "hydra/json.hpp"
#include "hydra/result.hpp"
#include "hydra/text.hpp"

namespace hydra::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

bool sends_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

/// A header value as JavaScript's String(value) would write it.
std::string header_text(const bj::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::stringify(v);
}

/// The text JavaScript gives `${code}` for a statusCode value.
std::string code_text(const bj::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "null";
  return header_text(v);
}

/// ServerResponse.STATUS[code] lookup: known codes by their number text, else the raw text.
std::pair<std::string, std::string> status_texts(const bj::value& code) {
  std::string text = code_text(code);
  int n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty() &&
      std::to_string(n) == text) {
    return {status_message(n), status_description(n)};
  }
  return {text, "Unknown statusCode " + text};
}

bool header_char_ok(char c) {
  return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
}

}  // namespace

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

bj::object error_object(int status, const std::string& reason) {
  return Result::failure(status, reason).to_json();
}

std::variant<PreparedRequest, bj::object> prepare_request(const bj::object& input,
                                                          const RequestOptions& options) {
  auto m = umf::Message::create(input);
  if (!m.validate())
    return error_object(400, R"(UMF message requires "to", "from" and "body" fields)");
  auto route = umf::parse_route(m.to());
  if (!route.error.empty()) return error_object(400, route.error);
  if (!route.http_method || route.http_method->empty())
    return error_object(400, "HTTP method not specified in `to` field");
  if (route.api_route.empty())
    return error_object(400, "message `to` field does not specify a valid route");
  if (!std::all_of(route.api_route.begin(), route.api_route.end(), header_char_ok))
    return error_object(400, "Request path contains unescaped characters");

  PreparedRequest p;
  p.service_name = route.service_name;
  p.instance = route.instance;
  p.method = ascii_upper(*route.http_method);
  p.target = route.api_route;
  auto set_header = [&p](const std::string& name, std::string value) {
    for (auto& [n, v] : p.headers) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    p.headers.emplace_back(name, std::move(value));
  };
  if (sends_body(p.method)) set_header("content-type", "application/json");
  if (const auto* h = m.get(umf::Field::headers); h && h->is_object()) {
    for (const auto& kv : h->get_object())
      set_header(std::string(kv.key()), header_text(kv.value()));
  }
  if (const auto* a = m.get(umf::Field::authorization); a && umf::truthy(*a))
    set_header("Authorization", header_text(*a));
  double timeout = 0;
  if (const auto* t = m.get(umf::Field::timeout); t && t->is_number())
    timeout = t->to_number<double>();
  if (options.timeout_seconds) timeout = *options.timeout_seconds;
  // Node: `timeout * 1000 || 30000`.
  p.timeout_seconds = timeout > 0 ? timeout : 30;
  if (sends_body(p.method)) {
    p.has_body = true;
    p.body = json::stringify(m.body());
  }
  return p;
}

bj::object response_object(int status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) {
  bj::object hdrs;
  for (const auto& [name, value] : headers) {
    std::string key = ascii_lower(name);
    auto* existing = hdrs.if_contains(key);
    if (key == "set-cookie") {
      if (!existing) existing = &hdrs.emplace(key, bj::array()).first->value();
      existing->as_array().emplace_back(value);
    } else if (existing && existing->is_string()) {
      *existing = std::string(existing->get_string()) + ", " + value;
    } else {
      hdrs[key] = value;
    }
  }
  hdrs["content-length"] = static_cast<std::int64_t>(body.size());

  bj::object res;
  res["statusCode"] = status;
  bool is_json = false;
  if (const auto* ct = hdrs.if_contains("content-type"); ct && ct->is_string())
    is_json = std::string_view(ct->get_string()).find("json") != std::string_view::npos;
  res["headers"] = std::move(hdrs);
  if (is_json) {
    // Object.assign(res, safeJSONParse(body)); payLoad dropped even when the body is not JSON.
    if (auto parsed = json::try_parse(body); parsed && parsed->is_object()) {
      for (auto& kv : parsed->get_object())
        res[kv.key()] = kv.value();
    }
  } else {
    res["payLoad"] = body;
  }
  auto [message, description] = status_texts(res.at("statusCode"));
  bj::object out;
  out["statusCode"] = res.at("statusCode");
  out["statusMessage"] = message;
  out["statusDescription"] = description;
  out["result"] = bj::object();
  for (auto& kv : res)
    out[kv.key()] = kv.value();
  return out;
}

// The client -------------------------------------------------------------------------------------

namespace {

/// A connection to an instance with its read buffer. The buffer lives as long as the connection:
/// a fresh one would start reading in 512-byte steps, so an answer with helmet's headers took
/// two reads.
struct Link {
  explicit Link(const asio::any_io_executor& executor)
      : socket(executor), deadline(executor, [this] {
          boost::system::error_code ignored;
          socket.cancel(ignored);
        }) {}
  tcp::socket socket;
  /// The attempt's deadline: when it passes, the pending operation is cancelled.
  hydra::detail::Deadline deadline;
  beast::flat_buffer buffer;
};

struct Idle {
  std::unique_ptr<Link> link;
  Clock::time_point since;
};

struct InstanceState {
  std::vector<Idle> idle;
  int outstanding = 0;
  Clock::time_point avoid_until{};
};

/// The outcome of one attempt on one instance.
struct Attempt {
  bool ok = false;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Some bytes of the request may have reached the service.
  bool maybe_delivered = false;
  bool timeout = false;
  /// The instance failed at the socket level (not a slow answer).
  bool socket_failure = false;
  std::string error;
};

/// An idle connection is usable when the peer has neither closed it nor sent anything.
bool still_open(tcp::socket& s) {
  char c;
  ssize_t r = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r >= 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

std::string timeout_reason(const PreparedRequest& p) {
  return "Request to " + p.service_name + " timed out after " +
         json::format_number(p.timeout_seconds) + " s";
}

std::string key_of(const InstanceAddress& e) {
  return e.instance_id + "@" + e.ip + ":" + e.port;
}

}  // namespace

struct ApiClient::Impl {
  Hydra& hydra;
  ClientOptions options;
  std::map<std::string, InstanceState> instances;
  std::map<std::string, unsigned long> rotation;
  ClientStats stats;

  Impl(Hydra& h, ClientOptions o) : hydra(h), options(std::move(o)) {}

  void metric(const std::string& text) {
    if (options.on_metric) options.on_metric(text);
  }

  /// Candidates in the order they are tried: the named instance first when present, then by
  /// policy, instances avoided after a recent socket failure last (still tried: a service with
  /// only recently failed instances is attempted rather than reported unavailable).
  std::vector<InstanceAddress> order(std::vector<InstanceAddress> list, const PreparedRequest& p) {
    if (options.choice == InstanceChoice::round_robin && !list.empty()) {
      std::sort(list.begin(), list.end(), [](const InstanceAddress& a, const InstanceAddress& b) {
        return a.instance_id < b.instance_id;
      });
      auto n = rotation[p.service_name]++ % list.size();
      std::rotate(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n), list.end());
    } else if (options.choice == InstanceChoice::least_outstanding) {
      std::stable_sort(list.begin(), list.end(),
                       [this](const InstanceAddress& a, const InstanceAddress& b) {
                         return instances[key_of(a)].outstanding < instances[key_of(b)].outstanding;
                       });
    }
    auto now = Clock::now();
    // Only when some instance is being avoided: the usual case costs no lookups.
    bool any_avoided = false;
    for (const auto& [key, st] : instances)
      any_avoided = any_avoided || st.avoid_until > now;
    if (any_avoided) {
      std::stable_partition(list.begin(), list.end(), [&](const InstanceAddress& e) {
        return instances[key_of(e)].avoid_until <= now;
      });
    }
    if (!p.instance.empty()) {
      auto it = std::find_if(list.begin(), list.end(),
                             [&](const InstanceAddress& e) { return e.instance_id == p.instance; });
      if (it != list.end()) std::rotate(list.begin(), it, it + 1);
    }
    return list;
  }

  void release(const std::string& key, std::unique_ptr<Link> link) {
    auto& st = instances[key];
    if (st.idle.size() >= options.max_idle_per_instance) return;
    link->deadline.disarm();
    st.idle.push_back(Idle{std::move(link), Clock::now()});
  }

  std::unique_ptr<Link> take_idle(const std::string& key) {
    auto& st = instances[key];
    auto now = Clock::now();
    while (!st.idle.empty()) {
      Idle c = std::move(st.idle.back());
      st.idle.pop_back();
      if (now - c.since < options.idle_timeout && still_open(c.link->socket))
        return std::move(c.link);
    }
    return nullptr;
  }

  /// One request on one instance. A pooled connection that fails before any response byte is
  /// replaced by a fresh one when the request is idempotent.
  asio::awaitable<Attempt> attempt(const InstanceAddress& inst, const PreparedRequest& p) {
    const std::string key = key_of(inst);
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<long long>(p.timeout_seconds * 1000));
    Attempt a;
    unsigned short port = 0;
    auto [ptr, perr] = std::from_chars(inst.port.data(), inst.port.data() + inst.port.size(), port);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(inst.ip, ec);
    if (ec || perr != std::errc() || ptr != inst.port.data() + inst.port.size() || port == 0) {
      a.socket_failure = true;
      a.error = "invalid address " + inst.ip + ":" + inst.port;
      co_return a;
    }
    auto executor = co_await asio::this_coro::executor;
    const std::string host = inst.ip + ":" + std::to_string(port);
    for (int round = 0; round < 2; ++round) {
      a = Attempt{};
      std::unique_ptr<Link> link;
      bool reused = false;
      if (options.max_idle_per_instance > 0) link = take_idle(key);
      if (link) {
        reused = true;
        ++stats.connections_reused;
      } else {
        link = std::make_unique<Link>(executor);
        link->deadline.arm(deadline);
        co_await link->socket.async_connect(tcp::endpoint(address, port),
                                            asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) hydra::detail::close_on_exec(link->socket.native_handle());
        if (ec) {
          a.timeout = link->deadline.expired();
          a.socket_failure = !a.timeout;
          a.error = a.timeout ? "timeout" : ec.message();
          co_return a;
        }
        ++stats.connections_opened;
        link->socket.set_option(tcp::no_delay(true), ec);
      }

      // A Host from the request replaces the default; other fields go out as they come, so a
      // repeated one (forwarded by a proxy) keeps all its values.
      std::string head;
      head.reserve(256 + p.target.size());
      detail::append_request_head(head, p.method, p.target, host, p.headers, p.has_body,
                                  p.body.size());
      const std::array<asio::const_buffer, 2> wire = {
          asio::buffer(head), asio::buffer(p.body.data(), p.has_body ? p.body.size() : 0)};
      link->deadline.arm(deadline);
      std::size_t written = co_await asio::async_write(
          link->socket, wire, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        a.maybe_delivered = written > 0;
        a.timeout = link->deadline.expired();
        a.socket_failure = !a.timeout;
        a.error = a.timeout ? "timeout" : ec.message();
        if (reused && !a.timeout && (written == 0 || is_idempotent(p.method))) continue;
        co_return a;
      }

      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(options.max_response_bytes);
      if (p.method == "HEAD") parser.skip(true);
      co_await bhttp::async_read(link->socket, link->buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, ec));
      link->deadline.disarm();
      if (ec) {
        a.maybe_delivered = true;
        a.timeout = link->deadline.expired();
        a.socket_failure = !a.timeout && ec != bhttp::error::body_limit;
        a.error = a.timeout ? "timeout" : ec.message();
        // A kept-alive connection closed by the server as we reused it.
        bool stale = reused && !parser.got_some() &&
                     (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                      ec == asio::error::eof);
        if (stale && is_idempotent(p.method)) continue;
        co_return a;
      }
      auto& res = parser.get();
      a.ok = true;
      a.status = static_cast<int>(res.result_int());
      a.headers.reserve(16);
      for (const auto& f : res)
        a.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      a.body = std::move(res.body());
      if (res.keep_alive() && !parser.need_eof() && link->buffer.size() == 0 &&
          options.max_idle_per_instance > 0)
        release(key, std::move(link));
      co_return a;
    }
    co_return a;
  }
};

ApiClient::ApiClient(Hydra& hydra) : ApiClient(hydra, ClientOptions{}) {}

ApiClient::ApiClient(Hydra& hydra, ClientOptions options)
    : impl_(std::make_shared<Impl>(hydra, std::move(options))) {}

ApiClient::~ApiClient() = default;

asio::awaitable<bj::object> ApiClient::make_api_request(const bj::object& umf) {
  co_return co_await make_api_request(umf, RequestOptions{});
}

// Retry rule: another instance is tried ONLY when the request provably did not reach a service
// (connect failed/refused, the connection was reset before any byte of the request was written,
// or a pooled idle connection was found closed before sending) OR the method is idempotent (GET,
// HEAD, PUT, DELETE, OPTIONS). Any HTTP response is final. A POST/PATCH that timed out or lost its
// connection after writing is never re-sent: it may have executed.
asio::awaitable<bj::object> ApiClient::make_api_request(const bj::object& umf,
                                                        RequestOptions options) {
  auto prepared = prepare_request(umf, options);
  if (auto* failure = std::get_if<bj::object>(&prepared)) co_return std::move(*failure);
  auto outcome = co_await send(std::move(std::get<PreparedRequest>(prepared)));
  if (auto* failure = std::get_if<bj::object>(&outcome)) co_return std::move(*failure);
  auto& r = std::get<RawResponse>(outcome);
  co_return response_object(r.status, r.headers, r.body);
}

// Retry rule: another instance is tried ONLY when the request provably did not reach a service
// (connect failed/refused, the connection was reset before any byte of the request was written,
// or a pooled idle connection was found closed before sending) OR its method is idempotent (GET,
// HEAD, PUT, DELETE, OPTIONS). Any HTTP response is final. A POST/PATCH that timed out or lost its
// connection after writing is never re-sent: it may have executed.
asio::awaitable<std::variant<RawResponse, bj::object>> ApiClient::send(PreparedRequest p) {
  auto self = impl_;
  const std::string& svc = p.service_name;

  std::vector<InstanceAddress> present;
  try {
    if (self->options.addresses) {
      present = co_await self->options.addresses(svc);
    } else {
      present = co_await self->hydra.get_service_addresses(svc);
    }
  } catch (const std::exception& e) {
    co_return error_object(500, e.what());
  }
  if (present.empty()) {
    self->metric("service:unavailable|" + svc);
    co_return error_object(503, "Unavailable " + svc + " instances");
  }

  auto candidates = self->order(std::move(present), p);
  const bool idempotent = is_idempotent(p.method);
  Attempt last;
  std::string last_iid;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const InstanceAddress& inst = candidates[i];
    if (i > 0) ++self->stats.retries;
    const std::string key = key_of(inst);
    ++self->instances[key].outstanding;
    Attempt a = co_await self->attempt(inst, p);
    --self->instances[key].outstanding;
    if (a.ok) {
      ++self->stats.requests;
      co_return RawResponse{a.status, std::move(a.headers), std::move(a.body)};
    }
    self->metric("service:unavailable|" + svc + "|" + inst.instance_id + "|" + a.error);
    if (a.socket_failure) {
      auto& st = self->instances[key];
      st.avoid_until = Clock::now() + self->options.avoid_for;
      // Not hydra.forget_instance(): an emptied presence cache would make the whole service
      // answer 503 for the cache period; the avoid list only reorders.
      st.idle.clear();
    }
    last_iid = inst.instance_id;
    if (a.maybe_delivered && !idempotent) {
      if (a.timeout) co_return error_object(503, timeout_reason(p));
      co_return error_object(503, "Connection to an instance of " + svc +
                                      " failed after the request was sent (" + a.error +
                                      "); not retried");
    }
    last = std::move(a);
  }
  self->metric("service:unavailable|" + svc + "|" + last_iid + "|attempts:exhausted");
  if (last.timeout) co_return error_object(503, timeout_reason(p));
  co_return error_object(503, "An instance of " + svc + " is unavailable");
}

ClientStats ApiClient::stats() const {
  return impl_->stats;
}

std::size_t ApiClient::idle_connections() const {
  std::size_t n = 0;
  for (const auto& [key, st] : impl_->instances)
    n += st.idle.size();
  return n;
}

void ApiClient::close_idle() {
  for (auto& [key, st] : impl_->instances)
    st.idle.clear();
}

}  // namespace hydra::http
