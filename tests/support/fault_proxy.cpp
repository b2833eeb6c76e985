// The fault-injecting TCP proxy used by the chaos tests.
#include "support/fault_proxy.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace hydra::test {

struct FaultProxy::Pair : std::enable_shared_from_this<Pair> {
  Pair(tcp::socket c, tcp::socket s) : client(std::move(c)), server(std::move(s)) {}
  tcp::socket client;
  tcp::socket server;
  // Upstream gone but the client side deliberately left open and silent (a half-open link).
  std::atomic<bool> zombie{false};
  void close() {
    boost::system::error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }
};

namespace {

// Copies bytes one way; while the proxy holds, bytes already read wait here (nothing is lost,
// nothing moves) — from the endpoints' view the link hangs.
asio::awaitable<void> relay(std::shared_ptr<FaultProxy::Pair> pair, bool to_server,
                            const std::atomic<bool>& holding) {
  tcp::socket& from = to_server ? pair->client : pair->server;
  tcp::socket& to = to_server ? pair->server : pair->client;
  std::array<char, 16384> buf{};
  asio::steady_timer wait(co_await asio::this_coro::executor);
  try {
    for (;;) {
      std::size_t n = co_await from.async_read_some(asio::buffer(buf), asio::use_awaitable);
      while (holding.load()) {
        wait.expires_after(std::chrono::milliseconds(5));
        co_await wait.async_wait(asio::use_awaitable);
      }
      if (pair->zombie) continue;  // swallow what the client sends
      co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // The link ended (EOF, reset, cut): close both sides below, unless it is a zombie.
  }
  if (!pair->zombie) pair->close();
}

}  // namespace

FaultProxy::FaultProxy(unsigned short target_port)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      target_port_(target_port) {
  port_ = acceptor_.local_endpoint().port();
  accept_loop();
  thread_ = std::thread([this] { io_.run(); });
}

FaultProxy::~FaultProxy() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  cut_all();
  io_.stop();
  thread_.join();
}

void FaultProxy::accept_loop() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket client) {
    if (ec) return;
    ++accepted_;
    tcp::socket server(io_);
    boost::system::error_code cec;
    server.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), target_port_), cec);
    if (!cec) {
      auto pair = std::make_shared<Pair>(std::move(client), std::move(server));
      {
        std::lock_guard lock(mutex_);
        pairs_.push_back(pair);
      }
      asio::co_spawn(io_, relay(pair, true, holding_), asio::detached);
      asio::co_spawn(io_, relay(pair, false, holding_), asio::detached);
    }
    accept_loop();
  });
}

void FaultProxy::cut_all() {
  std::vector<std::shared_ptr<Pair>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : pairs_) {
      if (auto p = w.lock()) live.push_back(p);
    }
    pairs_.clear();
  }
  for (auto& p : live)
    asio::post(io_, [p] { p->close(); });
}

void FaultProxy::kill_upstream() {
  std::vector<std::shared_ptr<Pair>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : pairs_) {
      if (auto p = w.lock()) live.push_back(p);
    }
    pairs_.clear();
  }
  for (auto& p : live) {
    asio::post(io_, [p] {
      p->zombie = true;
      boost::system::error_code ignored;
      p->server.close(ignored);
    });
  }
}

void FaultProxy::black_hole() {
  holding_ = true;
}

void FaultProxy::resume() {
  holding_ = false;
}

}  // namespace hydra::test
