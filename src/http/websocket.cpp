// Server-side WebSocket connections: one reader (the handler), a write queue drained by one
// writer coroutine on the connection's strand, and a polite close after the queue drains.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/role.hpp>

#include <sys/ioctl.h>

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
      remote(std::move(remote_ip)),
      write_watch(executor) {
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
    drop();
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

void WebSocket::Impl::drop() {
  open = false;
  boost::system::error_code ignored;
  auto& socket = beast::get_lowest_layer(ws);
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

WriteProgress WebSocket::Impl::progress() {
  int unacked = 0;
  auto& socket = beast::get_lowest_layer(ws);
  if (!socket.is_open() || ::ioctl(socket.native_handle(), TIOCOUTQ, &unacked) != 0) unacked = 0;
  return {writes_done, unacked};
}

// A timer looks once per stalled_write_timeout while data waits for the peer, in the writer's
// queue or in the kernel (judge_write_progress); when nothing moved for a whole period the peer
// is not taking data and the connection is dropped. It holds the connection weakly: a
// connection that goes away cancels it.
void WebSocket::Impl::watch_writes() {
  if (watching || options.stalled_write_timeout.count() <= 0) return;
  watching = true;
  write_watch.expires_after(options.stalled_write_timeout);
  write_watch.async_wait(
      [weak = weak_from_this(), before = progress()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        self->watching = false;
        if (ec || !self->open) return;
        switch (judge_write_progress(before, self->progress(), self->writing)) {
          case WatchVerdict::stop:
            return;
          case WatchVerdict::again:
            self->watch_writes();
            return;
          case WatchVerdict::drop:
            self->drop();
            return;
        }
      });
}

void WebSocket::Impl::start_writer() {
  if (writing) return;
  writing = true;
  watch_writes();
  asio::co_spawn(
      executor,
      [self = shared_from_this()]() -> asio::awaitable<void> {
        while (self->open && !self->queue.empty()) {
          // The front stays in the queue while it is written, so the buffer remains valid.
          auto [ec, n] =
              co_await self->ws.async_write(asio::buffer(self->queue.front()), tuple_awaitable);
          ++self->writes_done;
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
