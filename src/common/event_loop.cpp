#include "hydra/event_loop.hpp"

#include <sched.h>

namespace hydra {

std::size_t run_event_loop(boost::asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() <= 0) return io.run();
  using Clock = std::chrono::steady_clock;
  std::size_t handlers = 0;
  auto last_work = Clock::now();
  // poll() runs what is ready, including a non-blocking look at the reactor; when the
  // io_context has no work left it stops it, which ends the loop exactly as run() would.
  while (!io.stopped()) {
    if (const std::size_t n = io.poll(); n > 0) {
      handlers += n;
      last_work = Clock::now();
      continue;
    }
    if (io.stopped()) break;
    if (Clock::now() - last_work < busy_poll) {
      // Another runnable thread on this CPU (a service, the client) goes first.
      sched_yield();
      continue;
    }
    handlers += io.run_one();  // blocks until the next event
    last_work = Clock::now();
  }
  return handlers;
}

}  // namespace hydra
