// Helpers shared by the benchmarks: timing, percentiles, CPU accounting, machine facts.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/redis_server.hpp"

namespace hydra::bench {

[[noreturn]] inline void fail(const std::string& what) {
  throw std::runtime_error(what);
}

inline double seconds_between(std::chrono::steady_clock::time_point a,
                              std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline double ms_between(std::chrono::steady_clock::time_point a,
                         std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Nearest-rank percentile, the definition the Node benchmark scripts use.
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<long>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) - 1;
  idx = std::clamp<long>(idx, 0, static_cast<long>(sorted.size()) - 1);
  return sorted[static_cast<std::size_t>(idx)];
}

// A number member of a JSON object, as a double (throws when missing).
inline double num(const boost::json::object& o, const char* key) {
  return o.at(key).to_number<double>();
}

inline double r3(double x) {
  return std::round(x * 1000.0) / 1000.0;
}

inline std::string fmt(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// CPU time (user + system) of a process in seconds, from /proc/<pid>/stat.
inline double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  // After the command name: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU time (user + system) in seconds of getrusage's `who`: RUSAGE_SELF, RUSAGE_CHILDREN (the
// waited-for children) or RUSAGE_THREAD.
inline double rusage_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Times the calling thread blocked (voluntary context switches): each is a wakeup later, which
// on a virtual machine can cost more than the work it waits for.
inline long thread_wakeups() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

// The same for a process's main thread (redis-server's event loop, an echo child's io_context).
inline long process_wakeups(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string_view key = "voluntary_ctxt_switches:";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return 0;
}

// CPU time of the calling thread (the C++ client runs on it).
inline double thread_cpu_seconds() {
  return rusage_seconds(RUSAGE_THREAD);
}

// The machine's non-idle CPU seconds so far: the first line of /proc/stat, all of user, nice,
// system, irq, softirq and steal (idle and iowait left out).
inline double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string label;
  in >> label;
  double ticks = 0;
  for (int column = 0; column < 8; ++column) {
    double value = 0;
    if (!(in >> value)) break;
    if (column != 3 && column != 4) ticks += value;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The three load averages of /proc/loadavg, e.g. "0.70 1.37 1.19".
inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

inline std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// How the benchmark's code was compiled: "default", or "pgo-use" for a profile-guided build
// (scripts/pgo-build.sh), "pgo-generate" for its instrumented first step.
inline std::string build_kind() {
#ifdef HYDRA_PGO_BUILD
  const std::string pgo = HYDRA_PGO_BUILD;
#else
  const std::string pgo;
#endif
  return pgo.empty() ? "default" : "pgo-" + pgo;
}

inline std::string info_field(const hydra::test::RedisServer& server, const std::string& name) {
  std::istringstream info(server.cli({"INFO", "server"}));
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind(name + ":", 0) == 0) {
      auto v = line.substr(name.size() + 1);
      if (!v.empty() && v.back() == '\r') v.pop_back();
      return v;
    }
  }
  return "unknown";
}

// The configuration of a service a benchmark runs in a child process of its own: loopback, a
// random port, the benchmark's Redis.
inline boost::json::object child_service_document(const std::string& redis_url,
                                                  const std::string& name) {
  boost::json::object hydra{{"serviceName", name},
                            {"serviceIP", "127.0.0.1"},
                            {"servicePort", 0},
                            {"serviceType", "bench"},
                            {"serviceDescription", ""},
                            {"serviceVersion", "1.0.0"},
                            {"redis", boost::json::object{{"url", redis_url}}}};
  return boost::json::object{{"hydra", std::move(hydra)}};
}

// Prints the error entries of `h`'s log to stderr, after `label`.
inline void print_log_errors(hydra::Hydra& h, const std::string& label) {
  h.on_log([label](const boost::json::object& entry) {
    const auto* type = entry.if_contains("type");
    if (type && type->is_string() && type->get_string() == "error")
      std::cerr << label << ": " << hydra::json::stringify(entry) << std::endl;
  });
}

// Runs `io` until `main` ends (a child process's whole life). A failure is printed after
// `label` and makes the exit status 1.
inline int run_child(boost::asio::io_context& io, boost::asio::awaitable<void> main,
                     const std::string& label) {
  int status = 0;
  boost::asio::co_spawn(io, std::move(main), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << label << ": " << ex.what() << std::endl;
      }
      status = 1;
    }
    io.stop();
  });
  io.run();
  return status;
}

// Spawns `n` workers made by `make(w)` and runs `io` until all have finished (at most `limit`);
// returns when the last one finished. Rethrows the first failure.
//
// The loop is one `io.run()`, stopped by the last worker, as an application runs its
// io_context. (`run_for` runs each handler in a call of its own, with a fresh per-thread context
// that drops Asio's cache of recycled handler memory; under callgrind that made no measurable
// difference to the instructions per round trip, but the clients now run as applications do.)
template <class Make>
std::chrono::steady_clock::time_point run_workers(
    boost::asio::io_context& io, int n, Make make,
    std::chrono::seconds limit = std::chrono::seconds(60)) {
  using Clock = std::chrono::steady_clock;
  struct State {
    int left = 0;
    std::exception_ptr error;
    Clock::time_point end{};
  };
  auto state = std::make_shared<State>();
  state->left = n;
  if (io.stopped()) io.restart();
  boost::asio::steady_timer deadline(io, limit);
  deadline.async_wait([&io](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  for (int w = 0; w < n; ++w) {
    boost::asio::co_spawn(io, make(w), [state, &io](std::exception_ptr e) {
      if (e && !state->error) state->error = e;
      if (--state->left == 0) {
        state->end = Clock::now();
        io.stop();
      }
    });
  }
  if (n > 0) io.run();
  // The deadline's handler runs here, before `deadline` goes away.
  deadline.cancel();
  io.restart();
  io.poll();
  if (io.stopped()) io.restart();
  if (state->left > 0) fail("workers did not finish in time");
  if (state->error) std::rethrow_exception(state->error);
  return state->end;
}

}  // namespace hydra::bench
