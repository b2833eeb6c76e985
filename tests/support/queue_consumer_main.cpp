// A leased queue consumer in a process of its own, for tests that SIGKILL a consumer while it
// holds an item: `hydra_queue_consumer <redis-url> <service> <lease-ms>` takes one item with a
// lease, prints "TOOK <mid>" and then sleeps without ever marking it.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "hydra/hydra.hpp"
#include "hydra/queue.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: hydra_queue_consumer <redis-url> <service> <lease-ms>\n";
    return 2;
  }
  std::string url = argv[1];
  std::string service = argv[2];
  std::chrono::milliseconds lease_ms(std::stoll(argv[3]));

  asio::io_context io;
  hydra::Hydra hydra(io.get_executor());
  hydra::Queue queue(hydra);
  int status = 1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::json::object redis;
        redis["url"] = url;
        boost::json::object h;
        h["serviceName"] = service + "-consumer";
        h["serviceIP"] = "127.0.0.1";
        h["servicePort"] = 0;
        h["redis"] = redis;
        boost::json::object doc;
        doc["hydra"] = h;
        co_await hydra.init(doc);
        hydra::LeaseOptions lease;
        lease.lease = lease_ms;
        auto item = co_await queue.wait_queued_message(service, std::chrono::seconds(10), lease);
        if (!item) {
          std::printf("EMPTY\n");
          std::fflush(stdout);
          co_return;
        }
        std::printf("TOOK %s\n", item->message.mid().c_str());
        std::fflush(stdout);
        status = 0;
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::printf("ERROR %s\n", ex.what());
            std::fflush(stdout);
          }
        }
        io.stop();
      });
  io.run();
  if (status != 0) return status;
  // Hold the item as a stuck worker would, until the test kills us.
  std::this_thread::sleep_for(std::chrono::minutes(5));
  return 0;
}
