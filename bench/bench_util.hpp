// Helpers shared by the benchmarks: timing, percentiles, CPU accounting, machine facts.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

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

// CPU time of the calling thread (the C++ client runs on it).
inline double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

inline std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
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

// Spawns `n` workers made by `make(w)` and runs `io` until all have finished (at most `limit`);
// returns when the last one finished. Rethrows the first failure.
template <class Make>
std::chrono::steady_clock::time_point run_workers(
    boost::asio::io_context& io, int n, Make make,
    std::chrono::seconds limit = std::chrono::seconds(60)) {
  using Clock = std::chrono::steady_clock;
  int left = n;
  std::exception_ptr error;
  Clock::time_point end{};
  for (int w = 0; w < n; ++w) {
    boost::asio::co_spawn(io, make(w), [&](std::exception_ptr e) {
      if (e && !error) error = e;
      if (--left == 0) end = Clock::now();
    });
  }
  auto deadline = Clock::now() + limit;
  while (left > 0 && Clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  if (left > 0) fail("workers did not finish in time");
  if (error) std::rethrow_exception(error);
  return end;
}

}  // namespace hydra::bench
