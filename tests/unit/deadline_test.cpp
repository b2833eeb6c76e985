// hydra::detail::Deadline: one pending timer wait serving every arm/disarm of a connection.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "common/deadline.hpp"

namespace asio = boost::asio;
using hydra::detail::Deadline;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Runs `io` for `d` (or until it runs out of work).
void run_for(asio::io_context& io, Clock::duration d) {
  io.restart();
  io.run_for(d);
}

TEST(Deadline, FiresOnceWhenAnArmedDeadlinePasses) {
  asio::io_context io;
  int fired = 0;
  Clock::time_point when{};
  Deadline d(io.get_executor(), [&] {
    ++fired;
    when = Clock::now();
  });
  const auto start = Clock::now();
  d.arm_after(20ms);
  EXPECT_FALSE(d.expired());
  run_for(io, 300ms);
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(d.expired());
  EXPECT_GE(when - start, 20ms);
  d.arm_after(1s);
  EXPECT_FALSE(d.expired()) << "arming starts a new phase";
}

TEST(Deadline, ADisarmedDeadlineNeverFires) {
  asio::io_context io;
  int fired = 0;
  Deadline d(io.get_executor(), [&] { ++fired; });
  d.arm_after(10ms);
  d.disarm();
  run_for(io, 100ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(d.expired());
}

TEST(Deadline, ALaterDeadlineIsWaitedForInFull) {
  // Armed for 20 ms, then after 10 ms for 60 ms more: the first wait ends early and must wait
  // for the rest instead of firing.
  asio::io_context io;
  Clock::time_point when{};
  Deadline d(io.get_executor(), [&] { when = Clock::now(); });
  const auto start = Clock::now();
  d.arm_after(20ms);
  asio::steady_timer later(io, 10ms);
  later.async_wait([&](boost::system::error_code) { d.arm_after(60ms); });
  run_for(io, 400ms);
  ASSERT_TRUE(d.expired());
  EXPECT_GE(when - start, 70ms);
}

TEST(Deadline, AnEarlierDeadlineShortensThePendingWait) {
  asio::io_context io;
  Clock::time_point when{};
  Deadline d(io.get_executor(), [&] { when = Clock::now(); });
  const auto start = Clock::now();
  d.arm_after(10s);
  d.arm_after(20ms);
  run_for(io, 2s);
  ASSERT_TRUE(d.expired());
  EXPECT_GE(when - start, 20ms);
  EXPECT_LT(when - start, 1s);
}

TEST(Deadline, ManyPhasesCostOneWait) {
  // A thousand arm/disarm pairs within the first deadline: nothing fires, and the io_context
  // ends with the one pending wait (run_for returns early only when no work is left).
  asio::io_context io;
  int fired = 0;
  Deadline d(io.get_executor(), [&] { ++fired; });
  for (int i = 0; i < 1000; ++i) {
    d.arm_after(50ms);
    d.disarm();
  }
  const auto start = Clock::now();
  run_for(io, 2s);
  EXPECT_EQ(fired, 0);
  EXPECT_GE(Clock::now() - start, 40ms) << "the wait was pending until about the deadline";
  EXPECT_LT(Clock::now() - start, 1s) << "and then nothing was left to run";
}

TEST(Deadline, DestroyedWhilePendingNeverCallsBack) {
  asio::io_context io;
  int fired = 0;
  auto d = std::make_unique<Deadline>(io.get_executor(), [&] { ++fired; });
  d->arm_after(10ms);
  d.reset();
  run_for(io, 100ms);
  EXPECT_EQ(fired, 0);
}

}  // namespace
