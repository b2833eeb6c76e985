// http_bench: makeAPIRequest (HTTP calls routed by Redis presence) throughput and latency,
// hydra-cpp side by side with Node Hydra 1.9.3 + hydra-express 1.9.5, and the plain-HTTP ceiling
// (a bare keep-alive Beast client, and wrk when installed) against the same C++ route, all on one
// private Redis.
//
// Prints tables and a final `BENCH_JSON {...}` line. Exits non-zero when any call fails or
// answers something other than the expected 200, on any side, so a broken path cannot look fast.
//
// `http_bench --serve <redis-url> <service>` runs the C++ HTTP service used by the measurement
// (the benchmark starts it as a child process of its own): Hydra init + register_service, a
// hydra::http::Server with `GET /v1/bench/hello` → `{hello: "world"}`, served through
// hydra::http::Service on one io_context thread until SIGTERM.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "hydra/http/client.hpp"
#include "hydra/http/server.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using hydra::bench::cpu_model;
using hydra::bench::fail;
using hydra::bench::fmt;
using hydra::bench::info_field;
using hydra::bench::load_average;
using hydra::bench::machine_busy_seconds;
using hydra::bench::ms_between;
using hydra::bench::num;
using hydra::bench::percentile;
using hydra::bench::process_cpu_seconds;
using hydra::bench::r3;
using hydra::bench::run_workers;
using hydra::bench::rusage_seconds;
using hydra::bench::seconds_between;
using hydra::bench::thread_cpu_seconds;

constexpr long kCppCalls1 = 5000;      // C++ makeAPIRequest, 1 in flight
constexpr long kCppCallsMany = 20000;  // C++ makeAPIRequest, 16 and 100 in flight
constexpr long kCppToNodeCalls = 4000;
constexpr long kNodeCalls = 4000;  // per in-flight value, per Node client run
constexpr long kPlainCalls1 = 10000;
constexpr long kPlainCallsMany = 40000;
constexpr long kDefaultPoolCalls = 10000;
constexpr long kMicroIterations = 20000;
constexpr long kPairedRounds = 5000;
constexpr int kWrkSeconds = 3;
constexpr std::size_t kTunedPool = 128;
const int kInflight[] = {1, 16, 100};

const char* const kCppService = "cpp-http";
const char* const kNodeService = "node-express";
const char* const kCppRoute = "/v1/bench/hello";
const char* const kNodeRoute = "/v1/node/hello";

// CPU seconds of this process plus its waited-for children.
double own_cpu_seconds() {
  return rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN);
}

// Marks every descriptor above stderr close-on-exec and returns how many were inheritable. Asio's
// sockets (Redis and HTTP connections) are opened without SOCK_CLOEXEC, so a child would inherit
// them: wrk then finds its own descriptors numbered past its event-loop size (10 + 3 per
// connection) and counts the connections as failed connects. Called before every child start.
int g_inheritable_max = 0;

int close_on_exec_all() {
  int changed = 0;
  std::vector<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::atoi(entry.path().filename().c_str());
    if (fd > 2) fds.push_back(fd);
  }
  for (int fd : fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0)
      ++changed;
  }
  g_inheritable_max = std::max(g_inheritable_max, changed);
  return changed;
}

// Commands redis-server has processed so far (INFO stats total_commands_processed).
double redis_commands(const hydra::test::RedisServer& server) {
  std::istringstream info(server.cli({"INFO", "stats"}));
  std::string line;
  const std::string key = "total_commands_processed:";
  while (std::getline(info, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size()));
  }
  return 0;
}

