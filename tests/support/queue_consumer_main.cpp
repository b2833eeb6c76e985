// A leased queue consumer in a process of its own, for tests that SIGKILL a consumer while it
// holds an item: `hydra_queue_consumer <redis-url> <service> <lease-ms>` takes one item with a
// lease, prints "TOOK <mid>" and then sleeps without ever marking it. With a fifth argument
// `handler` it runs a hydra::QueueConsumer instead, whose handler prints "TOOK <mid>" and never
// returns (the consumer keeps extending the lease until the process dies). With `work` it runs a
// hydra::QueueConsumer of 4 workers (reclaiming every 200 ms, up to 1000 attempts) whose handler
// waits 20-60 ms, then counts the item's `bdy.n` in the hash `chaos:handled` (and a delivery after
// the first in `chaos:redelivered`) and returns; it
// prints "READY" once started, for tests that kill such consumers over and over.
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
#include <random>
#include <string>
#include <thread>

#include <unistd.h>

#include "hydra/hydra.hpp"
#include "hydra/queue.hpp"
#include "hydra/queue_consumer.hpp"
#include "hydra/redis/connection.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
  const bool with_handler = argc == 5 && std::string(argv[4]) == "handler";
  const bool work = argc == 5 && std::string(argv[4]) == "work";
  if (argc != 4 && !with_handler && !work) {
    std::cerr << "usage: hydra_queue_consumer <redis-url> <service> <lease-ms> [handler|work]\n";
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
        if (work) {
          hydra::ConsumerOptions options;
          options.service = service;
          lease.max_attempts = 1000;
          options.lease = lease;
          options.concurrency = 4;
          options.reclaim_interval = std::chrono::milliseconds(200);
          std::minstd_rand rng(static_cast<unsigned>(::getpid()));
          hydra::QueueConsumer consumer(
              hydra,
              [&](const hydra::QueuedMessage& item) -> asio::awaitable<void> {
                asio::steady_timer pause(co_await asio::this_coro::executor,
                                         std::chrono::milliseconds(20 + rng() % 41));
                co_await pause.async_wait(asio::use_awaitable);
                const auto n = boost::json::serialize(item.message.body().at("n"));
                (co_await hydra.redis().exec(hydra::redis::cmd("HINCRBY", "chaos:handled", n, "1")))
                    .check();
                if (item.attempt > 1)
                  (co_await hydra.redis().exec(hydra::redis::cmd("INCR", "chaos:redelivered")))
                      .check();
              },
              options);
          consumer.start();
          std::printf("READY\n");
          std::fflush(stdout);
          asio::steady_timer forever(co_await asio::this_coro::executor,
                                     asio::steady_timer::time_point::max());
          co_await forever.async_wait(asio::use_awaitable);
        }
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
