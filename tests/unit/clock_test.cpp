// The coarse steady clock behind the connection's command deadlines and the presence cache: it
// must be steady_clock's own time base, only less precise, or times taken from it would be off.
#include "common/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

// How far behind a late kernel tick may leave the coarse clock on a busy test machine, beyond its
// resolution. Generous: what is checked is the time base, which would be off by far more.
constexpr auto kLateTick = 50ms;

TEST(CoarseClock, ResolutionIsOneTickOfAFewMilliseconds) {
  const auto resolution = hydra::coarse_steady_resolution();
  EXPECT_GT(resolution, 0ns);
  EXPECT_LE(resolution, 20ms);
}

TEST(CoarseClock, IsNeverAheadOfTheSteadyClockAndLagsItByAboutATick) {
  const auto resolution = hydra::coarse_steady_resolution();
  for (int i = 0; i < 2000; ++i) {
    const auto before = steady_clock::now();
    const auto coarse = hydra::coarse_steady_now();
    const auto after = steady_clock::now();
    ASSERT_LE(coarse, after) << "at reading " << i;
    ASSERT_GE(coarse, before - resolution - kLateTick) << "at reading " << i;
    if (i % 200 == 0) std::this_thread::sleep_for(1ms);
  }
}

TEST(CoarseClock, ADeadlineIsAtMostATickLateAndOnlyEarlyByALateTick) {
  const auto resolution = hydra::coarse_steady_resolution();
  for (auto timeout : {0ms, 1ms, 250ms, 10000ms}) {
    for (int i = 0; i < 500; ++i) {
      const auto before = steady_clock::now();
      const auto deadline = hydra::coarse_deadline_after(timeout);
      const auto after = steady_clock::now();
      ASSERT_LE(deadline, after + timeout + resolution) << timeout.count() << " ms";
      ASSERT_GE(deadline, before + timeout - kLateTick) << timeout.count() << " ms";
    }
  }
}

}  // namespace
