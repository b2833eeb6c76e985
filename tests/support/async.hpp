// Runs a coroutine to completion on a fresh io_context, with a time limit, for tests.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace hydra::test {

/// Runs `make()` (a function returning an awaitable<T>) on `io` until it completes; rethrows its
/// exception; throws std::runtime_error if it takes longer than `limit`.
template <class F>
auto run_on(boost::asio::io_context& io, F make,
            std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  using Awaitable = decltype(make());
  using T = typename Awaitable::value_type;
  std::exception_ptr error;
  bool done = false;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, make(), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
  } else {
    std::optional<T> result;
    boost::asio::co_spawn(io, make(), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result.emplace(std::move(value));
      done = true;
    });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
      if (io.stopped()) io.restart();
    }
    if (!done) throw std::runtime_error("test coroutine did not finish in time");
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  if (!done) throw std::runtime_error("test coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
}

/// Lets `io` run for `d` (to give background tasks time).
inline void pump(boost::asio::io_context& io, std::chrono::milliseconds d) {
  auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
}

/// Runs `io` until `done()` is true or `timeout` has passed (restarting it when it runs out
/// of work); returns `done()`.
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done,
               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

/// A coroutine sleep.
inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

}  // namespace hydra::test
