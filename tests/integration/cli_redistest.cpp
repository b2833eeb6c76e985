// hydra-cli and the hello-service example end to end against a private redis-server: discovery,
// health, routes, stored configurations, refresh, error paths and shutdown on SIGTERM.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/hello_service.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace bj = boost::json;
using hydra::test::Process;
using hydra::test::RedisServer;
using hydra::test::run_command;
using namespace std::chrono_literals;

namespace {

const std::string kCli = HYDRA_BINARY_DIR "/apps/hydra-cli/hydra-cli";

/// examples/CMakeLists.txt builds every example directly in the examples build directory; a
/// per-example subdirectory is accepted too.
constexpr int kDb = 15;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

/// Runs hydra-cli against `url` with `args`; returns {status, stdout+stderr}.
std::pair<int, std::string> cli(const std::string& url, std::vector<std::string> args,
                                std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv{kCli, "--redis", url};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::move(env), 30s);
}

/// A failure must be exactly one `hydra-cli: ...` line.
void expect_one_error_line(const std::pair<int, std::string>& result, const std::string& needle) {
  EXPECT_NE(result.first, 0) << result.second;
  auto lines = lines_of(result.second);
  ASSERT_EQ(lines.size(), 1u) << result.second;
  EXPECT_EQ(lines[0].rfind("hydra-cli: ", 0), 0u) << result.second;
  EXPECT_NE(lines[0].find(needle), std::string::npos) << result.second;
}

/// Parses the whole output as one JSON document (stderr is merged, so this also checks that
/// nothing else was printed).
bj::value parse_output(const std::pair<int, std::string>& result) {
  EXPECT_EQ(result.first, 0) << result.second;
  boost::system::error_code ec;
  auto value = bj::parse(result.second, ec);
  EXPECT_FALSE(ec) << "not one JSON document: " << result.second;
  return value;
}

/// A redis-server with a running hello-service registered in it.
class CliWithService : public ::testing::Test {
 protected:
  void SetUp() override {
    auto hello = hydra::test::start_hello_service(server_, kDb);
    service_ = std::move(hello.process);
    instance_id_ = hello.instance_id;
  }

  std::string url() const { return server_.url(kDb); }
  std::string presence_key() const {
    return "hydra:service:hello-service:" + instance_id_ + ":presence";
  }

  RedisServer server_;
  std::unique_ptr<Process> service_;
  std::string instance_id_;
};

TEST_F(CliWithService, NodesListsTheInstance) {
  auto doc = parse_output(cli(url(), {"nodes", "--json"}));
  ASSERT_TRUE(doc.is_array());
  bool found = false;
  for (const auto& n : doc.get_array()) {
    if (n.at("instanceID").as_string() == instance_id_) {
      found = true;
      EXPECT_EQ(n.at("serviceName").as_string(), "hello-service");
      EXPECT_EQ(n.at("version").as_string(), "1.0.0");
    }
  }
  EXPECT_TRUE(found) << bj::serialize(doc);

  auto human = cli(url(), {"nodes", "hello-service"});
  EXPECT_EQ(human.first, 0) << human.second;
  EXPECT_NE(human.second.find("PRESENT?"), std::string::npos) << human.second;
  EXPECT_NE(human.second.find(instance_id_), std::string::npos) << human.second;
  EXPECT_NE(human.second.find("yes"), std::string::npos) << human.second;

  // A filter that matches nothing is an empty list, not an error.
  auto none = parse_output(cli(url(), {"nodes", "other-service", "--json"}));
  EXPECT_TRUE(none.is_array() && none.get_array().empty());
}

TEST_F(CliWithService, ServicesAndRoutes) {
  auto services = cli(url(), {"services"});
  EXPECT_EQ(services.first, 0) << services.second;
  EXPECT_NE(services.second.find("hello-service"), std::string::npos) << services.second;
  EXPECT_NE(services.second.find("example"), std::string::npos) << services.second;

  auto one = parse_output(cli(url(), {"services", "hello-service", "--json"}));
  ASSERT_TRUE(one.is_array());
  ASSERT_EQ(one.get_array().size(), 1u);
  EXPECT_EQ(one.get_array()[0].at("serviceName").as_string(), "hello-service");

  auto routes = cli(url(), {"routes", "hello-service"});
  EXPECT_EQ(routes.first, 0) << routes.second;
  for (const char* route :
       {"[get]/v1/hello/greeting", "[post]/v1/hello/echo", "[get]/v1/hello/slow"})
    EXPECT_NE(routes.second.find(route), std::string::npos) << routes.second;

  auto all = parse_output(cli(url(), {"--json", "routes"}));
  ASSERT_TRUE(all.is_object());
  ASSERT_TRUE(all.get_object().contains("hello-service")) << bj::serialize(all);
}

