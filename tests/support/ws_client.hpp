// A WebSocket client for tests: connects to a loopback port, reads on a background io thread
// into a queue, and lets the test wait for messages with a timeout.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hydra::test {

class WsClient {
 public:
  /// Connects and completes the handshake within 10 s (throws on failure or when the server
  /// does not answer in time, instead of blocking the test). `headers` go on the upgrade
  /// request.
  explicit WsClient(std::uint16_t port, std::string target = "/",
                    std::vector<std::pair<std::string, std::string>> headers = {})
      : ws_(io_) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    ws_.set_option(boost::beast::websocket::stream_base::decorator(
        [headers](boost::beast::websocket::request_type& req) {
          for (const auto& [name, value] : headers)
            req.set(name, value);
        }));
    const std::string host = "127.0.0.1:" + std::to_string(port);
    std::optional<boost::system::error_code> opened;
    ws_.next_layer().async_connect(endpoint, [&](boost::system::error_code ec) {
      if (ec) {
        opened = ec;
        return;
      }
      ws_.async_handshake(host, target, [&](boost::system::error_code hec) { opened = hec; });
    });
    io_.run_for(std::chrono::seconds(10));
    // On a throw the pending operations are destroyed with io_, never run.
    if (!opened) throw std::runtime_error("websocket connect and handshake took over 10 s");
    if (*opened) throw boost::system::system_error(*opened, "websocket connect or handshake");
    io_.restart();
    ws_.text(true);
    start_read();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~WsClient() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ignored;
      ws_.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      ws_.next_layer().close(ignored);
    });
    thread_.join();
  }

  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  void send(std::string text) {
    boost::asio::post(io_, [this, text = std::move(text)]() mutable {
      outgoing_.push_back(std::move(text));
      if (outgoing_.size() == 1) write_next();
    });
  }

  /// The next message, or nullopt after `timeout` or once closed with nothing left.
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return !incoming_.empty() || closed_; });
    if (incoming_.empty()) return std::nullopt;
    std::string out = std::move(incoming_.front());
    incoming_.pop_front();
    return out;
  }

  /// Reads until `predicate` accepts a message (others are dropped) or the time is up.
  std::optional<std::string> read_until(
      const std::function<bool(const std::string&)>& predicate,
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto message = read(left);
      if (!message) return std::nullopt;
      if (predicate(*message)) return message;
    }
  }

  /// True once the server closed the connection (waits up to `timeout`).
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return closed_; });
  }

 private:
  void start_read() {
    ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
      std::lock_guard lock(mutex_);
      if (ec) {
        closed_ = true;
        cv_.notify_all();
        return;
      }
      incoming_.push_back(boost::beast::buffers_to_string(buffer_.data()));
      buffer_.clear();
      cv_.notify_all();
      start_read();
    });
  }

  void write_next() {
    ws_.async_write(boost::asio::buffer(outgoing_.front()),
                    [this](boost::system::error_code ec, std::size_t) {
                      outgoing_.pop_front();
                      if (!ec && !outgoing_.empty()) write_next();
                    });
  }

  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> outgoing_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> incoming_;
  bool closed_ = false;
};

}  // namespace hydra::test
