// router_bench: what hydra-router costs. `GET /v1/hello/greeting` of one examples/hello-service
// instance, called directly on the service's port and through hydra-router (which proxies it by
// the routes the service registered in Redis), with 1, 16 and 64 keep-alive connections. One
// private redis-server, one service, one router process per measured thread count, one run.
//
// Two load generators, each against every target in turn:
//  - a closed-loop Beast client on this process's main thread: each connection sends its next
//    request when the previous answer has arrived, and every latency is kept;
//  - wrk (when installed), which costs less CPU per request and so leaves more of the two cores
//    to the router and the service.
// A paired run with one connection to each side alternates direct and routed calls, so both see
// the same machine state; its p50 difference is the latency the router adds.
//
// Usage: router_bench [--threads 1,2] [--busy-poll 0,200] [--seconds 3]
//   --threads    the router I/O thread counts to measure (default 1)
//   --busy-poll  the router busy-polling windows in µs to measure (default 0,200; 0 = off);
//                one router process for each pair of the two lists
//   --seconds    how long each measured row runs (default 3)
//
// Prints a table and a final `BENCH_JSON {...}` line. Exits non-zero when a process does not
// start or stop cleanly, or when any call answers anything but 200 with the greeting.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hello_service.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/router_process.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// fail, fmt, r3, percentile, run_workers, the CPU and time readers, machine facts.
using namespace hydra::bench;

const int kConnections[] = {1, 16, 64};
constexpr long kPairs = 3000;                  // alternating direct/routed calls, 1 connection each
constexpr auto kWarmUp = 1000ms;               // 16 connections per target before measuring
constexpr double kAddedAimUs = 100.0;          // the router adds under 100 us at p50
constexpr double kNodeApiRequestsPerS = 6200;  // Node makeAPIRequest on this machine
constexpr double kThroughputAim = 5 * kNodeApiRequestsPerS;
const char* const kPath = "/v1/hello/greeting";
const char* const kGreeting = "Welcome to Hydra!";

// ---------------------------------------------------------------------------------------------
// Accounting: CPU of the machine and of the benchmark's processes, closed service connections
// ---------------------------------------------------------------------------------------------

// TCP connections in TIME_WAIT with `port` at either end (/proc/net/tcp), as "local remote"
// keys. A closed connection leaves one such entry for 60 s on the side that closed first, so the
// entries new after a row are the connections to the service closed during it.
std::set<std::string> time_wait_entries(std::uint16_t port) {
  std::set<std::string> entries;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // column titles
  auto port_of = [](const std::string& address) {
    return std::strtoul(address.c_str() + address.find(':') + 1, nullptr, 16);
  };
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string slot, local, remote, state;
    words >> slot >> local >> remote >> state;
    if (state == "06" && (port_of(local) == port || port_of(remote) == port))
      entries.insert(local + " " + remote);
  }
  return entries;
}

// The processes whose CPU time counts as the benchmark's own (besides this one and the children
// it waits for).
struct Processes {
  pid_t redis = -1;
  pid_t service = -1;
  std::vector<pid_t> routers;
};

struct Snapshot {
  double machine = 0;   // whole machine, non-idle
  double ours = 0;      // this process, waited-for children, redis, service, routers
  double children = 0;  // waited-for children (wrk)
  double router = 0;    // the router being measured
  double service = 0;
  std::set<std::string> time_wait;
};

Snapshot take_snapshot(const Processes& procs, pid_t router, std::uint16_t service_port) {
  Snapshot s;
  s.time_wait = time_wait_entries(service_port);
  s.children = rusage_seconds(RUSAGE_CHILDREN);
  s.ours = rusage_seconds(RUSAGE_SELF) + s.children;
  s.service = process_cpu_seconds(procs.service);
  s.ours += s.service + process_cpu_seconds(procs.redis);
  for (pid_t pid : procs.routers) {
    const double cpu = process_cpu_seconds(pid);
    s.ours += cpu;
    if (pid == router) s.router = cpu;
  }
  s.machine = machine_busy_seconds();
  return s;
}

// ---------------------------------------------------------------------------------------------
// Targets and result rows
// ---------------------------------------------------------------------------------------------

struct Target {
  std::string name;  // "direct" or "router, N thread(s)[, bp N]"
  int threads = 0;   // 0 = the service itself
  int busy_poll_us = 0;
  std::uint16_t port = 0;
  pid_t router_pid = -1;
};

