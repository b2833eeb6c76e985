/// @brief Server-side WebSocket connections handed to a handler by hydra::http::Server when a
/// request on a WebSocket route asks for an upgrade (Server::websocket).
///
/// Threading: read() must be called from the handler coroutine (it runs on the connection's
/// strand); send() and close() may be called from any thread: they are posted to that strand and
/// writes go out one at a time in the order they were sent.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace hydra::http {

struct Request;

struct WebSocketOptions {
  /// Largest message accepted from a client; a larger one closes the connection (1009).
  std::size_t max_message_bytes = 1024 * 1024;
  /// Messages waiting to be written; a client that does not read and lets more pile up is
  /// disconnected instead of growing the queue without bound.
  std::size_t max_queued_messages = 4096;
  /// A connection with no traffic for this long is pinged; no answer within the same time
  /// closes it (Beast's suggested server timeouts: 300 s idle, with keep-alive pings).
  std::chrono::seconds idle_timeout{300};
  /// While data waits for the client (messages queued, or bytes the kernel holds unacknowledged),
  /// a connection on which nothing moves for this long (no write completes, no byte is
  /// acknowledged; checked once per period, so it goes after one to two periods) is dropped with
  /// a TCP reset: the client stopped reading, or its link is dead. Unlike max_queued_messages
  /// this does not depend on how much the socket buffers hold, nor on the client sending
  /// anything. Zero: never.
  std::chrono::milliseconds stalled_write_timeout{std::chrono::seconds(30)};
};

class WebSocket {
 public:
  struct Impl;
  explicit WebSocket(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  /// The next text or binary message; nullopt once the connection is closed (by either side,
  /// on a protocol error or a message over the limit).
  boost::asio::awaitable<std::optional<std::string>> read();
  /// Queues a text message. Returns false when the connection is already closed.
  bool send(std::string text);
  /// Sends a close frame after the queued messages and ends the connection.
  void close();
  bool is_open() const;
  /// The peer's address ("127.0.0.1"); empty when unknown.
  const std::string& remote_address() const;

 private:
  std::shared_ptr<Impl> impl_;
};

/// Runs for the life of one WebSocket connection; the connection is closed when it returns.
/// `request` is the upgrade request (headers, query, path parameters).
using WebSocketHandler = std::function<boost::asio::awaitable<void>(WebSocket, Request&)>;

}  // namespace hydra::http