TEST_F(CliWithService, HealthHasMemory) {
  // The health key lives 3 s and is rewritten periodically, so it may be briefly absent.
  bool found = false;
  auto deadline = std::chrono::steady_clock::now() + 12s;
  while (!found && std::chrono::steady_clock::now() < deadline) {
    auto doc = parse_output(cli(url(), {"health", "hello-service", "--json"}));
    ASSERT_TRUE(doc.is_array()) << bj::serialize(doc);
    ASSERT_EQ(doc.get_array().size(), 1u) << bj::serialize(doc);
    const auto& health = doc.get_array()[0].at("health").as_array();
    for (const auto& h : health)
      if (h.as_object().contains("memory")) found = true;
    if (!found) std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(found);

  auto human = cli(url(), {"health"});
  EXPECT_EQ(human.first, 0) << human.second;
  EXPECT_NE(human.second.find("hello-service"), std::string::npos) << human.second;
}

TEST_F(CliWithService, HealthlogShowsStartMessage) {
  // The log entry is written fire-and-forget after registration; give it a moment.
  std::pair<int, std::string> result;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    result = cli(url(), {"healthlog", "hello-service"});
    if (result.second.find("hello-service started") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(result.first, 0) << result.second;
  EXPECT_NE(result.second.find("info | "), std::string::npos) << result.second;
  EXPECT_NE(result.second.find("hello-service started"), std::string::npos) << result.second;

  auto doc = parse_output(cli(url(), {"healthlog", "hello-service", "--json"}));
  ASSERT_TRUE(doc.is_array());
  EXPECT_FALSE(doc.get_array().empty());
}

TEST_F(CliWithService, RefreshRemovesOnlyStaleEntries) {
  const std::string stale_id = "0123456789abcdef0123456789abcdef";
  const std::string stale =
      R"({"serviceName":"gone-service","serviceDescription":"not specified","version":"0.1.0",)"
      R"("instanceID":")" +
      stale_id +
      R"(","updatedOn":"2020-01-01T00:00:00.000Z","processID":1,"ip":"10.0.0.1",)"
      R"("port":4000,"hostName":"old"})";
  server_.cli({"HSET", "hydra:service:nodes", stale_id, stale}, kDb);

  auto result = cli(url(), {"refresh"});
  EXPECT_EQ(result.first, 0) << result.second;
  EXPECT_NE(result.second.find("removed 1"), std::string::npos) << result.second;
  EXPECT_EQ(server_.cli({"HEXISTS", "hydra:service:nodes", stale_id}, kDb), "0");
  EXPECT_EQ(server_.cli({"HEXISTS", "hydra:service:nodes", instance_id_}, kDb), "1");

  auto again = parse_output(cli(url(), {"refresh", "--json"}));
  EXPECT_EQ(bj::serialize(again), R"({"removed":0})");
}

TEST_F(CliWithService, SigtermShutsDownAndRemovesPresence) {
  EXPECT_EQ(server_.cli({"EXISTS", presence_key()}, kDb), "1");
  service_->signal(SIGTERM);
  auto status = service_->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_NE(service_->output(1s).find("hello-service stopped"), std::string::npos);
  EXPECT_EQ(server_.cli({"EXISTS", presence_key()}, kDb), "0");
}

