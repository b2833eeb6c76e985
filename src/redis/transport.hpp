// The byte stream under a Redis connection: TCP, TLS over TCP, or a Unix domain socket.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>
#include <variant>

#include "hydra/redis/config.hpp"

namespace hydra::redis {

class Transport {
 public:
  explicit Transport(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  /// Opens a new stream to the endpoint of `config` (TCP connect, TLS handshake with
  /// verification as configured, or Unix socket connect). Throws on failure.
  boost::asio::awaitable<void> connect(const Config& config, const std::string& host,
                                       std::uint16_t port);
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<void> write(boost::asio::const_buffer buffer);
  /// write() for the connection handshake, while nothing else reads the stream: when a TLS
  /// write fails, the alert a server that rejected the client certificate sent before
  /// resetting the connection is read and reported instead of the reset (transport.cpp).
  boost::asio::awaitable<void> handshake_write(boost::asio::const_buffer buffer);
  /// Writes what the socket takes now without waiting: the bytes written (0 when it would
  /// block or failed, the next asynchronous operation then reports the error, and 0 when
  /// can_try_write() is false).
  std::size_t try_write(boost::asio::const_buffer buffer);
  /// Whether try_write can write on this stream: a connected TCP or Unix socket (not TLS, whose
  /// records cannot be written partially this way).
  bool can_try_write() const;
  /// Closes the stream (idempotent); pending reads and writes complete with an error.
  void close();
  bool is_open() const;

 private:
  using Tcp = boost::asio::ip::tcp::socket;
  using Tls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  using Unix = boost::asio::local::stream_protocol::socket;

  boost::asio::ssl::context& tls_context(const Config& config);

  boost::asio::any_io_executor executor_;
  std::variant<std::monostate, Tcp, std::unique_ptr<Tls>, Unix> stream_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
};

}  // namespace hydra::redis
