/// @brief One Redis connection on Boost.Asio: automatic pipelining, reconnect with backoff,
/// AUTH/SELECT on every connect, TLS and Unix sockets, and a subscriber mode that restores its
/// subscriptions after a reconnect.
///
/// Recovery contract: a Connection survives every connection error by itself. Commands already
/// written when the link drops complete with `errc::disconnected`; commands issued while it is
/// down wait for the reconnect (up to their timeout) unless `RequestOptions::wait_for_connection`
/// is false, in which case they fail at once with `errc::disconnected`. Subscriptions are
/// re-issued exactly once after each reconnect. Thread-safe: calls may come from any thread; all
/// state lives on an internal strand.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "hydra/redis/config.hpp"
#include "hydra/redis/reply.hpp"
#include "hydra/redis/request.hpp"

namespace hydra::redis {

/// Connection states, in the order a connection goes through them.
enum class State { idle, connecting, connected, disconnected, stopped };

/// The name of a state ("connected", ...).
const char* to_string(State state);

/// Per-request control.
struct RequestOptions {
  /// Time allowed for the request; negative = `Config::command_timeout`, zero = no limit (for
  /// blocking commands such as BRPOPLPUSH).
  std::chrono::milliseconds timeout{-1};
  /// Wait for a reconnect when the connection is down (true), or fail at once (false).
  bool wait_for_connection = true;
};

/// What the connection is for.
enum class Mode {
  /// Ordinary commands, pipelined.
  commands,
  /// SUBSCRIBE/PSUBSCRIBE only; messages go to the message handler.
  subscriber,
};

class Connection {
 public:
  using BatchHandler =
      boost::asio::any_completion_handler<void(std::error_code, std::vector<Reply>)>;
  using ReplyHandler = boost::asio::any_completion_handler<void(std::error_code, Reply)>;
  /// Called on the connection's strand for each state change with a human-readable detail.
  using StateHandler = std::function<void(State, const std::string& detail)>;
  /// Called on the connection's strand for each pub/sub message (subscriber mode).
  using MessageHandler = std::function<void(std::string_view channel, std::string_view payload)>;

  Connection(boost::asio::any_io_executor executor, Config config, Mode mode = Mode::commands);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Set handlers before start().
  void set_state_handler(StateHandler handler);
  void set_message_handler(MessageHandler handler);

  /// Starts connecting (and reconnecting after failures) in the background. Idempotent.
  void start();
  /// Stops for good: pending requests fail with `errc::stopped`, the socket is closed.
  void stop();