struct Row {
  std::string client;  // "beast" or "wrk"
  std::string target;
  int threads = 0;
  int busy_poll_us = 0;
  int connections = 0;
  long requests = 0;
  double seconds = 0, per_second = 0, p50_ms = 0, p99_ms = 0, max_ms = 0;
  double added_p50_us = 0;  // router rows: p50 minus the direct row's p50 (same client, conns)
  double client_us = -1, router_us = -1, service_us = -1;  // CPU per request
  double closed_per_1k = -1;  // router rows: router→service connections closed per 1000 requests
  double other_cpu_pct = 0;   // machine CPU used by anything else, % of all cores
};

// A row of `client` against `target`, before its figures are filled in.
Row row_for(const char* client, const Target& target, int connections) {
  Row row;
  row.client = client;
  row.target = target.name;
  row.threads = target.threads;
  row.busy_poll_us = target.busy_poll_us;
  row.connections = connections;
  return row;
}

// Fills the per-request CPU figures and the noise estimate of `row` from two snapshots.
void account(Row& row, const Target& target, const Snapshot& a, const Snapshot& b,
             double client_cpu) {
  const auto n = static_cast<double>(std::max(1L, row.requests));
  row.client_us = client_cpu * 1e6 / n;
  row.service_us = (b.service - a.service) * 1e6 / n;
  if (target.threads > 0) {
    row.router_us = (b.router - a.router) * 1e6 / n;
    long closed = 0;
    for (const auto& entry : b.time_wait)
      closed += a.time_wait.count(entry) ? 0 : 1;
    row.closed_per_1k = static_cast<double>(closed) * 1000.0 / n;
  }
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  const double other = (b.machine - a.machine) - (b.ours - a.ours);
  row.other_cpu_pct = std::max(0.0, other) * 100.0 / (row.seconds * cores);
}

// ---------------------------------------------------------------------------------------------
// The Beast client: keep-alive connections, one request in flight on each
// ---------------------------------------------------------------------------------------------

class Connection {
 public:
  explicit Connection(const asio::any_io_executor& executor) : stream_(executor) {
    request_.method(bhttp::verb::get);
    request_.target(kPath);
    request_.version(11);
    request_.set(bhttp::field::host, "127.0.0.1");
  }

  asio::awaitable<void> open(std::uint16_t port) {
    auto& socket = stream_.socket();
    socket.open(tcp::v4());
    // wrk, started later by this process, must not inherit it.
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    co_await stream_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port),
                                   asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
  }

  /// One GET; true when the answer is 200 with the greeting in its body.
  asio::awaitable<bool> get() {
    co_await bhttp::async_write(stream_, request_, asio::use_awaitable);
    bhttp::response<bhttp::string_body> response;
    co_await bhttp::async_read(stream_, buffer_, response, asio::use_awaitable);
    status_ = response.result_int();
    co_return status_ == 200 && response.body().find(kGreeting) != std::string::npos;
  }

  unsigned last_status() const { return status_; }

  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> request_;
  unsigned status_ = 0;
};

using Connections = std::vector<std::unique_ptr<Connection>>;

Connections connect_all(asio::io_context& io, std::uint16_t port, int count) {
  Connections all;
  for (int i = 0; i < count; ++i)
    all.push_back(std::make_unique<Connection>(io.get_executor()));
  run_workers(
      io, count, [&](int i) { return all[static_cast<std::size_t>(i)]->open(port); }, 10s);
  return all;
}

void close_all(Connections& all) {
  for (auto& c : all)
    c->close();
}

struct Load {
  Clock::time_point until;
  std::vector<double> latencies_ms;
  long bad = 0;
  unsigned bad_status = 0;
};

asio::awaitable<void> keep_calling(Connection& connection, Load& load) {
  do {
    const auto sent = Clock::now();
    const bool good = co_await connection.get();
    const auto answered = Clock::now();
    if (good) {
      load.latencies_ms.push_back(ms_between(sent, answered));
    } else {
      ++load.bad;
      load.bad_status = connection.last_status();
    }
  } while (Clock::now() < load.until);
}

