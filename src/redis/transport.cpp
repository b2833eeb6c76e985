// TCP / TLS / Unix socket streams for Redis connections.
#include "redis/transport.hpp"

#include <openssl/ssl.h>

#include <array>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/fd.hpp"
#include "hydra/error.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace hydra::redis {

asio::ssl::context& Transport::tls_context(const Config& config) {
  if (tls_context_) return *tls_context_;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3);
  try {
    if (config.tls.ca_file.empty()) {
      ctx->set_default_verify_paths();
    } else {
      ctx->load_verify_file(config.tls.ca_file);
    }
    if (!config.tls.cert_file.empty()) ctx->use_certificate_chain_file(config.tls.cert_file);
    if (!config.tls.key_file.empty()) {
      ctx->use_private_key_file(config.tls.key_file, asio::ssl::context::pem);
    }
  } catch (const std::exception& e) {
    throw Error(errc::tls_error, std::string("TLS setup failed: ") + e.what());
  }
  ctx->set_verify_mode(config.tls.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  tls_context_ = std::move(ctx);
  return *tls_context_;
}

asio::awaitable<void> Transport::connect(const Config& config, const std::string& host,
                                         std::uint16_t port) {
  close();
  if (!config.unix_path.empty()) {
    Unix socket(executor_);
    co_await socket.async_connect(asio::local::stream_protocol::endpoint(config.unix_path),
                                  use_awaitable);
    detail::close_on_exec(socket.native_handle());
    socket.non_blocking(true);
    stream_ = std::move(socket);
    co_return;
  }
  asio::ip::tcp::resolver resolver(executor_);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port), use_awaitable);
  Tcp socket(executor_);
  co_await asio::async_connect(socket, endpoints, use_awaitable);
  detail::close_on_exec(socket.native_handle());
  socket.set_option(asio::ip::tcp::no_delay(true));
  socket.set_option(asio::socket_base::keep_alive(true));
  if (!config.tls.enabled) {
    socket.non_blocking(true);  // for try_write; asynchronous operations are not affected
    stream_ = std::move(socket);
    co_return;
  }
  auto tls = std::make_unique<Tls>(std::move(socket), tls_context(config));
  const std::string& server_name = config.tls.sni.empty() ? host : config.tls.sni;
  if (!SSL_set_tlsext_host_name(tls->native_handle(), server_name.c_str())) {
    throw Error(errc::tls_error, "cannot set TLS server name " + server_name);
  }
  if (config.tls.verify_peer) {
    tls->set_verify_callback(asio::ssl::host_name_verification(server_name));
  }
  try {
    co_await tls->async_handshake(asio::ssl::stream_base::client, use_awaitable);
  } catch (const boost::system::system_error& e) {
    throw Error(errc::tls_error, "TLS handshake with " + host + ":" + std::to_string(port) +
                                     " failed: " + e.code().message());
  }
  stream_ = std::move(tls);
}

asio::awaitable<std::size_t> Transport::read_some(asio::mutable_buffer buffer) {
  if (auto* s = std::get_if<Tcp>(&stream_))
    co_return co_await s->async_read_some(buffer, use_awaitable);
  if (auto* s = std::get_if<std::unique_ptr<Tls>>(&stream_)) {
    co_return co_await (*s)->async_read_some(buffer, use_awaitable);
  }
  if (auto* s = std::get_if<Unix>(&stream_))
    co_return co_await s->async_read_some(buffer, use_awaitable);
  throw Error(errc::disconnected, "not connected");
}

asio::awaitable<void> Transport::write(asio::const_buffer buffer) {
  if (auto* s = std::get_if<Tcp>(&stream_)) {
    co_await asio::async_write(*s, buffer, use_awaitable);
  } else if (auto* s = std::get_if<std::unique_ptr<Tls>>(&stream_)) {
    co_await asio::async_write(**s, buffer, use_awaitable);
  } else if (auto* s = std::get_if<Unix>(&stream_)) {
    co_await asio::async_write(*s, buffer, use_awaitable);
  } else {
    throw Error(errc::disconnected, "not connected");
  }
}

// With TLS 1.3 the client's side of the handshake is over before the server has checked the
// client certificate. A server that rejects it sends an alert and closes; when it closes with the
// rest of the client's handshake unread, its kernel also sends a reset. A write that comes after
// that reset fails with "connection reset by peer" while the alert, which says why, waits unread
// in the socket. So after a failed write one read is tried: if it yields a TLS error (the alert),
// that is what is reported. Only where nothing else reads the stream (a TLS stream takes one read
// at a time); a read that finds nothing to return waits like any other, so the caller bounds it
// (the connection's connect timeout).
asio::awaitable<void> Transport::handshake_write(asio::const_buffer buffer) {
  auto* tls = std::get_if<std::unique_ptr<Tls>>(&stream_);
  if (!tls) {
    co_await write(buffer);
    co_return;
  }
  boost::system::error_code write_error;
  co_await asio::async_write(**tls, buffer, asio::redirect_error(use_awaitable, write_error));
  if (!write_error) co_return;
  boost::system::error_code read_error;
  std::array<char, 256> scratch{};
  co_await (*tls)->async_read_some(asio::buffer(scratch),
                                   asio::redirect_error(use_awaitable, read_error));
  if (read_error.category() == asio::error::get_ssl_category()) {
    throw boost::system::system_error(read_error);
  }
  throw boost::system::system_error(write_error);
}

std::size_t Transport::try_write(asio::const_buffer buffer) {
  boost::system::error_code ec;
  std::size_t n = 0;
  if (auto* s = std::get_if<Tcp>(&stream_)) {
    n = s->write_some(buffer, ec);
  } else if (auto* s = std::get_if<Unix>(&stream_)) {
    n = s->write_some(buffer, ec);
  }
  return ec ? 0 : n;
}

bool Transport::can_try_write() const {
  return std::holds_alternative<Tcp>(stream_) || std::holds_alternative<Unix>(stream_);
}

void Transport::close() {
  boost::system::error_code ignored;
  if (auto* s = std::get_if<Tcp>(&stream_)) {
    s->shutdown(Tcp::shutdown_both, ignored);
    s->close(ignored);
  } else if (auto* s = std::get_if<std::unique_ptr<Tls>>(&stream_)) {
    (*s)->lowest_layer().shutdown(Tcp::shutdown_both, ignored);
    (*s)->lowest_layer().close(ignored);
  } else if (auto* s = std::get_if<Unix>(&stream_)) {
    s->shutdown(Unix::shutdown_both, ignored);
    s->close(ignored);
  }
}

bool Transport::is_open() const {
  if (auto* s = std::get_if<Tcp>(&stream_)) return s->is_open();
  if (auto* s = std::get_if<std::unique_ptr<Tls>>(&stream_)) return (*s)->lowest_layer().is_open();
  if (auto* s = std::get_if<Unix>(&stream_)) return s->is_open();
  return false;
}

}  // namespace hydra::redis