  /// Sends commands back to back (never interleaved with other requests) and completes with all
  /// their replies. Error replies are returned as replies, not as errors; `ec` is set only for
  /// transport failures (`disconnected`, `timeout`, `stopped`). Signature:
  /// `void(std::error_code, std::vector<Reply>)`.
  template <class Token>
  auto async_exec(std::vector<Command> commands, RequestOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, std::vector<Reply>)>(
        [this](auto handler, std::vector<Command>&& c, RequestOptions opts) {
          initiate(std::move(c), opts, BatchHandler(std::move(handler)));
        },
        token, std::move(commands), options);
  }
  template <class Token>
  auto async_exec(Request request, RequestOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, std::vector<Reply>)>(
        [this](auto handler, Request&& r, RequestOptions opts) {
          initiate(std::move(r), opts, BatchHandler(std::move(handler)));
        },
        token, std::move(request), options);
  }

  /// One command, completing with its reply: the same as `async_exec` with a batch of one,
  /// without a vector on either side. For a command with several replies ((P)SUBSCRIBE of
  /// several channels), or a request of several commands, the last one; an empty command
  /// completes at once with a nil reply. Signature: `void(std::error_code, Reply)`.
  template <class Token>
  auto async_exec_one(Command command, RequestOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, Reply)>(
        [this](auto handler, Command&& c, RequestOptions opts) {
          initiate_one(std::move(c), opts, ReplyHandler(std::move(handler)));
        },
        token, std::move(command), options);
  }
  template <class Token>
  auto async_exec_one(Request request, RequestOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, Reply)>(
        [this](auto handler, Request&& r, RequestOptions opts) {
          initiate_one(std::move(r), opts, ReplyHandler(std::move(handler)));
        },
        token, std::move(request), options);
  }

  /// async_exec_one for a callback that has no executor of its own, such as a lambda of code
  /// that runs on the connection's executor: it is called there, as async_exec_one would call
  /// it, without being asked for its executor first (a few hundred instructions per request on
  /// a busy path). `callback`: `void(std::error_code, Reply)`.
  template <class Callback>
  void exec_one_here(Request request, RequestOptions options, Callback&& callback) {
    initiate_here(std::move(request), options, ReplyHandler(std::forward<Callback>(callback)));
  }

  /// One command; throws `hydra::Error` on transport failure, returns the reply (which may be
  /// an error reply: call `Reply::check()`). An empty command or request is refused with
  /// `errc::invalid_argument`. A request of several commands gives the last one's reply.
  boost::asio::awaitable<Reply> exec(Command command, RequestOptions options = {});
  boost::asio::awaitable<Reply> exec(Request request, RequestOptions options = {});
  /// Several commands written together; throws `hydra::Error` on transport failure.
  boost::asio::awaitable<std::vector<Reply>> exec_batch(std::vector<Command> commands,
                                                        RequestOptions options = {});
  boost::asio::awaitable<std::vector<Reply>> exec_batch(Request request,
                                                        RequestOptions options = {});

  /// Subscriber mode: subscribes and completes when Redis has confirmed every channel. The
  /// channels are remembered and re-subscribed after each reconnect. Throws `hydra::Error`.
  boost::asio::awaitable<void> subscribe(std::vector<std::string> channels);
  /// Subscriber mode: pattern subscriptions, restored like `subscribe`.
  boost::asio::awaitable<void> psubscribe(std::vector<std::string> patterns);
  /// Subscriber mode: forgets and unsubscribes the channels.
  boost::asio::awaitable<void> unsubscribe(std::vector<std::string> channels);

  State state() const;
  bool connected() const { return state() == State::connected; }
  /// How many times a connection was established (1 after the first connect).
  unsigned long connect_count() const;
  /// Writes so far: by the writer (at most one per turn of the event loop) and early writes
  /// (Config::early_write_threshold). For tests and diagnostics.
  struct WriteCounts {
    unsigned long writer = 0;
    unsigned long early = 0;
  };
  WriteCounts write_counts() const;
  const Config& config() const;

 private:
  void initiate(std::vector<Command>&& commands, RequestOptions options, BatchHandler handler);
  void initiate(Request&& request, RequestOptions options, BatchHandler handler);
  void initiate_one(Command&& command, RequestOptions options, ReplyHandler handler);
  void initiate_one(Request&& request, RequestOptions options, ReplyHandler handler);
  void initiate_here(Request&& request, RequestOptions options, ReplyHandler handler);
  // exec and exec_batch: completed with the transport error as an exception.
  using ThrowingBatchHandler =
      boost::asio::any_completion_handler<void(std::exception_ptr, std::vector<Reply>)>;
  using ThrowingReplyHandler = boost::asio::any_completion_handler<void(std::exception_ptr, Reply)>;
  void initiate_throwing(std::vector<Command>&& commands, RequestOptions options,
                         ThrowingBatchHandler handler);
  void initiate_throwing(Request&& request, RequestOptions options, ThrowingBatchHandler handler);
  void initiate_throwing_one(Command&& command, RequestOptions options,
                             ThrowingReplyHandler handler);
  void initiate_throwing_one(Request&& request, RequestOptions options,
                             ThrowingReplyHandler handler);
  // Requests are passed on as rvalues (a Request moves two strings' worth of members).
  template <class Handler, class Commands>
  void initiate_any(Commands&& commands, RequestOptions options, Handler handler);
  template <class Commands>
  boost::asio::awaitable<Reply> exec_any(Commands&& commands, RequestOptions options);
  template <class Commands>
  boost::asio::awaitable<std::vector<Reply>> exec_batch_any(Commands&& commands,
                                                            RequestOptions options);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hydra::redis