// Runs `connections` closed loops against `target` for `duration`; the row's figures.
Row beast_row(asio::io_context& io, const Target& target, int connections,
              std::chrono::milliseconds duration, const Processes& procs,
              std::uint16_t service_port) {
  Connections conns = connect_all(io, target.port, connections);
  Load load;
  load.latencies_ms.reserve(200000);
  const Snapshot before = take_snapshot(procs, target.router_pid, service_port);
  const double cpu0 = thread_cpu_seconds();
  const auto start = Clock::now();
  load.until = start + duration;
  const auto end = run_workers(io, connections, [&](int i) {
    return keep_calling(*conns[static_cast<std::size_t>(i)], load);
  });
  const double cpu1 = thread_cpu_seconds();
  const Snapshot after = take_snapshot(procs, target.router_pid, service_port);
  close_all(conns);
  if (load.bad > 0)
    fail(target.name + ", " + std::to_string(connections) + " connections: " +
         std::to_string(load.bad) + " calls did not answer 200 with the greeting (last status " +
         std::to_string(load.bad_status) + ")");

  Row row = row_for("beast", target, connections);
  row.seconds = seconds_between(start, end);
  auto& ms = load.latencies_ms;
  std::sort(ms.begin(), ms.end());
  row.requests = static_cast<long>(ms.size());
  row.per_second = static_cast<double>(ms.size()) / row.seconds;
  row.p50_ms = percentile(ms, 50);
  row.p99_ms = percentile(ms, 99);
  row.max_ms = ms.empty() ? 0 : ms.back();
  account(row, target, before, after, cpu1 - cpu0);
  return row;
}

