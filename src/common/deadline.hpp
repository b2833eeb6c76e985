// A deadline for the operations of one connection, re-armed per phase without re-arming a timer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace hydra::detail {

/// Arming an Asio timer per operation costs a timer-queue insertion and, when the operation
/// finishes first, a cancelled completion: several per HTTP request. A Deadline keeps one wait
/// pending instead; `arm` only moves the deadline (and shortens the wait when the new deadline
/// is earlier), `disarm` only clears a flag, and a wait that ends before the current deadline
/// simply waits for the rest. When an armed deadline passes, `on_expiry` runs once on the
/// executor (typically: cancel the socket) and `expired()` turns true until the next `arm`.
///
/// Not thread-safe: use it from the connection's executor only. `on_expiry` never runs after the
/// Deadline is destroyed, so it may refer to its owner.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline(const boost::asio::any_io_executor& executor, std::function<void()> on_expiry);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(Clock::time_point at);
  void arm_after(Clock::duration d) { arm(Clock::now() + d); }
  void disarm();
  bool expired() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace hydra::detail