std::string first_line(const std::string& text) {
  auto s = text.substr(0, text.find('\n'));
  while (!s.empty() && (s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------------------------
// The C++ HTTP service (child process mode)
// ---------------------------------------------------------------------------------------------

asio::awaitable<hydra::http::Response> hello(hydra::http::Request&) {
  json::object result;
  result["hello"] = "world";
  co_return hydra::http::Response::ok(std::move(result));
}

asio::awaitable<void> serve(hydra::Hydra& h, hydra::http::Server& server,
                            std::optional<hydra::http::Service>& service, json::value doc) {
  co_await h.init(std::move(doc));
  co_await h.register_service();
  service.emplace(h, server);
  co_await service->start();
  std::cout << "SERVE-READY " << server.port() << " " << h.instance_id() << std::endl;
  co_await service->run();
}

int run_serve(const std::string& url, const std::string& name) {
  asio::io_context io(1);
  hydra::Hydra h(io.get_executor());
  hydra::bench::print_log_errors(h, "serve");
  hydra::http::ServerOptions options;
  options.log = [](std::string_view text) { std::cerr << "serve: " << text << std::endl; };
  hydra::http::Server server(io.get_executor(), options);
  server.route("get", kCppRoute, hello);
  std::optional<hydra::http::Service> service;
  return hydra::bench::run_child(
      io, serve(h, server, service, hydra::bench::child_service_document(url, name)), "serve");
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

// CPU spent per request (µs); negative = not measured.
struct CpuShare {
  double client_us = -1, server_us = -1;
  double redis_commands = -1;  // Redis commands per request (all clients)
};

struct CallStats {
  std::string label;
  long count = 0;
  int inflight = 0;
  double seconds = 0, per_second = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  long errors = 0;
  CpuShare cpu;
  bool measured = false;
};

json::object to_json(const CallStats& s) {
  json::object o{{"count", s.count},         {"inflight", s.inflight},
                 {"seconds", r3(s.seconds)}, {"per_second", r3(s.per_second)},
                 {"p50_ms", r3(s.p50_ms)},   {"p99_ms", r3(s.p99_ms)},
                 {"max_ms", r3(s.max_ms)},   {"errors", s.errors}};
  if (s.cpu.client_us >= 0) o["client_cpu_us_per_req"] = r3(s.cpu.client_us);
  if (s.cpu.server_us >= 0) o["server_cpu_us_per_req"] = r3(s.cpu.server_us);
  if (s.cpu.redis_commands >= 0) o["redis_commands_per_req"] = r3(s.cpu.redis_commands);
  return o;
}

CallStats summarize(std::string label, long count, int inflight, double seconds,
                    std::vector<double> samples, long errors) {
  CallStats s;
  s.label = std::move(label);
  s.count = count;
  s.inflight = inflight;
  s.seconds = seconds;
  std::sort(samples.begin(), samples.end());
  s.per_second = static_cast<double>(samples.size()) / seconds;
  s.p50_ms = percentile(samples, 50);
  s.p99_ms = percentile(samples, 99);
  s.max_ms = samples.empty() ? 0 : samples.back();
  s.errors = errors;
  s.measured = true;
  return s;
}

// Measures client-thread and server-process CPU and Redis commands around `body`, per request.
template <class Body>
CallStats with_cpu(const hydra::test::RedisServer& redis, pid_t server_pid, Body body) {
  double r0 = redis_commands(redis);
  double c0 = thread_cpu_seconds(), s0 = process_cpu_seconds(server_pid);
  CallStats s = body();
  double c1 = thread_cpu_seconds(), s1 = process_cpu_seconds(server_pid);
  double r1 = redis_commands(redis);
  auto per = [&](double a, double b) { return (b - a) * 1e6 / static_cast<double>(s.count); };
  // The INFO call itself counts as one command.
  s.cpu = {per(c0, c1), per(s0, s1), (r1 - r0 - 1) / static_cast<double>(s.count)};
  return s;
}

// ---------------------------------------------------------------------------------------------
// makeAPIRequest from C++
// ---------------------------------------------------------------------------------------------

struct ApiRun {
  json::object umf;
  std::string expect_key;  // must be present in `result`
  long count = 0;
  long next = 0;
  long errors = 0;
  std::vector<double> samples;
};

bool good_response(const json::object& res, const std::string& expect_key) {
  const auto* code = res.if_contains("statusCode");
  if (!code || !code->is_int64() || code->get_int64() != 200) return false;
  const auto* result = res.if_contains("result");
  return result && result->is_object() && result->get_object().contains(expect_key);
}

asio::awaitable<void> api_worker(hydra::http::ApiClient& client, ApiRun& run) {
  while (run.next < run.count) {
    ++run.next;
    auto t0 = Clock::now();
    auto res = co_await client.make_api_request(run.umf);
    auto t1 = Clock::now();
    if (good_response(res, run.expect_key)) {
      run.samples.push_back(ms_between(t0, t1));
    } else {
      if (run.errors++ < 3) std::cerr << "makeAPIRequest: " << hydra::json::stringify(res) << "\n";
    }
  }
}

json::object api_message(const std::string& service, const std::string& route) {
  json::object m;
  m["to"] = service + ":[get]" + route;
  m["from"] = "cpp-http-bench:/";
  m["body"] = json::object();
  return m;
}

CallStats cpp_calls(asio::io_context& io, hydra::http::ApiClient& client, std::string label,
                    const json::object& umf, const std::string& expect_key, long count,
                    int inflight) {
  ApiRun run;
  run.umf = umf;
  run.expect_key = expect_key;
  run.count = count;
  run.samples.reserve(static_cast<std::size_t>(count));
  auto start = Clock::now();
  auto end = run_workers(io, inflight, [&](int) { return api_worker(client, run); });
  auto s = summarize(std::move(label), count, inflight, seconds_between(start, end),
                     std::move(run.samples), run.errors);
  if (run.errors) fail(s.label + ": " + std::to_string(run.errors) + " calls failed");
  return s;
}

// Until the service answers 200 through makeAPIRequest (its presence may not be visible yet).
asio::awaitable<bool> wait_answer(hydra::http::ApiClient& client, json::object umf,
                                  std::string expect_key) {
  auto executor = co_await asio::this_coro::executor;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto res = co_await client.make_api_request(umf);
    if (good_response(res, expect_key)) co_return true;
    asio::steady_timer pause(executor, 100ms);
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return false;
}

void cpp_warm_up(asio::io_context& io, hydra::http::ApiClient& client, const json::object& umf,
                 const std::string& expect_key) {
  if (!hydra::test::run_on(io, [&] { return wait_answer(client, umf, expect_key); }))
    fail("no answer through makeAPIRequest to " + hydra::json::stringify(umf.at("to")));
  ApiRun warm;
  warm.umf = umf;
  warm.expect_key = expect_key;
  warm.count = 2000;
  run_workers(io, 100, [&](int) { return api_worker(client, warm); });
  if (warm.errors) fail("warm-up calls failed");
}

// ---------------------------------------------------------------------------------------------
// The plain HTTP ceiling: keep-alive Beast connections, no Redis, no hydra
// ---------------------------------------------------------------------------------------------

struct PlainRun {
  long count = 0;
  long next = 0;
  long errors = 0;
  std::vector<double> samples;
  std::vector<std::unique_ptr<beast::tcp_stream>> streams;
  std::string target;
  // One raw response, kept for the per-call cost measurements and the report.
  std::optional<bhttp::response<bhttp::string_body>> sample;
};

asio::awaitable<void> plain_connect(tcp::endpoint endpoint, PlainRun& run, int index) {
  auto executor = co_await asio::this_coro::executor;
  auto stream = std::make_unique<beast::tcp_stream>(executor);
  co_await stream->async_connect(endpoint, asio::use_awaitable);
  stream->socket().set_option(tcp::no_delay(true));
  run.streams[static_cast<std::size_t>(index)] = std::move(stream);
}

asio::awaitable<void> plain_worker(PlainRun& run, int index) {
  beast::tcp_stream& stream = *run.streams[static_cast<std::size_t>(index)];
  bhttp::request<bhttp::empty_body> req(bhttp::verb::get, run.target, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  beast::flat_buffer buffer;
  while (run.next < run.count) {
    ++run.next;
    auto t0 = Clock::now();
    co_await bhttp::async_write(stream, req, asio::use_awaitable);
    bhttp::response<bhttp::string_body> res;
    co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
    auto t1 = Clock::now();
    if (res.result_int() == 200 && res.body().find("\"world\"") != std::string::npos) {
      run.samples.push_back(ms_between(t0, t1));
      if (!run.sample) run.sample = std::move(res);
    } else if (run.errors++ < 3) {
      std::cerr << "plain client: " << res.result_int() << " " << res.body() << "\n";
    }
  }
}

CallStats plain_calls(asio::io_context& io, std::uint16_t port, long count, int inflight,
                      std::optional<bhttp::response<bhttp::string_body>>* keep_sample = nullptr) {
  PlainRun run;
  run.count = count;
  run.target = kCppRoute;
  run.samples.reserve(static_cast<std::size_t>(count));
  run.streams.resize(static_cast<std::size_t>(inflight));
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  // Connections are opened before the clock starts.
  run_workers(io, inflight, [&](int w) { return plain_connect(endpoint, run, w); });
  auto start = Clock::now();
  auto end = run_workers(io, inflight, [&](int w) { return plain_worker(run, w); });
  auto s = summarize("plain Beast client", count, inflight, seconds_between(start, end),
                     std::move(run.samples), run.errors);
  if (keep_sample && run.sample) *keep_sample = std::move(run.sample);
  for (auto& stream : run.streams) {
    boost::system::error_code ec;
    stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream->socket().close(ec);
  }
  if (run.errors) fail("plain client: " + std::to_string(run.errors) + " calls failed");
  return s;
}

// ---------------------------------------------------------------------------------------------
// hydra's overhead: makeAPIRequest and the plain client alternating, one call at a time
// ---------------------------------------------------------------------------------------------

// Both clients take turns (plain first on even rounds, makeAPIRequest first on odd ones), so
// both see the same machine state; separate runs a second apart differ by more than the
// overhead on this VM, whose 1-in-flight latency depends on how fast an idle vCPU wakes up.
struct Paired {
  long rounds = 0;
  long errors = 0;
  std::vector<double> api_ms, plain_ms, diff_us;
};

asio::awaitable<double> paired_plain(beast::tcp_stream& stream,
                                     bhttp::request<bhttp::empty_body>& req,
                                     beast::flat_buffer& buffer, Paired& run) {
  auto t0 = Clock::now();
  co_await bhttp::async_write(stream, req, asio::use_awaitable);
  bhttp::response<bhttp::string_body> res;
  co_await bhttp::async_read(stream, buffer, res, asio::use_awaitable);
  auto t1 = Clock::now();
  if (res.result_int() != 200 || res.body().find("\"world\"") == std::string::npos) ++run.errors;
  co_return ms_between(t0, t1);
}

asio::awaitable<double> paired_api(hydra::http::ApiClient& client, const json::object& umf,
                                   Paired& run) {
  auto t0 = Clock::now();
  auto res = co_await client.make_api_request(umf);
  auto t1 = Clock::now();
  if (!good_response(res, "hello")) ++run.errors;
  co_return ms_between(t0, t1);
}

asio::awaitable<void> paired_worker(hydra::http::ApiClient& client, const json::object& umf,
                                    beast::tcp_stream& stream, std::string target, Paired& run) {
  bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  beast::flat_buffer buffer;
  for (long i = 0; i < run.rounds; ++i) {
    double plain = 0, api = 0;
    if (i % 2 == 0) {
      plain = co_await paired_plain(stream, req, buffer, run);
      api = co_await paired_api(client, umf, run);
    } else {
      api = co_await paired_api(client, umf, run);
      plain = co_await paired_plain(stream, req, buffer, run);
    }
    run.api_ms.push_back(api);
    run.plain_ms.push_back(plain);
    run.diff_us.push_back((api - plain) * 1000.0);
  }
}

struct Overhead {
  long rounds = 0;
  double api_p50_ms = 0, plain_p50_ms = 0, p50_difference_us = 0, median_pair_difference_us = 0;
};

Overhead paired_overhead(asio::io_context& io, hydra::http::ApiClient& client,
                         const json::object& umf, std::uint16_t port, long rounds) {
  PlainRun conn;
  conn.streams.resize(1);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  run_workers(io, 1, [&](int) { return plain_connect(endpoint, conn, 0); });
  Paired run;
  run.rounds = rounds;
  run_workers(io, 1, [&](int) {
    return paired_worker(client, umf, *conn.streams[0], std::string(kCppRoute), run);
  });
  if (run.errors) fail("paired overhead run: " + std::to_string(run.errors) + " calls failed");
  std::sort(run.api_ms.begin(), run.api_ms.end());
  std::sort(run.plain_ms.begin(), run.plain_ms.end());
  std::sort(run.diff_us.begin(), run.diff_us.end());
  Overhead o;
  o.rounds = rounds;
  o.api_p50_ms = percentile(run.api_ms, 50);
  o.plain_p50_ms = percentile(run.plain_ms, 50);
  o.p50_difference_us = (o.api_p50_ms - o.plain_p50_ms) * 1000.0;
  o.median_pair_difference_us = percentile(run.diff_us, 50);
  return o;
}

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

bool wrk_available() {
  return hydra::test::run_command({"sh", "-c", "command -v wrk"}, {}, 10s).first == 0;
}

// "123.45us" / "1.20ms" / "2.00s" → ms; -1 when not a duration.
double wrk_duration_ms(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return -1;
  }
  auto unit = text.substr(used);
  if (unit == "us") return v / 1000.0;
  if (unit == "ms") return v;
  if (unit == "s") return v * 1000.0;
  if (unit == "m") return v * 60000.0;
  return -1;
}

CallStats wrk_calls(const hydra::test::RedisServer& redis, std::uint16_t port, int connections,
                    pid_t server_pid) {
  std::vector<std::string> argv;
  argv.push_back("wrk");
  argv.push_back("-t1");
  argv.push_back("-c" + std::to_string(connections));
  argv.push_back("-d" + std::to_string(kWrkSeconds) + "s");
  argv.push_back("--latency");
  argv.push_back("http://127.0.0.1:" + std::to_string(port) + kCppRoute);
  close_on_exec_all();
  double r0 = redis_commands(redis);
  double s0 = process_cpu_seconds(server_pid);
  auto [status, out] =
      hydra::test::run_command(argv, {}, std::chrono::seconds(kWrkSeconds + 20), {});
  double s1 = process_cpu_seconds(server_pid);
  double r1 = redis_commands(redis);
  if (status != 0) fail("wrk failed (status " + std::to_string(status) + "): " + out);
  CallStats s;
  s.label = "wrk";
  s.inflight = connections;
  s.seconds = kWrkSeconds;
  std::istringstream lines(out);
  std::string line;
  bool in_distribution = false;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string w0, w1, w2;
    words >> w0 >> w1 >> w2;
    if (w0 == "Latency" && w1 == "Distribution") in_distribution = true;
    if (in_distribution && w0 == "50%") s.p50_ms = wrk_duration_ms(w1);
    if (in_distribution && w0 == "99%") {
      s.p99_ms = wrk_duration_ms(w1);
      in_distribution = false;
    }
    if (w0 == "Latency" && w1 != "Distribution") {
      // "Latency <avg> <stdev> <max> <+/- stdev>"
      std::string max;
      words >> max;
      s.max_ms = wrk_duration_ms(max);
    }
    if (w0 == "Requests/sec:") s.per_second = std::stod(w1);
    if (line.find("requests in") != std::string::npos) s.count = std::stol(w0);
    if (w0 == "Non-2xx" || w0 == "Socket") {
      s.errors += 1;
      std::cerr << "wrk: " << line << "\n";
    }
  }
  if (s.per_second <= 0 || s.p50_ms < 0 || s.p99_ms < 0) fail("cannot read wrk's output: " + out);
  if (s.errors) fail("wrk reported errors: " + out);
  s.cpu.server_us = s.count > 0 ? (s1 - s0) * 1e6 / static_cast<double>(s.count) : -1;
  s.cpu.redis_commands = s.count > 0 ? (r1 - r0 - 1) / static_cast<double>(s.count) : -1;
  s.measured = true;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------------------------

// One `bench-http.js` run: a CallStats per in-flight value. The server CPU of the whole run
// (start-up and warm-up included) is spread over its calls, so it is an upper bound.
std::vector<CallStats> node_calls(const hydra::test::RedisServer& redis, const std::string& label,
                                  const std::string& to, long count, pid_t server_pid) {
  std::string inflights;
  for (int k : kInflight)
    inflights += (inflights.empty() ? "" : ",") + std::to_string(k);
  std::vector<std::string> argv;
  argv.push_back("node");
  argv.push_back("bench-http.js");
  argv.push_back(to);
  argv.push_back(std::to_string(count));
  argv.push_back(inflights);
  std::map<std::string, std::string> env;
  env["HYDRA_TEST_REDIS_URL"] = redis.url();
  close_on_exec_all();
  double r0 = redis_commands(redis);
  double s0 = process_cpu_seconds(server_pid);
  auto [status, out] = hydra::test::run_command(argv, env, 150s, HYDRA_NODE_DIR);
  double s1 = process_cpu_seconds(server_pid);
  double r1 = redis_commands(redis);
  std::vector<CallStats> all;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("RESULT ", 0) != 0) continue;
    auto r = json::parse(line.substr(7)).as_object();
    CallStats s;
    s.label = label;
    s.count = static_cast<long>(num(r, "count"));
    s.inflight = static_cast<int>(num(r, "inflight"));
    s.seconds = num(r, "seconds");
    s.per_second = num(r, "per_second");
    s.p50_ms = num(r, "p50_ms");
    s.p99_ms = num(r, "p99_ms");
    s.max_ms = num(r, "max_ms");
    s.errors = static_cast<long>(num(r, "errors"));
    s.cpu.client_us = num(r, "cpu_us_per_req");
    s.measured = true;
    all.push_back(s);
  }
  if (status != 0 || all.size() != std::size(kInflight))
    fail("node bench-http.js " + to + " failed (status " + std::to_string(status) + "): " + out);
  long total = 0;
  for (const auto& s : all)
    total += s.count;
  for (auto& s : all) {
    s.cpu.server_us = (s1 - s0) * 1e6 / static_cast<double>(total);
    s.cpu.redis_commands = (r1 - r0 - 1) / static_cast<double>(total);
  }
  for (const auto& s : all)
    if (s.errors) fail(label + ": " + std::to_string(s.errors) + " calls failed");
  return all;
}

// ---------------------------------------------------------------------------------------------
// What one C++ call does besides the HTTP exchange, timed piece by piece on the client thread
// ---------------------------------------------------------------------------------------------

struct Pieces {
  double prepare_us = 0;   // prepare_request: UMF create + validate + route parse + headers
  double presence_us = 0;  // get_service_presence, served from the 1 s cache
  double response_us = 0;  // response_object: headers to JSON, body parse, envelope merge
  std::size_t response_bytes = 0;
  std::size_t response_headers = 0;
};

asio::awaitable<double> time_presence(hydra::Hydra& h, std::string service, long n) {
  std::size_t found = 0;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    auto list = co_await h.get_service_presence(service);
    found += list.size();
  }
  auto t1 = Clock::now();
  if (found != static_cast<std::size_t>(n)) fail("presence lookups did not find the service");
  co_return std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(n);
}

Pieces measure_pieces(asio::io_context& io, hydra::Hydra& h, const json::object& umf,
                      const bhttp::response<bhttp::string_body>& sample) {
  Pieces p;
  hydra::http::RequestOptions options;
  std::size_t sink = 0;
  auto t0 = Clock::now();
  for (long i = 0; i < kMicroIterations; ++i) {
    auto prepared = hydra::http::prepare_request(umf, options);
    sink += prepared.index();
  }
  auto t1 = Clock::now();
  p.prepare_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kMicroIterations;

  p.presence_us = hydra::test::run_on(
      io, [&] { return time_presence(h, kCppService, kMicroIterations); }, 30s);

  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& f : sample)
    headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  t0 = Clock::now();
  for (long i = 0; i < kMicroIterations; ++i) {
    auto o = hydra::http::response_object(200, headers, sample.body());
    sink += o.size();
  }
  t1 = Clock::now();
  p.response_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kMicroIterations;
  std::ostringstream raw;
  raw << sample;
  p.response_bytes = raw.str().size();
  p.response_headers = headers.size();
  if (sink == 0) std::cerr << "";
  return p;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

void row(const CallStats& s) {
  auto cpu = [](double v) { return v >= 0 ? fmt(v, 1) : std::string("-"); };
  std::string cmds = s.cpu.redis_commands >= 0 ? fmt(s.cpu.redis_commands, 2) : "-";
  std::printf("  %-34s %5d %7ld %10s %8s %8s %8s %8s %8s %7s\n", s.label.c_str(), s.inflight,
              s.count, fmt(s.per_second, 0).c_str(), fmt(s.p50_ms).c_str(), fmt(s.p99_ms).c_str(),
              fmt(s.max_ms).c_str(), cpu(s.cpu.client_us).c_str(), cpu(s.cpu.server_us).c_str(),
              cmds.c_str());
}

json::array to_json(const std::vector<CallStats>& all) {
  json::array a;
  for (const auto& s : all)
    a.push_back(to_json(s));
  return a;
}

asio::awaitable<void> start_consumer(hydra::Hydra& h, json::value doc) {
  co_await h.init(std::move(doc));
}

asio::awaitable<void> stop_consumer(hydra::Hydra& h) {
  co_await h.shutdown();
}

}  // namespace