// Until `port` answers the greeting (the router may not have the route yet), at most `limit`.
bool answers(asio::io_context& io, std::uint16_t port, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    try {
      Connections one = connect_all(io, port, 1);
      const bool good = hydra::test::run_on(
          io, [&] { return one[0]->get(); }, 5s);
      close_all(one);
      if (good) return true;
    } catch (const std::exception&) {
      // Not listening yet, or the connection was closed: try again.
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

// A wrk duration ("482.00us", "1.04ms", "2.00s", "1.50m") in milliseconds.
double wrk_ms(const std::string& text) {
  struct Unit {
    std::string_view suffix;
    double ms;
  };
  // "us" and "ms" before "s"; "m" alone last.
  static const Unit units[] = {{"us", 1e-3}, {"ms", 1.0}, {"s", 1e3}, {"m", 6e4}};
  const std::string_view view(text);
  for (const auto& unit : units) {
    if (view.size() > unit.suffix.size() && view.ends_with(unit.suffix))
      return std::stod(std::string(view.substr(0, view.size() - unit.suffix.size()))) * unit.ms;
  }
  fail("not a wrk duration: " + text);
}

Row wrk_row(const Target& target, int connections, int seconds, const Processes& procs,
            std::uint16_t service_port) {
  const std::string url = "http://127.0.0.1:" + std::to_string(target.port) + kPath;
  const std::vector<std::string> argv = {
      "wrk",       "-t1", "-c" + std::to_string(connections), "-d" + std::to_string(seconds) + "s",
      "--latency", url};
  const Snapshot before = take_snapshot(procs, target.router_pid, service_port);
  auto [status, out] = hydra::test::run_command(argv, {}, std::chrono::seconds(seconds + 30));
  const Snapshot after = take_snapshot(procs, target.router_pid, service_port);
  if (status != 0) fail("wrk failed (status " + std::to_string(status) + "): " + out);

  Row row = row_for("wrk", target, connections);
  // Walk the words of the report: "50% <d>", "99% <d>", "Latency <avg> <stdev> <max>",
  // "<n> requests in <t>s,", "Requests/sec: <r>"; any error line fails the row.
  std::istringstream in(out);
  std::vector<std::string> words;
  for (std::string w; in >> w;)
    words.push_back(w);
  bool have_p50 = false, have_p99 = false;
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    const std::string& w = words[i];
    const std::string& next = words[i + 1];
    if (w == "Non-2xx" || (w == "Socket" && next == "errors:"))
      fail("wrk against " + target.name + " reported errors: " + out);
    if (w == "50%") {
      row.p50_ms = wrk_ms(next);
      have_p50 = true;
    } else if (w == "99%") {
      row.p99_ms = wrk_ms(next);
      have_p99 = true;
    } else if (w == "Latency" && next != "Distribution" && i + 3 < words.size()) {
      row.max_ms = wrk_ms(words[i + 3]);
    } else if (w == "requests" && next == "in" && i > 0 && i + 2 < words.size()) {
      row.requests = std::stol(words[i - 1]);
      row.seconds = wrk_ms(words[i + 2].substr(0, words[i + 2].find(','))) / 1000.0;
    } else if (w == "Requests/sec:") {
      row.per_second = std::stod(next);
    }
  }
  if (!have_p50 || !have_p99 || row.requests <= 0 || row.per_second <= 0 || row.seconds <= 0)
    fail("cannot read wrk's report: " + out);
  account(row, target, before, after, after.children - before.children);
  return row;
}

bool wrk_installed() {
  return hydra::test::run_command({"sh", "-c", "command -v wrk"}, {}, 10s).first == 0;
}

// ---------------------------------------------------------------------------------------------
// The latency the router adds, direct and routed calls alternating on one connection each
// ---------------------------------------------------------------------------------------------

struct Paired {
  std::string target;
  int threads = 0;
  int busy_poll_us = 0;
  long pairs = 0;
  double direct_p50_ms = 0, routed_p50_ms = 0;
  double added_us = 0;              // routed p50 - direct p50
  double median_difference_us = 0;  // median over pairs of (routed - direct)
};

asio::awaitable<void> alternate(Connection& direct, Connection& routed, long pairs,
                                std::vector<double>& direct_ms, std::vector<double>& routed_ms,
                                long& bad) {
  for (long i = 0; i < pairs; ++i) {
    // The side that goes first alternates, so neither always inherits the other's wake-ups.
    Connection* first = (i % 2 == 0) ? &direct : &routed;
    Connection* second = (first == &direct) ? &routed : &direct;
    for (Connection* c : {first, second}) {
      const auto t0 = Clock::now();
      const bool good = co_await c->get();
      const double ms = ms_between(t0, Clock::now());
      if (!good) ++bad;
      (c == &direct ? direct_ms : routed_ms).push_back(ms);
    }
  }
}

Paired paired_run(asio::io_context& io, const Target& direct, const Target& routed, long pairs) {
  Connections d = connect_all(io, direct.port, 1);
  Connections r = connect_all(io, routed.port, 1);
  std::vector<double> direct_ms, routed_ms;
  direct_ms.reserve(static_cast<std::size_t>(pairs));
  routed_ms.reserve(static_cast<std::size_t>(pairs));
  long bad = 0;
  hydra::test::run_on(
      io, [&] { return alternate(*d[0], *r[0], pairs, direct_ms, routed_ms, bad); }, 120s);
  close_all(d);
  close_all(r);
  if (bad > 0) fail("paired run: " + std::to_string(bad) + " calls failed");
  std::vector<double> differences_us;
  for (std::size_t i = 0; i < direct_ms.size(); ++i)
    differences_us.push_back((routed_ms[i] - direct_ms[i]) * 1000.0);
  std::sort(direct_ms.begin(), direct_ms.end());
  std::sort(routed_ms.begin(), routed_ms.end());
  std::sort(differences_us.begin(), differences_us.end());
  Paired p;
  p.target = routed.name;
  p.threads = routed.threads;
  p.busy_poll_us = routed.busy_poll_us;
  p.pairs = pairs;
  p.direct_p50_ms = percentile(direct_ms, 50);
  p.routed_p50_ms = percentile(routed_ms, 50);
  p.added_us = (p.routed_p50_ms - p.direct_p50_ms) * 1000.0;
  p.median_difference_us = percentile(differences_us, 50);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

// "router, 1 thread", "router, 2 threads, bp 100" (busy-polling 100 µs).
std::string router_label(int threads, int busy_poll_us) {
  return "router, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads") +
         (busy_poll_us > 0 ? ", bp " + std::to_string(busy_poll_us) : "");
}

struct RouterUnderTest {
  int threads = 0;
  int busy_poll_us = 0;
  std::unique_ptr<hydra::test::Process> process;
  std::uint16_t port = 0;
};

RouterUnderTest launch_router(const hydra::test::RedisServer& redis, int threads,
                              int busy_poll_us) {
  const std::string config = redis.dir() + "/router-bench-" + std::to_string(threads) + "-" +
                             std::to_string(busy_poll_us) + ".json";
  json::object h{{"serviceName", "hydra-router"},
                 {"serviceIP", "127.0.0.1"},
                 {"servicePort", 0},
                 {"redis", json::object{{"url", redis.url()}}}};
  std::ofstream(config, std::ios::binary) << hydra::json::stringify(json::object{{"hydra", h}});
  RouterUnderTest r;
  r.threads = threads;
  r.busy_poll_us = busy_poll_us;
  r.process = std::make_unique<hydra::test::Process>(
      std::vector<std::string>{hydra::test::router_binary(), "--config", config, "--threads",
                               std::to_string(threads), "--busy-poll-us",
                               std::to_string(busy_poll_us)},
      std::map<std::string, std::string>{}, true);
  // "hydra-router <version> instance <iid> listening on port <n>"
  auto ready = r.process->wait_for_line(" listening on port ", 20s);
  if (!ready)
    fail(router_label(threads, busy_poll_us) + " did not start: " + r.process->output(500ms));
  r.port = static_cast<std::uint16_t>(std::stoi(ready->substr(ready->rfind(' ') + 1)));
  return r;
}

// The port hello-service registered (its hydra:service:nodes entry).
std::uint16_t registered_port(const hydra::test::RedisServer& redis, const std::string& iid) {
  const std::string entry = redis.cli({"HGET", "hydra:service:nodes", iid});
  try {
    return static_cast<std::uint16_t>(json::parse(entry).at("port").to_number<int>());
  } catch (const std::exception& e) {
    fail("no port in hello-service's nodes entry (" + std::string(e.what()) + "): " + entry);
  }
}

// SIGTERM, then the exit status must be 0.
void stop_cleanly(hydra::test::Process& process, const std::string& name) {
  process.signal(SIGTERM);
  const auto status = process.wait(15s);
  if (!status || *status != 0)
    fail(name + " did not stop cleanly (status " + (status ? std::to_string(*status) : "none") +
         "): " + process.output(500ms));
}

// ---------------------------------------------------------------------------------------------
// Options and report
// ---------------------------------------------------------------------------------------------

struct Options {
  std::vector<int> threads = {1};
  std::vector<int> busy_poll_us = {0, 200};
  int seconds = 3;
};

constexpr const char* kUsage =
    "usage: router_bench [--threads 1,2] [--busy-poll 0,200] [--seconds 3]";

// "1,2,4" within [low, high]; fails naming the option otherwise.
std::vector<int> int_list(const std::string& option, const std::string& value, int low, int high) {
  std::vector<int> out;
  std::istringstream list(value);
  for (std::string item; std::getline(list, item, ',');) {
    char* end = nullptr;
    const long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < low || n > high)
      fail(option + ": numbers from " + std::to_string(low) + " to " + std::to_string(high) +
           ", comma-separated");
    out.push_back(static_cast<int>(n));
  }
  if (out.empty()) fail(option + ": nothing given");
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) fail(kUsage);
    const std::string value = argv[++i];
    if (arg == "--threads") {
      o.threads = int_list(arg, value, 1, 64);
    } else if (arg == "--busy-poll") {
      o.busy_poll_us = int_list(arg, value, 0, 10000);
    } else if (arg == "--seconds") {
      o.seconds = std::atoi(value.c_str());
      if (o.seconds < 1 || o.seconds > 600) fail("--seconds: from 1 to 600");
    } else {
      fail("unknown option " + arg + "; " + kUsage);
    }
  }
  return o;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find_first_of("\r\n"));
}

