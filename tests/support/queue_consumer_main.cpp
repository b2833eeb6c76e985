// A leased queue consumer in a process of its own, for tests that SIGKILL a consumer while it
// holds an item: `hydra_queue_consumer <redis-url> <service> <lease-ms>` takes one item with a
// lease, prints "TOOK <mid>" and then sleeps without ever marking it. With a fifth argument
// `handler` it runs a hydra::QueueConsumer instead, whose handler prints "TOOK <mid>" and never
// returns (the consumer keeps extending the lease until the process dies).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "hydra/hydra.hpp"
#include "hydra/queue.hpp"
#include "hydra/queue_consumer.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
  const bool with_handler = argc == 5 && std::string(argv[4]) == "handler";
  if (argc != 4 && !with_handler) {
    std::cerr << "usage: hydra_queue_consumer <redis-url> <service> <lease-ms> [handler]\n";
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
        if (with_handler) {
          hydra::ConsumerOptions options;
          options.service = service;
          options.lease = lease;
          hydra::QueueConsumer consumer(
              hydra,
              [](const hydra::QueuedMessage& item) -> asio::awaitable<void> {
                std::printf("TOOK %s\n", item.message.mid().c_str());
                std::fflush(stdout);
                asio::steady_timer forever(co_await asio::this_coro::executor,
                                           asio::steady_timer::time_point::max());
                co_await forever.async_wait(asio::use_awaitable);
              },
              options);
          consumer.start();
          asio::steady_timer forever(co_await asio::this_coro::executor,
                                     asio::steady_timer::time_point::max());
          co_await forever.async_wait(asio::use_awaitable);
        }
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
