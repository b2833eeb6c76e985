// Leased queue consumers killed with SIGKILL over and over while items arrive alone and in
// bursts: at-least-once must hold. Every item is handled at least once, and once the killing
// stops the live consumers leave nothing waiting, in progress, claimed or leased.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hydra/hydra.hpp"
#include "hydra/queue.hpp"
#include "queue/queue_logic.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace qd = hydra::queue_detail;
using hydra::test::Process;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

const std::string kSvc = "chaos";

long long count_of(const RedisServer& server, std::vector<std::string> command) {
  const auto out = server.cli(std::move(command));
  return out.empty() ? 0 : std::stoll(out);
}

// The sum of the hash's values (how many times the items were handled in all).
long long handled_total(const RedisServer& server) {
  const auto out = server.cli({"EVAL",
                               "local t = 0 for _, v in ipairs(redis.call('HVALS', KEYS[1])) do "
                               "t = t + tonumber(v) end return t",
                               "1", "chaos:handled"});
  return out.empty() ? 0 : std::stoll(out);
}

}  // namespace

TEST(Chaos, KilledLeasedConsumersLoseNoItem) {
  RedisServer server;
  asio::io_context io;
  hydra::Hydra producer(io.get_executor());
  run_on(io, [&]() -> asio::awaitable<void> {
    co_await producer.init(hydra::test::service_document(server, "chaos-producer"));
  });
  hydra::Queue queue(producer);
  const std::string binary = std::string(HYDRA_BINARY_DIR) + "/tests/hydra_queue_consumer";
  // Leases of 400 ms: an item a killed consumer held comes back within about 600 ms.
  auto start_consumer = [&] {
    return std::make_unique<Process>(
        std::vector<std::string>{binary, server.url(), kSvc, "400", "work"});
  };
  // Each consumer with whether its READY line has been read yet.
  std::vector<std::pair<std::unique_ptr<Process>, bool>> consumers;
  consumers.emplace_back(start_consumer(), false);
  consumers.emplace_back(start_consumer(), false);
  const auto all_ready = [&] {
    for (auto& [c, ready] : consumers) {
      if (!ready) ready = c->wait_for_line("READY", 10s).has_value();
      if (!ready) return false;
    }
    return true;
  };
  ASSERT_TRUE(all_ready()) << "a consumer did not start";

  constexpr int kItems = 400;
  std::mt19937 rng(7);
  int produced = 0, kills = 0;
  auto next_kill = std::chrono::steady_clock::now() + 100ms;
  while (produced < kItems) {
    // A burst of 1 to 8 items, then a pause of up to 60 ms, in which the consumers run dry and
    // block in leased waits.
    const int burst = std::min(kItems - produced, 1 + static_cast<int>(rng() % 8));
    const auto pause = std::chrono::milliseconds(rng() % 61);
    run_on(io, [&]() -> asio::awaitable<void> {
      for (int i = 0; i < burst; ++i) {
        boost::json::object m;
        m["to"] = kSvc + ":/";
        m["from"] = "chaos-producer:/";
        m["body"] = boost::json::object{{"n", produced + i}};
        auto r = co_await queue.queue_message(m);
        if (!r.ok()) throw std::runtime_error("queue_message: " + r.reason);
      }
      co_await hydra::test::sleep_for(pause);
    });
    produced += burst;
    if (std::chrono::steady_clock::now() >= next_kill) {
      auto& victim = consumers[static_cast<std::size_t>(kills) % consumers.size()];  // the older
      victim.first->signal(SIGKILL);
      victim.first->wait(5s);
      victim = {start_consumer(), false};
      ++kills;
      next_kill = std::chrono::steady_clock::now() + std::chrono::milliseconds(80 + rng() % 170);
    }
  }
  ASSERT_TRUE(all_ready()) << "a consumer did not start";

  // No more kills: the live consumers handle the rest, and take back what the dead held.
  auto settled = [&] {
    return count_of(server, {"HLEN", "chaos:handled"}) == kItems &&
           count_of(server, {"LLEN", qd::received_key(kSvc)}) == 0 &&
           count_of(server, {"LLEN", qd::in_progress_key(kSvc)}) == 0 &&
           count_of(server, {"LLEN", qd::claimed_key(kSvc)}) == 0 &&
           count_of(server, {"ZCARD", qd::leases_key(kSvc)}) == 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!settled() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  const long long handled = handled_total(server);
  const long long redelivered = count_of(server, {"GET", "chaos:redelivered"});
  std::printf("%d items, %d consumers killed: %lld handlings (%lld repeated), %lld redelivered\n",
              kItems, kills, handled, handled - kItems, redelivered);
  EXPECT_GE(kills, 5) << "too few kills to say anything";
  EXPECT_GE(redelivered, 1) << "no kill caught an item in hand";
  EXPECT_EQ(count_of(server, {"HLEN", "chaos:handled"}), kItems) << "items never handled";
  EXPECT_GE(handled, kItems);
  EXPECT_EQ(count_of(server, {"LLEN", qd::received_key(kSvc)}), 0);
  EXPECT_EQ(count_of(server, {"LLEN", qd::in_progress_key(kSvc)}), 0);
  EXPECT_EQ(count_of(server, {"LLEN", qd::claimed_key(kSvc)}), 0);
  EXPECT_EQ(count_of(server, {"ZCARD", qd::leases_key(kSvc)}), 0);
  EXPECT_EQ(count_of(server, {"LLEN", qd::incomplete_key(kSvc)}), 0) << "dead-lettered items";
  for (auto& [c, ready] : consumers)
    c->signal(SIGKILL);
  run_on(io, [&]() -> asio::awaitable<void> { co_await producer.shutdown(); });
}