void print_row(const Row& r) {
  auto opt = [](double v, int decimals) { return v >= 0 ? fmt(v, decimals) : std::string("-"); };
  std::printf("  %-6s %5d  %-24s %8ld %9s %8s %8s %9s %8s %8s %8s %7s %6s\n", r.client.c_str(),
              r.connections, r.target.c_str(), r.requests, fmt(r.per_second, 0).c_str(),
              fmt(r.p50_ms).c_str(), fmt(r.p99_ms).c_str(),
              r.threads > 0 ? fmt(r.added_p50_us, 0).c_str() : "-", opt(r.client_us, 1).c_str(),
              opt(r.router_us, 1).c_str(), opt(r.service_us, 1).c_str(),
              opt(r.closed_per_1k, 0).c_str(), fmt(r.other_cpu_pct, 0).c_str());
}

json::object to_json(const Row& r) {
  return {{"client", r.client},
          {"target", r.target},
          {"router_threads", r.threads},
          {"busy_poll_us", r.busy_poll_us},
          {"connections", r.connections},
          {"requests", r.requests},
          {"seconds", r3(r.seconds)},
          {"per_second", r3(r.per_second)},
          {"p50_ms", r3(r.p50_ms)},
          {"p99_ms", r3(r.p99_ms)},
          {"max_ms", r3(r.max_ms)},
          {"added_p50_us", r.threads > 0 ? r3(r.added_p50_us) : 0.0},
          {"client_cpu_us_per_req", r3(r.client_us)},
          {"router_cpu_us_per_req", r3(r.router_us)},
          {"service_cpu_us_per_req", r3(r.service_us)},
          {"service_connections_closed_per_1k", r3(r.closed_per_1k)},
          {"other_cpu_percent", r3(r.other_cpu_pct)}};
}

}  // namespace

