// Cheap readings of the steady clock for deadlines and cache lifetimes, which need milliseconds,
// not nanoseconds.
#pragma once

#include <time.h>

#include <chrono>

namespace hydra {

/// steady_clock's time as of the kernel's last timekeeping update: never later than
/// std::chrono::steady_clock::now(), and behind it by about one tick (a few milliseconds), more
/// when a tick is handled late (as on a busy virtual machine). It reads CLOCK_MONOTONIC_COARSE,
/// the clock behind steady_clock as sampled at each tick, which the vDSO returns without
/// reading the time-stamp counter: about 5 ns here instead of 25. For lifetimes and deadlines
/// of internal bookkeeping only, where a few milliseconds do not matter.
inline std::chrono::steady_clock::time_point coarse_steady_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) +
                                               std::chrono::nanoseconds(ts.tv_nsec));
}

/// The coarse clock's resolution (one tick), read once.
inline std::chrono::nanoseconds coarse_steady_resolution() {
  static const std::chrono::nanoseconds resolution = [] {
    timespec ts{};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  }();
  return resolution;
}

/// A deadline `timeout` from now from the coarse clock, moved on by its resolution: at most one
/// tick later than steady_clock::now() + timeout, and earlier only by as much as the kernel's
/// last tick was late.
template <class Rep, class Period>
std::chrono::steady_clock::time_point coarse_deadline_after(
    std::chrono::duration<Rep, Period> timeout) {
  return coarse_steady_now() + coarse_steady_resolution() + timeout;
}

}  // namespace hydra
