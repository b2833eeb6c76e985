// The state behind hydra::http::WebSocket, shared by the server (which creates it from an
// upgraded connection) and the WebSocket handle.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <string>

#include "hydra/http/websocket.hpp"

namespace hydra::http {

struct WebSocket::Impl : std::enable_shared_from_this<WebSocket::Impl> {
  Impl(boost::asio::ip::tcp::socket socket, WebSocketOptions options, std::string remote);

  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws;
  /// The connection's strand: every member below is touched only there.
  boost::asio::any_io_executor executor;
  WebSocketOptions options;
  std::string remote;
  boost::beast::flat_buffer read_buffer;
  std::deque<std::string> queue;
  bool writing = false;
  bool close_requested = false;
  std::atomic<bool> open{true};

  /// On the strand: queue a message and start the writer if idle.
  void enqueue(std::string text);
  /// On the strand: close after the queue drains.
  void request_close();
  /// On the strand: drop the TCP connection at once.
  void abort();

 private:
  void start_writer();
};

}  // namespace hydra::http
