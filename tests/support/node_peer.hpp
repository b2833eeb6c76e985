// Node Hydra 1.9.3 peers for interoperability tests (tests/interop/node/peer.js).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <map>

#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace hydra::test {

/// True when node and the npm packages are installed (scripts/setup.sh does it).
inline bool node_available() {
  return std::filesystem::exists(std::string(HYDRA_NODE_DIR) +
                                 "/node_modules/hydra/package.json") &&
         run_command({"node", "--version"}, {}, std::chrono::seconds(10)).first == 0;
}

/// A long-running Node service (`peer.js serve`).
class NodeService {
 public:
  NodeService(const std::string& redis_url, const std::string& name, const std::string& port = "")
      : process_(make_argv(name, port), {{"HYDRA_TEST_REDIS_URL", redis_url}}, false,
                 HYDRA_NODE_DIR, true) {
    auto line = process_.wait_for_line("READY ", std::chrono::seconds(20));
    if (!line) throw std::runtime_error("node peer did not become ready");
    info_ = boost::json::parse(line->substr(line->find(' ') + 1)).as_object();
  }
  ~NodeService() { stop(); }
  const boost::json::object& info() const { return info_; }
  std::string instance_id() const { return std::string(info_.at("instanceID").as_string()); }
  Process& process() { return process_; }
  /// Sends one stdin command to the peer (`{"cmd":"send","msg":{...}}`, see peer.js).
  void command(const boost::json::object& cmd) { process_.write_line(boost::json::serialize(cmd)); }
  /// Waits for an output line starting with `keyword` and returns its JSON payload.
  boost::json::value expect(const std::string& keyword,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw std::runtime_error("node peer: no " + keyword + " line");
      auto line = process_.read_line(left);
      if (!line) throw std::runtime_error("node peer: no " + keyword + " line");
      if (line->rfind(keyword + " ", 0) == 0)
        return boost::json::parse(line->substr(keyword.size() + 1));
    }
  }
  /// SIGTERM → Node's shutdown; waits for exit.
  void stop() {
    if (process_.running()) {
      process_.signal(SIGTERM);
      process_.wait(std::chrono::seconds(10));
    }
  }

 private:
  static std::vector<std::string> make_argv(const std::string& name, const std::string& port) {
    std::vector<std::string> argv{"node", "peer.js", "serve", name};
    if (!port.empty()) argv.push_back(port);
    return argv;
  }
  Process process_;
  boost::json::object info_;
};

/// Runs `node peer.js args...` and returns the value of its `RESULT` line; throws with the
/// output when there is none.
inline boost::json::value peer_result(const std::string& redis_url, std::vector<std::string> args,
                                      std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{"node", "peer.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [status, out] =
      run_command(argv, {{"HYDRA_TEST_REDIS_URL", redis_url}}, timeout, HYDRA_NODE_DIR);
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("RESULT ", 0) == 0) return boost::json::parse(line.substr(7));
  }
  throw std::runtime_error("node peer.js " + (args.empty() ? std::string() : args.front()) +
                           " failed (status " + std::to_string(status) + "): " + out);
}

/// Runs `peer.js query <method> args...` and returns the RESULT value; throws with the output
/// when there is none.
inline boost::json::value node_query(const std::string& redis_url, std::vector<std::string> args) {
  args.insert(args.begin(), "query");
  return peer_result(redis_url, std::move(args), std::chrono::seconds(30));
}

/// `node express-peer.js <name>` until destroyed (SIGTERM).
class ExpressPeer {
 public:
  ExpressPeer(const RedisServer& redis, const std::string& name)
      : process_(make_argv(name), make_env(redis), false, HYDRA_NODE_DIR) {
    auto line = process_.wait_for_line("READY ", std::chrono::seconds(30));
    if (!line) throw std::runtime_error("express peer did not become ready");
    info_ = boost::json::parse(line->substr(line->find(' ') + 1)).as_object();
  }
  ~ExpressPeer() {
    if (process_.running()) {
      process_.signal(SIGTERM);
      if (!process_.wait(std::chrono::seconds(5))) process_.signal(SIGKILL);
      process_.wait(std::chrono::seconds(5));
    }
  }
  std::string instance_id() const { return std::string(info_.at("instanceID").as_string()); }
  pid_t pid() const { return process_.pid(); }

 private:
  static std::vector<std::string> make_argv(const std::string& name) {
    std::vector<std::string> argv;
    argv.push_back("node");
    argv.push_back("express-peer.js");
    argv.push_back(name);
    return argv;
  }
  static std::map<std::string, std::string> make_env(const RedisServer& redis) {
    std::map<std::string, std::string> env;
    env["HYDRA_TEST_REDIS_URL"] = redis.url(0);
    return env;
  }
  Process process_;
  boost::json::object info_;
};

}  // namespace hydra::test