TEST(Cli, ConfigRoundTrip) {
  RedisServer server;
  const std::string url = server.url(kDb);
  const std::string file = server.dir() + "/svc-config.json";
  write_file(file,
             "{\n  \"hydra\" : { \"serviceName\": \"svc\" },\n  \"n\": [1, 2.5, true],"
             " \"s\": \"a/b\"\n}\n");

  auto push = cli(url, {"cfg", "push", "svc:1.0.0", file});
  EXPECT_EQ(push.first, 0) << push.second;
  const std::string compact = R"({"hydra":{"serviceName":"svc"},"n":[1,2.5,true],"s":"a/b"})";
  EXPECT_EQ(server.cli({"HGET", "hydra:service:svc:configs", "1.0.0"}, kDb), compact);

  auto pull = cli(url, {"cfg", "pull", "svc:1.0.0", "--json"});
  EXPECT_EQ(pull.first, 0) << pull.second;
  EXPECT_EQ(pull.second, compact + "\n");
  auto pretty = cli(url, {"cfg", "pull", "svc:1.0.0"});
  EXPECT_EQ(pretty.first, 0) << pretty.second;
  EXPECT_NE(pretty.second.find("\"serviceName\": \"svc\""), std::string::npos) << pretty.second;

  auto list = cli(url, {"cfg", "list", "svc", "--json"});
  EXPECT_EQ(list.first, 0) << list.second;
  EXPECT_EQ(list.second, "[\"svc:1.0.0\"]\n");

  auto remove = cli(url, {"cfg", "remove", "svc:1.0.0"});
  EXPECT_EQ(remove.first, 0) << remove.second;
  EXPECT_EQ(server.cli({"HEXISTS", "hydra:service:svc:configs", "1.0.0"}, kDb), "0");

  expect_one_error_line(cli(url, {"cfg", "pull", "svc:1.0.0"}), "no config stored for svc:1.0.0");
}

TEST(Cli, BadInputsFailWithOneLine) {
  RedisServer server;
  const std::string url = server.url(kDb);
  auto bad_label = cli(url, {"cfg", "pull", "badlabel"});
  expect_one_error_line(bad_label, "label");

  expect_one_error_line(cli(url, {"cfg", "push", "svc:1", "/nonexistent"}), "/nonexistent");

  const std::string broken = server.dir() + "/broken.json";
  write_file(broken, "{\"a\":");
  expect_one_error_line(cli(url, {"cfg", "push", "svc:1", broken}), broken);

  expect_one_error_line(cli(url, {"services", "nosuch"}), "no such service: nosuch");
  expect_one_error_line(cli(url, {"healthlog", "nosuch"}), "no such service: nosuch");

  // Usage errors come from the argument parser, with its own non-zero code.
  EXPECT_NE(run_command({kCli, "cfg", "push"}, {}, 10s).first, 0);
}

TEST(Cli, UnreachableRedisFailsQuickly) {
  // A port that was free a moment ago: nothing listens there.
  const std::string url = "redis://127.0.0.1:" + std::to_string(hydra::test::free_port()) + "/0";
  auto start = std::chrono::steady_clock::now();
  auto result = cli(url, {"nodes"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 6s);
  expect_one_error_line(result, "Redis");
}

TEST(Cli, RedisInfoJson) {
  RedisServer server;
  auto doc = parse_output(cli(server.url(kDb), {"redis", "info", "--json"}));
  ASSERT_TRUE(doc.is_object());
  EXPECT_TRUE(doc.get_object().contains("redis_version")) << bj::serialize(doc);
  auto human = cli(server.url(kDb), {"redis", "info"});
  EXPECT_EQ(human.first, 0);
  EXPECT_NE(human.second.find("# Server"), std::string::npos);
}

TEST(Cli, EnvironmentDoesNotChangeTheCliOrWriteKeys) {
  RedisServer server;
  // HYDRA_SERVICE would rename the CLI or make it load a stored config; HYDRA_REDIS_URL points
  // nowhere useful. --redis must win and the CLI must stay a pure reader.
  std::map<std::string, std::string> env{{"HYDRA_SERVICE", "other-service:1.0.0"},
                                         {"HYDRA_REDIS_URL", "redis://127.0.0.1:1/3"}};
  auto doc = parse_output(cli(server.url(kDb), {"services", "--json"}, env));
  EXPECT_TRUE(doc.is_array());
  EXPECT_EQ(server.cli({"DBSIZE"}, kDb), "0");

  // Without --redis, HYDRA_REDIS_URL chooses the server.
  auto via_env =
      run_command({kCli, "--json", "nodes"}, {{"HYDRA_REDIS_URL", server.url(kDb)}}, 30s);
  EXPECT_EQ(via_env.first, 0) << via_env.second;
  EXPECT_EQ(via_env.second, "[]\n");
}

}  // namespace
