// Server-side WebSocket connections: one reader (the handler), a write queue drained by one
// writer coroutine on the connection's strand, and a polite close after the queue drains.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/role.hpp>

#include "http/websocket_impl.hpp"

namespace hydra::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
}

WebSocket::Impl::Impl(asio::ip::tcp::socket socket, WebSocketOptions opts, std::string remote_ip)
    : ws(std::move(socket)),
      executor(ws.get_executor()),
      options(opts),
      remote(std::move(remote_ip)) {
  ws.read_message_max(options.max_message_bytes);
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.text(true);
}

void WebSocket::Impl::enqueue(std::string text) {
  if (!open || close_requested) return;
  if (queue.size() >= options.max_queued_messages) {
    // A client that stopped reading: drop it rather than buffering without bound.
    abort();
    return;
  }
  queue.push_back(std::move(text));
  start_writer();
}

void WebSocket::Impl::request_close() {
  if (!open || close_requested) return;
  close_requested = true;
  start_writer();
}

void WebSocket::Impl::abort() {
  // The queue is left alone: its front may be the buffer of a write in progress. The writer
  // stops at the next error; what is left goes with this object.
  open = false;
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws).shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws).close(ignored);
}

void WebSocket::Impl::start_writer() {
  if (writing) return;
  writing = true;
  asio::co_spawn(
      executor,
      [self = shared_from_this()]() -> asio::awaitable<void> {
        while (self->open && !self->queue.empty()) {
          // The front stays in the queue while it is written, so the buffer remains valid.
          auto [ec, n] =
              co_await self->ws.async_write(asio::buffer(self->queue.front()), tuple_awaitable);
          if (!self->queue.empty()) self->queue.pop_front();
          if (ec) {
            self->abort();
            break;
          }
        }
        if (self->open && self->close_requested) {
          auto [ec] = co_await self->ws.async_close(websocket::close_code::normal, tuple_awaitable);
          if (ec) self->abort();
          self->open = false;
        }
        self->writing = false;
      },
      asio::detached);
}

asio::awaitable<std::optional<std::string>> WebSocket::read() {
  auto self = impl_;
  if (!self->open) co_return std::nullopt;
  self->read_buffer.clear();
  auto [ec, n] = co_await self->ws.async_read(self->read_buffer, tuple_awaitable);
  if (ec) {
    // A close frame from the client, a protocol error, an oversized message or a timeout.
    self->open = false;
    co_return std::nullopt;
  }
  co_return beast::buffers_to_string(self->read_buffer.data());
}

bool WebSocket::send(std::string text) {
  if (!impl_->open) return false;
  asio::post(impl_->executor,
             [self = impl_, text = std::move(text)]() mutable { self->enqueue(std::move(text)); });
  return true;
}

void WebSocket::close() {
  asio::post(impl_->executor, [self = impl_] { self->request_close(); });
}

bool WebSocket::is_open() const {
  return impl_->open;
}

const std::string& WebSocket::remote_address() const {
  return impl_->remote;
}

}  // namespace hydra::http
