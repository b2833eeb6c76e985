// The state behind hydra::http::WebSocket, shared by the server (which creates it from an
// upgraded connection) and the WebSocket handle.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "http/write_watch.hpp"
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
  /// Writes completed so far, and the timer that checks data keeps moving to the peer
  /// (stalled_write_timeout).
  std::uint64_t writes_done = 0;
  boost::asio::steady_timer write_watch;
  bool watching = false;

  /// On the strand: queue a message and start the writer if idle.
  void enqueue(std::string text);
  /// On the strand: close after the queue drains.
  void request_close();
  /// On the strand: close the TCP connection at once (what was written still goes out).
  void abort();
  /// On the strand: reset the TCP connection (SO_LINGER 0): a peer that does not read gets the
  /// reset at once instead of a FIN queued behind data it will never take.
  void drop();

 private:
  void start_writer();
  void watch_writes();
  WriteProgress progress();
};

}  // namespace hydra::http
