// A TCP proxy between a client and redis-server that injects faults: cut every connection,
// or stop relaying (a black hole) until resumed. Runs its own thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hydra::test {

class FaultProxy {
 public:
  /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:`target_port`.
  explicit FaultProxy(unsigned short target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  unsigned short port() const { return port_; }
  /// Closes every proxied connection at once (new connections are still accepted).
  void cut_all();
  /// Drops the upstream side of every connection but leaves the client side open and silent
  /// (what a client sees when a proxy's backend dies): only a timeout can notice it.
  void kill_upstream();
  /// Stops forwarding bytes in both directions (connections stay open) until `resume()`.
  void black_hole();
  void resume();
  /// Connections accepted so far.
  unsigned long accepted() const { return accepted_.load(); }

 public:
  struct Pair;

 private:
  void accept_loop();
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short target_port_;
  unsigned short port_ = 0;
  std::atomic<bool> holding_{false};
  std::atomic<unsigned long> accepted_{0};
  std::mutex mutex_;
  std::vector<std::weak_ptr<Pair>> pairs_;
  std::thread thread_;
};

}  // namespace hydra::test
