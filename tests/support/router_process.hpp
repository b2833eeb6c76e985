// Starts the hydra-router binary of this build against a private redis-server for tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace hydra::test {

inline std::string router_binary() {
  return HYDRA_BINARY_DIR "/apps/hydra-router/hydra-router";
}

/// A running hydra-router (stderr merged into its output).
struct RouterProcess {
  std::unique_ptr<Process> process;
  std::string instance_id;
  std::uint16_t port = 0;
  std::string config_path;
};

/// Writes a config (`extra` = more top-level keys, e.g. `"routerToken":"..."`) and starts the
/// router on a random port with `threads` I/O threads; waits for `... instance <iid> listening on
/// port <n>`.
inline RouterProcess start_router(const RedisServer& server, int db, const std::string& extra = {},
                                  const std::string& name = "router", int threads = 1) {
  RouterProcess r;
  r.config_path = server.dir() + "/" + name + ".json";
  {
    std::ofstream out(r.config_path, std::ios::binary);
    out << R"({"hydra":{"serviceName":"hydra-router","serviceIP":"127.0.0.1","servicePort":0,)"
        << R"("redis":{"url":")" << server.url(db) << R"("}})" << (extra.empty() ? "" : ",")
        << extra << "}";
  }
  r.process =
      std::make_unique<Process>(std::vector<std::string>{router_binary(), "--config", r.config_path,
                                                         "--threads", std::to_string(threads)},
                                std::map<std::string, std::string>{}, true);
  auto ready = r.process->wait_for_line(" listening on port ", std::chrono::seconds(15));
  if (!ready) {
    throw std::runtime_error("hydra-router did not start: " +
                             r.process->output(std::chrono::milliseconds(100)));
  }
  std::istringstream words(*ready);
  std::string word, previous;
  while (words >> word) {
    if (previous == "instance") r.instance_id = word;
    if (previous == "port") r.port = static_cast<std::uint16_t>(std::stoi(word));
    previous = word;
  }
  if (r.instance_id.size() != 32 || r.port == 0)
    throw std::runtime_error("unexpected router ready line: " + *ready);
  return r;
}

}  // namespace hydra::test
