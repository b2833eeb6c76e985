// A private redis-server for one test: free loopback port, own temp directory, stopped by PID.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace hydra::test {

/// Starts `redis-server` on 127.0.0.1 and a free port (never the system service, never a fixed
/// port), with persistence off. Stops it (SIGKILL by PID) in the destructor.
class RedisServer {
 public:
  /// `extra` are additional redis-server arguments, e.g. {"--requirepass", "x"}.
  explicit RedisServer(std::vector<std::string> extra = {});
  ~RedisServer();

  unsigned short port() const { return port_; }
  const std::string& host() const { return host_; }
  /// `redis://127.0.0.1:<port>/<db>`.
  std::string url(int db = 0) const;
  /// The Unix socket path (always enabled).
  const std::string& unix_socket() const { return unix_socket_; }
  /// The temporary directory of this server.
  const std::string& dir() const { return dir_; }

  /// Stops the server (SIGKILL) and waits for it.
  void stop();
  /// Starts it again on the same port (after stop()).
  void start();
  /// stop() then start().
  void restart();

  /// Runs redis-cli against this server and returns its trimmed output (raw mode).
  std::string cli(const std::vector<std::string>& args, int db = 0) const;
  /// How many times `command` (lower case, as INFO commandstats names it) has run so far; 0
  /// when never.
  long command_calls(const std::string& command) const;

 private:
  void wait_ready();
  std::vector<std::string> extra_;
  std::string host_ = "127.0.0.1";
  unsigned short port_ = 0;
  std::string dir_;
  std::string unix_socket_;
  std::unique_ptr<Process> process_;
};

}  // namespace hydra::test
