// run_event_loop: io_context::run() semantics with and without busy polling.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "hydra/event_loop.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Each handler posts the next one until `left` reaches zero.
void chain(asio::io_context& io, int& left) {
  if (--left > 0) asio::post(io, [&io, &left] { chain(io, left); });
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// How often this thread has gone to sleep waiting (voluntary context switches).
long thread_voluntary_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw;
}

class EventLoop : public ::testing::TestWithParam<int> {
 protected:
  std::chrono::microseconds window() const { return std::chrono::microseconds(GetParam()); }
};

TEST_P(EventLoop, RunsEveryHandlerAndReturnsWhenWorkRunsOut) {
  asio::io_context io(1);
  int left = 1000;
  asio::post(io, [&] { chain(io, left); });
  EXPECT_EQ(hydra::run_event_loop(io, window()), 1000u);
  EXPECT_EQ(left, 0);
  EXPECT_TRUE(io.stopped());
}

TEST_P(EventLoop, RunsWorkPostedFromAnotherThreadLongAfterTheLastEvent) {
  asio::io_context io(1);
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard(
      io.get_executor());
  bool ran = false;
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);  // far beyond the window: the loop is blocked by now
    asio::post(io, [&] {
      ran = true;
      guard.reset();
    });
  });
  hydra::run_event_loop(io, window());
  other.join();
  EXPECT_TRUE(ran);
}

TEST_P(EventLoop, StopFromAnotherThreadEndsIt) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  std::thread other([&] {
    std::this_thread::sleep_for(20ms);
    io.stop();
  });
  EXPECT_EQ(hydra::run_event_loop(io, window()), 0u);
  other.join();
  EXPECT_TRUE(io.stopped());
}

TEST_P(EventLoop, TimersFireOnTime) {
  asio::io_context io(1);
  asio::steady_timer timer(io, 5ms);
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration fired{};
  timer.async_wait([&](boost::system::error_code ec) {
    EXPECT_FALSE(ec);
    fired = std::chrono::steady_clock::now() - start;
  });
  EXPECT_EQ(hydra::run_event_loop(io, window()), 1u);
  EXPECT_GE(fired, 5ms);
  EXPECT_LT(fired, 1s);
}

INSTANTIATE_TEST_SUITE_P(Windows, EventLoop, ::testing::Values(0, 100, 2000), [](const auto& info) {
  return "busy_poll_" + std::to_string(info.param) + "us";
});

TEST(EventLoopBusyPoll, SleepsWhenNothingHappensForLongerThanTheWindow) {
  // 300 ms without events and a 200 µs window: the thread must block, not spin. Spinning would
  // cost about 300 ms of CPU; blocking costs next to nothing.
  asio::io_context io(1);
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard(
      io.get_executor());
  std::thread other([&] {
    std::this_thread::sleep_for(300ms);
    asio::post(io, [&] { guard.reset(); });
  });
  const double cpu_before = thread_cpu_ms();
  hydra::run_event_loop(io, 200us);
  const double cpu_ms = thread_cpu_ms() - cpu_before;
  other.join();
  EXPECT_LT(cpu_ms, 60.0);
}

TEST(EventLoopBusyPoll, KeepsPollingWhileEventsArriveWithinTheWindow) {
  // Events 1 ms apart with a 50 ms window: the thread never blocks between them; with no window
  // it blocks for each. Counted as the thread's voluntary context switches (each time it went
  // to sleep waiting), which, unlike its share of the CPU, does not depend on how busy the
  // machine is: a polling thread yields to others but never waits.
  struct Run {
    double cpu_share = 0;
    long blocked = 0;
  };
  auto run = [](std::chrono::microseconds window) {
    asio::io_context io(1);
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard(
        io.get_executor());
    std::atomic<int> handled = 0;
    std::thread other([&] {
      for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(1ms);
        asio::post(io, [&] { ++handled; });
      }
      asio::post(io, [&] { guard.reset(); });
    });
    const double cpu_before = thread_cpu_ms();
    const long blocked_before = thread_voluntary_switches();
    const auto wall_before = std::chrono::steady_clock::now();
    hydra::run_event_loop(io, window);
    Run r;
    r.blocked = thread_voluntary_switches() - blocked_before;
    const double cpu_ms = thread_cpu_ms() - cpu_before;
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_before)
            .count();
    r.cpu_share = cpu_ms / wall_ms;
    other.join();
    EXPECT_EQ(handled.load(), 100);
    return r;
  };
  const Run blocking = run(0us);
  const Run polling = run(50ms);
  EXPECT_LT(blocking.cpu_share, 0.2);
  // Each of the 100 events finds the blocking thread asleep, unless the machine is so busy that
  // several arrive before it runs again.
  EXPECT_GE(blocking.blocked, 20) << "cpu share " << blocking.cpu_share;
  EXPECT_LE(polling.blocked, 5) << "cpu share " << polling.cpu_share;
}

}  // namespace
