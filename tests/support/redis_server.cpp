// A private redis-server for one test.
#include "support/redis_server.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace hydra::test {

RedisServer::RedisServer(std::vector<std::string> extra) : extra_(std::move(extra)) {
  char tmpl[] = "/tmp/hydra-redis-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  unix_socket_ = dir_ + "/redis.sock";
  start();
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url(int db) const {
  return "redis://" + host_ + ":" + std::to_string(port_) + "/" + std::to_string(db);
}

void RedisServer::start() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = free_port();
    std::vector<std::string> argv = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     host_,
                                     "--dir",
                                     dir_,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no",
                                     "--unixsocket",
                                     unix_socket_,
                                     "--unixsocketperm",
                                     "700",
                                     "--enable-debug-command",
                                     "yes",
                                     "--loglevel",
                                     "warning"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{}, true);
    try {
      wait_ready();
      return;
    } catch (const std::exception&) {
      process_.reset();
      if (attempt == 4) throw;
    }
  }
}

void RedisServer::wait_ready() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) {
      throw std::runtime_error("redis-server exited: " +
                               process_->output(std::chrono::milliseconds(100)));
    }
    auto [status, out] =
        run_command({"redis-cli", "-s", unix_socket_, "PING"}, {}, std::chrono::seconds(2));
    if (status == 0 &&
        (out.find("PONG") != std::string::npos || out.find("NOAUTH") != std::string::npos)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("redis-server did not become ready");
}

void RedisServer::stop() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(10));
    process_.reset();
  }
}

void RedisServer::restart() {
  stop();
  start();
}

long RedisServer::command_calls(const std::string& command) const {
  const std::string stats = cli({"INFO", "commandstats"});
  const std::string key = "cmdstat_" + command + ":calls=";
  const auto at = stats.find(key);
  return at == std::string::npos ? 0 : std::stol(stats.substr(at + key.size()));
}

std::string RedisServer::cli(const std::vector<std::string>& args, int db) const {
  std::vector<std::string> argv = {"redis-cli",        "-s",   unix_socket_, "-n",
                                   std::to_string(db), "--raw"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [status, out] = run_command(argv, {}, std::chrono::seconds(30));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  if (status != 0) throw std::runtime_error("redis-cli failed: " + out);
  return out;
}

}  // namespace hydra::test
