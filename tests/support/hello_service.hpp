// Starts the examples/hello-service binary against a private redis-server for tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace hydra::test {

/// The hello-service binary of this build.
inline std::string hello_binary() {
  const std::string nested = HYDRA_BINARY_DIR "/examples/hello-service/hello-service";
  if (std::filesystem::is_regular_file(nested)) return nested;
  return HYDRA_BINARY_DIR "/examples/hello-service";
}

/// A running hello-service (stderr merged into its output) registered in `server`'s db `db`.
struct HelloService {
  std::unique_ptr<Process> process;
  std::string instance_id;
};

/// Writes a config for `server`/`db`, starts hello-service and waits for its ready line
/// (`hello-service ready <name> <instanceID> <ip>:<port>`). Throws with the output on failure.
inline HelloService start_hello_service(const RedisServer& server, int db) {
  const std::string config = server.dir() + "/hello-service.json";
  {
    std::ofstream out(config, std::ios::binary);
    out << R"({"hydra":{"serviceName":"hello-service","serviceIP":"127.0.0.1",)"
        << R"("servicePort":0,"serviceType":"example","serviceDescription":"Says hello",)"
        << R"("serviceVersion":"1.0.0","redis":{"url":")" << server.url(db) << R"("}}})";
  }
  HelloService s;
  s.process =
      std::make_unique<Process>(std::vector<std::string>{hello_binary(), "--config", config},
                                std::map<std::string, std::string>{}, true);
  auto ready = s.process->wait_for_line("hello-service ready", std::chrono::seconds(15));
  if (!ready) {
    throw std::runtime_error("hello-service did not start: " +
                             s.process->output(std::chrono::milliseconds(100)));
  }
  std::istringstream words(*ready);
  std::string w1, w2, name;
  words >> w1 >> w2 >> name >> s.instance_id;
  if (name != "hello-service" || s.instance_id.size() != 32) {
    throw std::runtime_error("unexpected ready line: " + *ready);
  }
  return s;
}

}  // namespace hydra::test
