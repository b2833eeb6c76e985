// hello-service: a minimal Hydra service that registers itself, publishes its routes and a log
// entry, and stays present until SIGINT/SIGTERM.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"

namespace asio = boost::asio;

namespace {

asio::awaitable<void> serve(hydra::Hydra& hydra, const std::string& config_path) {
  co_await hydra.init_from_file(config_path);
  auto info = co_await hydra.register_service();
  // Built outside the co_await: g++ 12 mishandles braced string-literal lists there.
  std::vector<std::string> routes;
  routes.emplace_back("[get]/v1/hello/greeting");
  routes.emplace_back("[post]/v1/hello/echo");
  routes.emplace_back("[get]/v1/hello/slow");
  co_await hydra.register_routes(std::move(routes));
  hydra.send_to_health_log("info", "hello-service started");
  // Tests and scripts wait for this line, so it is flushed at once.
  std::cout << "hello-service ready " << info.service_name << " " << hydra.instance_id() << " "
            << info.service_ip << ":" << info.service_port << std::endl;

  auto executor = co_await asio::this_coro::executor;
  asio::signal_set signals(executor, SIGINT, SIGTERM);
  int sig = co_await signals.async_wait(asio::use_awaitable);
  std::cerr << "hello-service: signal " << sig << ", shutting down" << std::endl;
  // shutdown() deletes the presence key at once, so callers stop routing here immediately.
  co_await hydra.shutdown();
  std::cout << "hello-service stopped" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  // One option only, so plain argv handling keeps the example free of a CLI library.
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = arg.substr(9);
    } else {
      config_path.clear();
      break;
    }
  }
  if (config_path.empty()) {
    std::cerr << "usage: hello-service --config FILE" << std::endl;
    return 2;
  }

  asio::io_context io;
  hydra::Hydra hydra(io.get_executor());
  hydra.on_connection_state([](hydra::redis::State state, const std::string& detail) {
    std::cerr << "hello-service: redis " << hydra::redis::to_string(state)
              << (detail.empty() ? "" : ": " + detail) << std::endl;
  });
  hydra.on_log([](const boost::json::object& entry) {
    std::cerr << "hello-service: log " << hydra::json::stringify(entry) << std::endl;
  });

  int status = 0;
  asio::co_spawn(io, serve(hydra, config_path), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "hello-service: " << ex.what() << std::endl;
      }
      status = 1;
    }
    // After shutdown (or a failed start) nothing else should keep the process alive.
    io.stop();
  });
  io.run();
  return status;
}
