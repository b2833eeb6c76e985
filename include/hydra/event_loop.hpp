// Running an io_context, optionally busy-polling between events.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>

namespace hydra {

/// Runs `io` on the calling thread until it runs out of work or is stopped, as
/// `io_context::run()` does, and returns the number of handlers run.
///
/// With a non-zero `busy_poll`, whenever the queue is empty the thread keeps asking the kernel
/// for ready events without blocking (yielding the CPU to any other runnable thread between
/// tries) for up to `busy_poll` after the last handler ran, and only then blocks. Where a
/// sleeping CPU is slow to wake (virtual machines: every wake-up of an idle vCPU is an exit
/// to the hypervisor) this removes a wake-up from every event that arrives within the window,
/// which is most of the latency a proxy adds. The price is CPU: a thread whose events arrive
/// less than `busy_poll` apart never sleeps, so at moderate load it uses a whole core. Zero
/// (the default everywhere) is plain `io_context::run()`. docs/benchmarks.md has the figures.
std::size_t run_event_loop(boost::asio::io_context& io,
                           std::chrono::microseconds busy_poll = std::chrono::microseconds(0));

}  // namespace hydra
