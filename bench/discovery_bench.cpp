// discovery_bench: uncached service discovery latency (with and without 1,000,000 unrelated keys)
// and idle RSS, hydra-cpp side by side with Node Hydra 1.9.3 against the same private Redis.
//
// Prints a table and a final `BENCH_JSON {...}` line. Exits non-zero when any lookup fails to
// find the target instance, so a broken registry can never produce a flattering number.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr int kCppWarmup = 200;
constexpr int kCppIterations = 2000;
constexpr int kNodeIterationsEmpty = 500;
// With a large keyspace every Node lookup walks it with SCAN COUNT 100; peer.js's watchdog allows
// about 20 s per run, so the iteration count is derived from a one-lookup calibration run.
constexpr int kNodeIterationsLargeMax = 20;
constexpr double kNodeLargeBudgetSeconds = 12.0;
constexpr long kUnrelatedKeys = 1000000;
constexpr auto kIdleWait = 5s;

struct Stats {
  int iterations = 0;
  long found = 0;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0, max_ms = 0;
};

// Nearest-rank percentile, the same definition peer.js uses, so both columns are comparable.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<long>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) - 1;
  idx = std::clamp<long>(idx, 0, static_cast<long>(sorted.size()) - 1);
  return sorted[static_cast<std::size_t>(idx)];
}

Stats summarize(std::vector<double> samples, long found) {
  Stats s;
  s.iterations = static_cast<int>(samples.size());
  s.found = found;
  std::sort(samples.begin(), samples.end());
  s.p50_ms = percentile(samples, 50);
  s.p99_ms = percentile(samples, 99);
  s.mean_ms = std::accumulate(samples.begin(), samples.end(), 0.0) /
              static_cast<double>(std::max<std::size_t>(1, samples.size()));
  s.max_ms = samples.empty() ? 0 : samples.back();
  return s;
}

json::object to_json(const Stats& s) {
  auto r3 = [](double x) { return std::round(x * 1000.0) / 1000.0; };
  return {{"iterations", s.iterations}, {"found", s.found},         {"p50_ms", r3(s.p50_ms)},
          {"p99_ms", r3(s.p99_ms)},     {"mean_ms", r3(s.mean_ms)}, {"max_ms", r3(s.max_ms)}};
}

// Thrown rather than exiting so the private redis-server and Node children are stopped by their
// destructors on the way out.
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what);
}

// An io_context on its own thread, stopped and joined on every exit path.
struct BackgroundLoop {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  void stop() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  ~BackgroundLoop() { stop(); }
};

// Free functions rather than capturing lambdas: a coroutine lambda's captures die with the
// temporary lambda object before co_spawn gets to run it.
asio::awaitable<hydra::ServiceInfo> start_target(hydra::Hydra& h, json::value doc) {
  co_await h.init(std::move(doc));
  co_return co_await h.register_service();
}

asio::awaitable<void> stop_hydra(hydra::Hydra& h) {
  co_await h.shutdown();
}

asio::awaitable<void> init_consumer(hydra::Hydra& h, json::value doc) {
  co_await h.init(std::move(doc));
}

// Times `iterations` uncached lookups after `warmup` untimed ones. Every lookup must find at
// least one instance; `found` is the smallest count seen.
asio::awaitable<Stats> time_lookups(hydra::Hydra& h, std::string service, int warmup,
                                    int iterations) {
  long min_found = -1;
  auto note = [&](std::size_t n) {
    if (min_found < 0 || static_cast<long>(n) < min_found) min_found = static_cast<long>(n);
  };
  for (int i = 0; i < warmup; ++i)
    note((co_await h.get_service_presence(service)).size());
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto found = co_await h.get_service_presence(service);
    auto t1 = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    note(found.size());
  }
  co_return summarize(std::move(samples), min_found);
}

Stats node_lookups(const std::string& redis_url, const std::string& service, int iterations) {
  const json::object r =
      hydra::test::peer_result(redis_url, {"bench-discovery", service, std::to_string(iterations)},
                               120s)
          .as_object();
  Stats s;
  s.iterations = static_cast<int>(r.at("iterations").to_number<double>());
  s.found = static_cast<long>(r.at("found").to_number<double>());
  s.p50_ms = r.at("p50_ms").to_number<double>();
  s.p99_ms = r.at("p99_ms").to_number<double>();
  s.mean_ms = r.at("mean_ms").to_number<double>();
  s.max_ms = r.at("max_ms").to_number<double>();
  return s;
}

long vm_rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) * 1024;  // value in kB
  }
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