int run() {
  if (!hydra::test::node_available())
    fail("node or tests/interop/node/node_modules missing; run scripts/setup.sh");
  auto bench_start = Clock::now();

  hydra::test::RedisServer redis;
  std::string redis_version = info_field(redis, "redis_version");
  unsigned cores = std::thread::hardware_concurrency();
  std::string cpu = cpu_model();
  std::string node_version = first_line(hydra::test::run_command({"node", "--version"}).second);
  bool have_wrk = wrk_available();
  std::string wrk_version =
      have_wrk ? first_line(hydra::test::run_command({"wrk", "-v"}, {}, 10s).second) : "";
  std::string load = load_average();
  const double busy_start = machine_busy_seconds();
  const double own_start = own_cpu_seconds();
  std::printf(
      "hydra-cpp HTTP (makeAPIRequest) benchmark\n  machine: %u cores, %s; redis-server %s; node "
      "%s; %s; build: %s\n  load average at start: %s\n",
      cores, cpu.c_str(), redis_version.c_str(), node_version.c_str(),
      have_wrk ? wrk_version.c_str() : "wrk not installed", hydra::bench::build_kind().c_str(),
      load.c_str());
  std::fflush(stdout);

  // The two services: the C++ one in a process of its own, hydra-express.
  auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  hydra::test::Process cpp_server({self, "--serve", redis.url(), kCppService}, {}, false);
  auto ready = cpp_server.wait_for_line("SERVE-READY ", 20s);
  if (!ready) fail("the C++ HTTP service did not start");
  auto cpp_port = static_cast<std::uint16_t>(std::stoul(ready->substr(ready->find(' ') + 1)));
  hydra::test::ExpressPeer node_server(redis, kNodeService);

  // The C++ client: one Hydra (initialised, not registered) and ApiClients on this thread.
  asio::io_context io(1);
  hydra::Hydra client_hydra(io.get_executor());
  client_hydra.on_log([](const json::object& entry) {
    const auto* type = entry.if_contains("type");
    if (type && type->is_string() && type->get_string() == "error")
      std::cerr << "client: " << hydra::json::stringify(entry) << std::endl;
  });
  hydra::test::run_on(io, [&] {
    return start_consumer(client_hydra, hydra::test::service_document(redis, "cpp-http-bench"));
  });
  // Node's agent (Node 20's default, keep-alive) keeps up to 256 idle sockets; the C++ pool keeps
  // 8 per instance by default, so 100 in flight would close and reopen connections. The main
  // rows use a pool as large as the in-flight count; "default pool" shows the default.
  hydra::http::ClientOptions tuned;
  tuned.max_idle_per_instance = kTunedPool;
  hydra::http::ApiClient client(client_hydra, tuned);
  auto to_cpp = api_message(kCppService, kCppRoute);
  auto to_node = api_message(kNodeService, kNodeRoute);
  const pid_t cpp_pid = cpp_server.pid();
  const pid_t node_pid = node_server.pid();
  const pid_t redis_pid = static_cast<pid_t>(std::stol(info_field(redis, "process_id")));

  // 1. C++ makeAPIRequest → C++ service.
  cpp_warm_up(io, client, to_cpp, "hello");
  std::vector<CallStats> cpp;
  for (int k : kInflight) {
    cpp.push_back(with_cpu(redis, cpp_pid, [&] {
      return cpp_calls(io, client, "C++  -> C++ service", to_cpp, "hello",
                       k == 1 ? kCppCalls1 : kCppCallsMany, k);
    }));
  }
  auto cpp_stats = client.stats();

  // 2. The plain ceiling against the same route.
  std::optional<bhttp::response<bhttp::string_body>> sample;
  plain_calls(io, cpp_port, 2000, 16, &sample);  // warm-up
  std::vector<CallStats> plain;
  for (int k : kInflight) {
    plain.push_back(with_cpu(redis, cpp_pid, [&] {
      return plain_calls(io, cpp_port, k == 1 ? kPlainCalls1 : kPlainCallsMany, k);
    }));
  }
  if (!sample) fail("no sample response");
  Pieces pieces = measure_pieces(io, client_hydra, to_cpp, *sample);
  Overhead overhead = paired_overhead(io, client, to_cpp, cpp_port, kPairedRounds);

  // 3. Node makeAPIRequest → hydra-express, and the cross pairs.
  auto node = node_calls(redis, "Node -> Node express", to_node.at("to").as_string().c_str(),
                         kNodeCalls, node_pid);
  auto node_cpp = node_calls(redis, "Node -> C++ service", to_cpp.at("to").as_string().c_str(),
                             kNodeCalls, cpp_pid);
  cpp_warm_up(io, client, to_node, "greeting");
  std::vector<CallStats> cpp_node;
  for (int k : kInflight) {
    cpp_node.push_back(with_cpu(redis, node_pid, [&] {
      return cpp_calls(io, client, "C++  -> Node express", to_node, "greeting", kCppToNodeCalls, k);
    }));
  }

  // 4. The C++ service alone under wrk.
  std::vector<CallStats> wrk;
  if (have_wrk) {
    for (int k : kInflight)
      wrk.push_back(wrk_calls(redis, cpp_port, k, cpp_pid));
  }

  // 5. The default client pool (8 idle connections per instance) with 100 in flight.
  hydra::http::ApiClient default_client(client_hydra);
  cpp_warm_up(io, default_client, to_cpp, "hello");
  auto before_default = default_client.stats();
  CallStats cpp_default = with_cpu(redis, cpp_pid, [&] {
    return cpp_calls(io, default_client, "C++  -> C++ (default pool of 8)", to_cpp, "hello",
                     kDefaultPoolCalls, 100);
  });
  auto after_default = default_client.stats();

  hydra::test::run_on(io, [&] { return stop_consumer(client_hydra); });
  cpp_server.signal(SIGTERM);
  auto exit_status = cpp_server.wait(15s);
  if (!exit_status || *exit_status != 0)
    fail("the C++ HTTP service did not stop cleanly: " + cpp_server.output(1s));
  double total_seconds = seconds_between(bench_start, Clock::now());
  // Busy CPU time of the whole machine during the run (/proc/stat, tick-sampled) next to that of
  // this benchmark's processes (exact; the C++ service has been waited for, so it is among the
  // children; Redis and hydra-express are read from /proc). Far apart means something else ran.
  double machine_cpu = machine_busy_seconds() - busy_start;
  double bench_cpu = (own_cpu_seconds() - own_start) + process_cpu_seconds(redis_pid) +
                     process_cpu_seconds(node_pid);
  std::string load_end = load_average();

  // Report.
  std::printf(
      "\nmakeAPIRequest and plain HTTP, GET of a {hello|greeting} route (%zu-byte C++ "
      "response, %zu header fields)\n",
      pieces.response_bytes, pieces.response_headers);
  std::printf("  %-34s %5s %7s %10s %8s %8s %8s %8s %8s %7s\n", "", "infl", "count", "req/s",
              "p50 ms", "p99 ms", "max ms", "cli us", "srv us", "redis");
  for (std::size_t i = 0; i < std::size(kInflight); ++i) {
    row(cpp[i]);
    row(node[i]);
    row(node_cpp[i]);
    row(cpp_node[i]);
    row(plain[i]);
    if (have_wrk) row(wrk[i]);
  }
  row(cpp_default);
  std::printf(
      "  (cli/srv us = CPU per request of the client thread or process / the server process;\n"
      "   redis = Redis commands per request, all clients; Node rows: server CPU and Redis\n"
      "   commands include the Node client's start-up and warm-up)\n");
  std::printf(
      "  C++ client connections: %lu opened, %lu reused (tuned pool); default pool at 100 "
      "in flight: %lu opened for %ld calls\n",
      cpp_stats.connections_opened, cpp_stats.connections_reused,
      after_default.connections_opened - before_default.connections_opened, kDefaultPoolCalls);

  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("\n");
  for (std::size_t i = 0; i < std::size(kInflight); ++i) {
    std::printf(
        "  %3d in flight: C++/Node %sx req/s; C++ makeAPIRequest = %s%% of plain Beast%s\n",
        kInflight[i], fmt(ratio(cpp[i].per_second, node[i].per_second), 1).c_str(),
        fmt(ratio(cpp[i].per_second, plain[i].per_second) * 100.0, 0).c_str(),
        have_wrk ? (", " + fmt(ratio(cpp[i].per_second, wrk[i].per_second) * 100.0, 0) + "% of wrk")
                       .c_str()
                 : "");
  }
  double separate_us = (cpp[0].p50_ms - plain[0].p50_ms) * 1000.0;
  double overhead_us = overhead.p50_difference_us;
  std::printf(
      "\nhydra per-call overhead, 1 in flight, %ld alternating pairs: makeAPIRequest p50 %s ms - "
      "plain p50 %s ms = %s us (median pair difference %s us; from the separate rows above: %s "
      "us)\n",
      overhead.rounds, fmt(overhead.api_p50_ms).c_str(), fmt(overhead.plain_p50_ms).c_str(),
      fmt(overhead_us, 1).c_str(), fmt(overhead.median_pair_difference_us, 1).c_str(),
      fmt(separate_us, 1).c_str());
  std::printf("  client CPU per call: makeAPIRequest %s us, plain %s us (difference %s us)\n",
              fmt(cpp[0].cpu.client_us, 1).c_str(), fmt(plain[0].cpu.client_us, 1).c_str(),
              fmt(cpp[0].cpu.client_us - plain[0].cpu.client_us, 1).c_str());
  std::printf(
      "  pieces (client thread, us per call): prepare_request %s, cached presence %s, "
      "response_object %s\n",
      fmt(pieces.prepare_us, 2).c_str(), fmt(pieces.presence_us, 2).c_str(),
      fmt(pieces.response_us, 2).c_str());

  bool aim_5x = cpp[2].per_second >= 5.0 * node[2].per_second;
  bool aim_p99 = true;
  for (const auto& s : cpp)
    aim_p99 = aim_p99 && s.p99_ms < 5.0;
  bool aim_overhead = overhead_us < 50.0;
  auto met = [](bool b) { return b ? "met" : "NOT met"; };
  std::printf("\nAims\n");
  std::printf("  >= 5x Node with 100 in flight:                %s (%sx)\n", met(aim_5x),
              fmt(ratio(cpp[2].per_second, node[2].per_second), 1).c_str());
  std::printf("  C++ p99 under 5 ms (1/16/100 in flight):      %s (%s / %s / %s ms)\n",
              met(aim_p99), fmt(cpp[0].p99_ms).c_str(), fmt(cpp[1].p99_ms).c_str(),
              fmt(cpp[2].p99_ms).c_str());
  std::printf("  hydra overhead under 50 us per call:          %s (%s us)\n", met(aim_overhead),
              fmt(overhead_us, 1).c_str());
  std::printf(
      "  whole run: %s s; load average at the end: %s; busy CPU of the machine %s s, of this "
      "benchmark's processes %s s\n",
      fmt(total_seconds, 1).c_str(), load_end.c_str(), fmt(machine_cpu, 1).c_str(),
      fmt(bench_cpu, 1).c_str());

  json::object result{
      {"machine",
       {{"cores", cores},
        {"cpu", cpu},
        {"redis_version", redis_version},
        {"node_version", node_version},
        {"wrk", wrk_version},
        {"load_average_at_start", load},
        {"load_average_at_end", load_end},
        {"machine_busy_cpu_seconds", r3(machine_cpu)},
        {"benchmark_cpu_seconds", r3(bench_cpu)}}},
      {"response_bytes", pieces.response_bytes},
      {"inheritable_fds_max", g_inheritable_max},
      {"cpp_to_cpp", to_json(cpp)},
      {"node_to_node", to_json(node)},
      {"node_to_cpp", to_json(node_cpp)},
      {"cpp_to_node", to_json(cpp_node)},
      {"plain_beast", to_json(plain)},
      {"wrk", to_json(wrk)},
      {"cpp_default_pool_100", to_json(cpp_default)},
      {"client_connections",
       {{"tuned_opened", cpp_stats.connections_opened},
        {"tuned_reused", cpp_stats.connections_reused},
        {"default_pool_opened",
         after_default.connections_opened - before_default.connections_opened}}},
      {"overhead",
       {{"paired_rounds", overhead.rounds},
        {"paired_api_p50_ms", r3(overhead.api_p50_ms)},
        {"paired_plain_p50_ms", r3(overhead.plain_p50_ms)},
        {"p50_difference_us", r3(overhead_us)},
        {"median_pair_difference_us", r3(overhead.median_pair_difference_us)},
        {"separate_runs_p50_difference_us", r3(separate_us)},
        {"client_cpu_difference_us", r3(cpp[0].cpu.client_us - plain[0].cpu.client_us)},
        {"prepare_request_us", r3(pieces.prepare_us)},
        {"cached_presence_us", r3(pieces.presence_us)},
        {"response_object_us", r3(pieces.response_us)}}},
      {"aims",
       {{"five_times_node_100", aim_5x},
        {"p99_under_5ms", aim_p99},
        {"overhead_under_50us", aim_overhead}}},
      {"seconds", r3(total_seconds)}};
  std::printf("BENCH_JSON %s\n", hydra::json::stringify(result).c_str());
  std::fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::string(argv[1]) == "--serve") return run_serve(argv[2], argv[3]);
    return run();
  } catch (const std::exception& e) {
    std::cerr << "http_bench: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