int run(const Options& options) {
  for (const auto& binary : {hydra::test::router_binary(), hydra::test::hello_binary()}) {
    if (!std::filesystem::is_regular_file(binary))
      fail(binary + " is missing: build the hydra-router and hello-service targets");
  }
  const auto bench_start = Clock::now();
  hydra::test::RedisServer redis;
  const std::string redis_version = info_field(redis, "redis_version");
  const bool have_wrk = wrk_installed();
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer": up to the copyright.
  std::string wrk_version = "wrk not installed (Beast client only)";
  if (have_wrk) {
    wrk_version = first_line(hydra::test::run_command({"wrk", "-v"}, {}, 10s).second);
    wrk_version = wrk_version.substr(0, wrk_version.find(" Copyright"));
  }
  const std::string load_start = load_average();
  const unsigned cores = std::thread::hardware_concurrency();
  std::printf(
      "hydra-router benchmark: GET %s of examples/hello-service, direct and through hydra-router\n"
      "  machine: %u cores, %s; redis-server %s; %s; build: %s\n  load average at start: %s\n",
      kPath, cores, cpu_model().c_str(), redis_version.c_str(), wrk_version.c_str(),
      hydra::bench::build_kind().c_str(), load_start.c_str());
  std::fflush(stdout);

  // The service, then one router per thread count (each loads the route table when it starts).
  hydra::test::HelloService service = hydra::test::start_hello_service(redis, 0);
  Processes procs;
  procs.redis = static_cast<pid_t>(std::stol(info_field(redis, "process_id")));
  procs.service = service.process->pid();
  std::vector<Target> targets;
  targets.push_back({"direct", 0, 0, registered_port(redis, service.instance_id), -1});
  const std::uint16_t service_port = targets[0].port;
  std::vector<RouterUnderTest> routers;
  for (int threads : options.threads) {
    for (int busy_poll : options.busy_poll_us) {
      routers.push_back(launch_router(redis, threads, busy_poll));
      procs.routers.push_back(routers.back().process->pid());
      targets.push_back({router_label(threads, busy_poll), threads, busy_poll, routers.back().port,
                         routers.back().process->pid()});
    }
  }

  asio::io_context io(1);
  for (const auto& target : targets) {
    if (!answers(io, target.port, 15s))
      fail(target.name + " (port " + std::to_string(target.port) + ") never answered GET " + kPath +
           " with 200 and the greeting");
    beast_row(io, target, 16, kWarmUp, procs, service_port);
  }

  // Rows: for each connection count and client, the direct row and then each router, so the
  // rows compared with each other are measured seconds apart.
  const auto duration = std::chrono::seconds(options.seconds);
  std::vector<Row> rows;
  for (int conns : kConnections) {
    std::vector<std::string> clients = {"beast"};
    if (have_wrk) clients.push_back("wrk");
    for (const auto& client : clients) {
      const std::size_t first = rows.size();
      for (const auto& target : targets) {
        rows.push_back(client == "wrk"
                           ? wrk_row(target, conns, options.seconds, procs, service_port)
                           : beast_row(io, target, conns, duration, procs, service_port));
        rows.back().added_p50_us = (rows.back().p50_ms - rows[first].p50_ms) * 1000.0;
      }
    }
  }
  std::vector<Paired> paired;
  for (std::size_t i = 1; i < targets.size(); ++i)
    paired.push_back(paired_run(io, targets[0], targets[i], kPairs));

  for (auto& r : routers)
    stop_cleanly(*r.process, router_label(r.threads, r.busy_poll_us));
  stop_cleanly(*service.process, "hello-service");
  const double total_seconds = seconds_between(bench_start, Clock::now());
  const std::string load_end = load_average();

  // Report.
  std::printf(
      "\nrequests/s and latency, direct to hello-service and through hydra-router (%d s per row)\n",
      options.seconds);
  std::printf("  %-6s %5s  %-24s %8s %9s %8s %8s %9s %8s %8s %8s %7s %6s\n", "client", "conns",
              "target", "requests", "req/s", "p50 ms", "p99 ms", "+p50 us", "cli us", "rtr us",
              "svc us", "closed", "other");
  for (const auto& r : rows)
    print_row(r);
  std::printf(
      "  (+p50 us = p50 minus the direct row's p50, same client and connections; cli/rtr/svc us =\n"
      "   CPU per request of the client, the router, the service; closed = router-to-service\n"
      "   connections closed per 1000 requests; other = CPU used by other processes of the\n"
      "   machine during the row, %% of all cores; bp N = the router busy-polls N us after each\n"
      "   event before it sleeps)\n");

  std::printf("\nlatency the router adds, 1 connection each side, %ld alternating pairs\n", kPairs);
  for (const auto& p : paired)
    std::printf(
        "  %-24s direct p50 %s ms, routed p50 %s ms: +%s us (median pair difference %s us)\n",
        p.target.c_str(), fmt(p.direct_p50_ms).c_str(), fmt(p.routed_p50_ms).c_str(),
        fmt(p.added_us, 1).c_str(), fmt(p.median_difference_us, 1).c_str());

  std::printf("\nAims (Node Hydra makeAPIRequest on this machine: %s requests/s)\n",
              fmt(kNodeApiRequestsPerS, 0).c_str());
  json::array aims;
  for (const auto& p : paired) {
    const Row* best = nullptr;
    for (const auto& r : rows)
      if (r.target == p.target && (!best || r.per_second > best->per_second)) best = &r;
    const bool latency_met = p.added_us < kAddedAimUs;
    const bool throughput_met = best && best->per_second >= kThroughputAim;
    std::printf("  %-24s adds under %s us at p50: %s (%s us)\n", p.target.c_str(),
                fmt(kAddedAimUs, 0).c_str(), latency_met ? "met" : "NOT met",
                fmt(p.added_us, 1).c_str());
    std::printf("  %-24s >= %s requests/s:      %s (best %s requests/s: %s, %d connections)\n",
                p.target.c_str(), fmt(kThroughputAim, 0).c_str(),
                throughput_met ? "met" : "NOT met", fmt(best ? best->per_second : 0, 0).c_str(),
                best ? best->client.c_str() : "-", best ? best->connections : 0);
    aims.push_back(json::object{{"router_threads", p.threads},
                                {"busy_poll_us", p.busy_poll_us},
                                {"added_p50_us", r3(p.added_us)},
                                {"added_under_100us", latency_met},
                                {"best_per_second", r3(best ? best->per_second : 0)},
                                {"at_least_5x_node", throughput_met}});
  }
  std::printf("  whole run %s s; load average at the end: %s\n", fmt(total_seconds, 1).c_str(),
              load_end.c_str());

  json::array row_json, paired_json;
  for (const auto& r : rows)
    row_json.push_back(to_json(r));
  for (const auto& p : paired)
    paired_json.push_back(json::object{{"router_threads", p.threads},
                                       {"busy_poll_us", p.busy_poll_us},
                                       {"pairs", p.pairs},
                                       {"direct_p50_ms", r3(p.direct_p50_ms)},
                                       {"routed_p50_ms", r3(p.routed_p50_ms)},
                                       {"added_us", r3(p.added_us)},
                                       {"median_pair_difference_us", r3(p.median_difference_us)}});
  json::object result{{"machine",
                       {{"cores", cores},
                        {"cpu", cpu_model()},
                        {"redis_version", redis_version},
                        {"wrk", have_wrk ? wrk_version : ""},
                        {"load_average_at_start", load_start},
                        {"load_average_at_end", load_end}}},
                      {"seconds_per_row", options.seconds},
                      {"rows", std::move(row_json)},
                      {"paired", std::move(paired_json)},
                      {"aims", std::move(aims)},
                      {"seconds", r3(total_seconds)}};
  std::printf("BENCH_JSON %s\n", hydra::json::stringify(result).c_str());
  std::fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "router_bench: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