std::string fmt(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void print_row(const std::string& label, const Stats& s) {
  std::printf("  %-34s %6d %6ld %10s %10s %10s %10s\n", label.c_str(), s.iterations, s.found,
              fmt(s.p50_ms).c_str(), fmt(s.p99_ms).c_str(), fmt(s.mean_ms).c_str(),
              fmt(s.max_ms).c_str());
}

struct Phase {
  Stats cpp, cpp_node_target, node;
};

// The C++ idle figure is a separate process (the example service), so the benchmark's own
// threads, buffers and 2000-sample vectors do not inflate it.
long cpp_idle_rss(const hydra::test::RedisServer& server) {
  std::string binary = std::string(HYDRA_BINARY_DIR) + "/examples/hello-service/hello-service";
  if (!std::filesystem::exists(binary)) fail("missing " + binary + " (build target hello-service)");
  json::object redis{{"url", server.url()}};
  json::object hydra{{"serviceName", "hello-service"},
                     {"serviceIP", "127.0.0.1"},
                     {"servicePort", 0},
                     {"serviceType", "example"},
                     {"serviceDescription", "Says hello"},
                     {"serviceVersion", "1.0.0"},
                     {"redis", redis}};
  std::string config = server.dir() + "/hello-service.json";
  std::ofstream(config) << json::serialize(json::object{{"hydra", hydra}});

  hydra::test::Process service({binary, "--config", config}, {}, false);
  if (!service.wait_for_line("ready", 20s)) fail("hello-service did not print its ready line");
  std::this_thread::sleep_for(kIdleWait);
  if (!service.running()) fail("hello-service exited while idle");
  long rss = vm_rss_bytes(service.pid());
  service.signal(SIGTERM);
  if (!service.wait(10s)) fail("hello-service did not stop on SIGTERM");
  return rss;
}

}  // namespace

int run() {
  if (!hydra::test::node_available())
    fail("node or tests/interop/node/node_modules missing; run scripts/setup.sh");

  hydra::test::RedisServer server;
  std::string redis_version = "unknown";
  {
    std::istringstream info(server.cli({"INFO", "server"}));
    std::string line;
    while (std::getline(info, line)) {
      if (line.rfind("redis_version:", 0) == 0) redis_version = line.substr(14);
    }
    if (!redis_version.empty() && redis_version.back() == '\r') redis_version.pop_back();
  }
  unsigned cores = std::thread::hardware_concurrency();
  std::string cpu = hydra::bench::cpu_model();
  std::printf(
      "hydra-cpp discovery benchmark\n  machine: %u cores, %s; redis-server %s; build: %s\n\n",
      cores, cpu.c_str(), redis_version.c_str(), hydra::bench::build_kind().c_str());

  // Idle RSS first, against an empty database, so neither side has seen a large keyspace.
  long cpp_rss = cpp_idle_rss(server);
  const json::object node_idle =
      hydra::test::peer_result(server.url(), {"idle", "node-idle", "5"}, 60s).as_object();
  long node_rss = static_cast<long>(node_idle.at("rss_bytes").to_number<double>());

  // The target lives on its own thread so its presence key is refreshed every second while the
  // consumer below is busy; otherwise a long measurement could see it expire.
  BackgroundLoop target_loop;
  hydra::Hydra target(target_loop.io.get_executor());
  // Declared after `target`, so the loop thread is joined before `target` is destroyed.
  struct JoinFirst {
    BackgroundLoop& loop;
    ~JoinFirst() { loop.stop(); }
  } join_first{target_loop};
  asio::co_spawn(target_loop.io,
                 start_target(target, hydra::test::service_document(server, "cpp-target")),
                 asio::use_future)
      .get();
  hydra::test::NodeService node_target(server.url(), "node-target");

  // Cache TTL 0: every call goes to Redis, like the Node side with its cache entry deleted.
  asio::io_context io;
  hydra::Hydra consumer(io.get_executor(), hydra::RegistryOptions{.presence_cache_ttl = 0ms});
  hydra::test::run_on(
      io, [&] { return init_consumer(consumer, hydra::test::service_document(server, "bench")); });

  auto cpp_run = [&](const std::string& service) {
    return hydra::test::run_on(
        io, [&] { return time_lookups(consumer, service, kCppWarmup, kCppIterations); }, 300s);
  };

  Phase empty, large;
  empty.cpp = cpp_run("cpp-target");
  empty.cpp_node_target = cpp_run("node-target");
  empty.node = node_lookups(server.url(), "cpp-target", kNodeIterationsEmpty);

  server.cli({"DEBUG", "POPULATE", std::to_string(kUnrelatedKeys), "unrelated"});
  long dbsize = std::stol(server.cli({"DBSIZE"}));
  if (dbsize < kUnrelatedKeys) fail("DEBUG POPULATE left only " + std::to_string(dbsize) + " keys");

  large.cpp = cpp_run("cpp-target");
  large.cpp_node_target = cpp_run("node-target");
  // One lookup to learn how long a keyspace walk takes here, then as many as fit the watchdog.
  auto calibration = node_lookups(server.url(), "cpp-target", 1);
  int node_large_iterations = std::clamp(
      static_cast<int>(kNodeLargeBudgetSeconds * 1000.0 / std::max(1.0, calibration.max_ms)), 3,
      kNodeIterationsLargeMax);
  large.node = node_lookups(server.url(), "cpp-target", node_large_iterations);
  double node_calibration_ms = calibration.max_ms;

  for (auto* phase : {&empty, &large}) {
    for (const auto* s : {&phase->cpp, &phase->cpp_node_target, &phase->node}) {
      if (s->found < 1) fail("a lookup found no instance (see table below)");
    }
  }

  asio::co_spawn(target_loop.io, stop_hydra(target), asio::use_future).get();
  node_target.stop();

  std::printf("Uncached discovery latency (ms), lookups of one registered instance\n");
  std::printf("  %-34s %6s %6s %10s %10s %10s %10s\n", "", "iters", "found", "p50", "p99", "mean",
              "max");
  auto section = [&](const char* title, const Phase& p) {
    std::printf(" %s\n", title);
    print_row("C++  -> cpp-target", p.cpp);
    print_row("C++  -> node-target", p.cpp_node_target);
    print_row("Node -> cpp-target", p.node);
    std::printf("  %-34s p50 %sx, p99 %sx, mean %sx\n", "Node / C++",
                fmt(p.node.p50_ms / p.cpp.p50_ms, 1).c_str(),
                fmt(p.node.p99_ms / p.cpp.p99_ms, 1).c_str(),
                fmt(p.node.mean_ms / p.cpp.mean_ms, 1).c_str());
  };
  section("0 unrelated keys", empty);
  section(("1,000,000 unrelated keys (DBSIZE " + std::to_string(dbsize) + ")").c_str(), large);
  std::printf("  (Node iterations with 1,000,000 keys chosen from a one-lookup run of %s ms)\n",
              fmt(node_calibration_ms, 1).c_str());

  // MB here is 10^6 bytes: the stricter reading of the 10 MB aim.
  double mb = 1e6;
  std::printf("\nIdle RSS after %lld s registered (MB)\n",
              static_cast<long long>(kIdleWait.count()));
  std::printf("  C++ hello-service %10s\n  Node peer.js idle %10s\n  Node / C++        %10sx\n",
              fmt(cpp_rss / mb, 1).c_str(), fmt(node_rss / mb, 1).c_str(),
              fmt(static_cast<double>(node_rss) / static_cast<double>(cpp_rss), 1).c_str());

  bool discovery_aim = empty.cpp.p99_ms < 1.0 && large.cpp.p99_ms < 1.0;
  bool rss_aim = cpp_rss < 10L * 1000 * 1000;
  std::printf(
      "\nAims: discovery p99 < 1 ms regardless of unrelated keys: %s; idle RSS < 10 MB: %s\n",
      discovery_aim ? "met" : "NOT met", rss_aim ? "met" : "NOT met");

  auto phase_json = [](const Phase& p) {
    return json::object{{"cpp", to_json(p.cpp)},
                        {"cpp_node_target", to_json(p.cpp_node_target)},
                        {"node", to_json(p.node)}};
  };
  json::object result{
      {"machine", {{"cores", cores}, {"cpu", cpu}, {"redis_version", redis_version}}},
      {"discovery",
       {{"unrelated_keys_0", phase_json(empty)},
        {"unrelated_keys_1000000", phase_json(large)},
        {"dbsize_large", dbsize},
        {"node_calibration_ms", node_calibration_ms}}},
      {"idle_rss",
       {{"cpp_bytes", cpp_rss},
        {"node_bytes", node_rss},
        {"node_over_cpp", std::round(static_cast<double>(node_rss) / cpp_rss * 100.0) / 100.0}}},
      {"aims", {{"discovery_p99_under_1ms", discovery_aim}, {"idle_rss_under_10mb", rss_aim}}}};
  std::printf("BENCH_JSON %s\n", hydra::json::stringify(result).c_str());
  std::fflush(stdout);
  return 0;
}

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "discovery_bench: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
