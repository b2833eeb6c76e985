// hydra-cli's message and queue commands end to end against a private redis-server, with the
// hello-service example answering messages and consuming its queue.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
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

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/umf.hpp"
#include "support/async.hpp"
#include "support/hello_service.hpp"
#include "support/hydra_fixture.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace bj = boost::json;
using hydra::test::Process;
using hydra::test::RedisServer;
using hydra::test::run_command;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

const std::string kCli = HYDRA_BINARY_DIR "/apps/hydra-cli/hydra-cli";
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

std::pair<int, std::string> cli(const std::string& url, std::vector<std::string> args) {
  std::vector<std::string> argv{kCli, "--redis", url};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {}, 30s);
}

/// Runs hydra-cli with `input` on its stdin; returns {status, stdout+stderr}.
std::pair<int, std::string> cli_stdin(const std::string& url, std::vector<std::string> args,
                                      const std::string& input) {
  std::vector<std::string> argv{kCli, "--redis", url};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, {}, true, {}, true);
  EXPECT_TRUE(p.write_line(input));
  p.close_stdin();
  auto status = p.wait(30s);
  std::string out = p.output(1s);
  return {status ? *status : -1, out};
}

void expect_one_error_line(const std::pair<int, std::string>& result, const std::string& needle) {
  EXPECT_EQ(result.first, 1) << result.second;
  auto lines = lines_of(result.second);
  ASSERT_EQ(lines.size(), 1u) << result.second;
  EXPECT_EQ(lines[0].rfind("hydra-cli: ", 0), 0u) << result.second;
  EXPECT_NE(lines[0].find(needle), std::string::npos) << result.second;
}

bj::value parse_output(const std::pair<int, std::string>& result) {
  EXPECT_EQ(result.first, 0) << result.second;
  boost::system::error_code ec;
  auto value = bj::parse(result.second, ec);
  EXPECT_FALSE(ec) << "not one JSON document: " << result.second;
  return value;
}

std::string umf_text(const std::string& to, const std::string& from, const std::string& body) {
  return R"({"to":")" + to + R"(","from":")" + from + R"(","body":)" + body + "}";
}

TEST(CliMessaging, CreatePrintsATemplate) {
  // No Redis is contacted: an unreachable URL must not matter.
  const std::string nowhere = "redis://127.0.0.1:" + std::to_string(hydra::test::free_port());
  for (bool json : {false, true}) {
    std::vector<std::string> args{"message", "create"};
    if (json) args.push_back("--json");
    auto result = cli(nowhere, args);
    auto doc = parse_output(result);
    ASSERT_TRUE(doc.is_object()) << result.second;
    const auto& o = doc.get_object();
    std::vector<std::string> keys;
    for (const auto& kv : o)
      keys.emplace_back(kv.key());
    EXPECT_EQ(keys,
              (std::vector<std::string>{"to", "from", "mid", "timestamp", "version", "body"}));
    EXPECT_EQ(o.at("to").as_string(), "{serviceName here}:/");
    EXPECT_EQ(o.at("from").as_string(), "hydra-cli:/");
    EXPECT_EQ(o.at("mid").as_string().size(), 36u);
    EXPECT_FALSE(o.at("timestamp").as_string().empty());
    EXPECT_EQ(o.at("version").as_string(), "UMF/1.4.6");
    EXPECT_TRUE(o.at("body").is_object() && o.at("body").as_object().empty());
    // Pretty for people, one line for --json.
    EXPECT_EQ(lines_of(result.second).size(), json ? 1u : 8u) << result.second;
  }
}

TEST(CliMessaging, QueueStatsAndPeekWithoutConsumer) {
  RedisServer server;
  const std::string url = server.url(kDb);

  auto empty = parse_output(cli(url, {"queue", "stats", "idle-service", "--json"}));
  EXPECT_EQ(
      hydra::json::stringify(empty),
      R"({"serviceName":"idle-service","received":0,"inProgress":0,"leased":0,"incomplete":0,)"
      R"("claimed":0,"oldestAgeMs":null})");
  auto text = cli(url, {"queue", "stats", "idle-service"});
  EXPECT_EQ(text.first, 0) << text.second;
  EXPECT_NE(text.second.find("IN-PROGRESS  LEASED  INCOMPLETE  CLAIMED"), std::string::npos)
      << text.second;
  auto none = cli(url, {"queue", "peek", "idle-service"});
  EXPECT_EQ(none.first, 0) << none.second;
  EXPECT_EQ(none.second, "");

  std::vector<std::string> mids;
  for (int i = 0; i < 3; ++i) {
    const std::string file = server.dir() + "/m" + std::to_string(i) + ".json";
    write_file(file,
               umf_text("idle-service:/", "hydra-cli:/", R"({"n":)" + std::to_string(i) + "}"));
    auto doc = parse_output(cli(url, {"message", "queue", file, "--json"}));
    ASSERT_TRUE(doc.is_object()) << bj::serialize(doc);
    EXPECT_EQ(doc.at("statusCode").as_int64(), 200);
    EXPECT_EQ(doc.at("result").at("serviceName").as_string(), "idle-service");
    mids.emplace_back(doc.at("result").at("mid").as_string());
  }
  // The human form names the mid and the queue.
  const std::string file = server.dir() + "/m3.json";
  write_file(file, umf_text("idle-service:/", "hydra-cli:/", R"({"n":3})"));
  auto human = cli(url, {"message", "queue", file});
  ASSERT_EQ(human.first, 0) << human.second;
  auto words = lines_of(human.second);
  ASSERT_EQ(words.size(), 1u) << human.second;
  EXPECT_EQ(words[0].rfind("queued ", 0), 0u) << human.second;
  EXPECT_NE(words[0].find(" on idle-service"), std::string::npos) << human.second;
  mids.push_back(words[0].substr(7, words[0].find(' ', 7) - 7));
  EXPECT_EQ(mids.back().size(), 36u) << human.second;
  EXPECT_EQ(server.cli({"LLEN", "hydra:service:idle-service:mqrecieved"}, kDb), "4");

  auto stats = parse_output(cli(url, {"queue", "stats", "idle-service", "--json"}));
  EXPECT_EQ(stats.at("received").as_int64(), 4);
  EXPECT_EQ(stats.at("inProgress").as_int64(), 0);
  EXPECT_EQ(stats.at("incomplete").as_int64(), 0);
  ASSERT_TRUE(stats.at("oldestAgeMs").is_int64()) << bj::serialize(stats);
  EXPECT_GE(stats.at("oldestAgeMs").as_int64(), 0);
  EXPECT_LT(stats.at("oldestAgeMs").as_int64(), 60000);

  auto table = cli(url, {"queue", "stats", "idle-service"});
  EXPECT_EQ(table.first, 0) << table.second;
  auto rows = lines_of(table.second);
  ASSERT_EQ(rows.size(), 2u) << table.second;
  EXPECT_NE(rows[0].find("RECEIVED"), std::string::npos) << table.second;
  EXPECT_EQ(rows[1].rfind("idle-service  4", 0), 0u) << table.second;

  // Oldest first; raw lines are the stored strings, --json an array of the parsed items.
  auto peek = parse_output(cli(url, {"queue", "peek", "idle-service", "--json"}));
  ASSERT_TRUE(peek.is_array());
  ASSERT_EQ(peek.as_array().size(), 4u);
  for (std::size_t i = 0; i < mids.size(); ++i)
    EXPECT_EQ(peek.as_array()[i].at("mid").as_string(), mids[i]);
  EXPECT_EQ(peek.as_array()[0].at("bdy").at("n").as_int64(), 0);

  auto two = cli(url, {"queue", "peek", "idle-service", "--limit", "2"});
  EXPECT_EQ(two.first, 0) << two.second;
  auto raw = lines_of(two.second);
  ASSERT_EQ(raw.size(), 2u) << two.second;
  EXPECT_EQ(raw[0], server.cli({"LINDEX", "hydra:service:idle-service:mqrecieved", "-1"}, kDb));
  EXPECT_EQ(raw[1], server.cli({"LINDEX", "hydra:service:idle-service:mqrecieved", "-2"}, kDb));
  // Reading never takes anything off the queue.
  EXPECT_EQ(server.cli({"LLEN", "hydra:service:idle-service:mqrecieved"}, kDb), "4");
}

TEST(CliMessaging, BadInputsFailWithOneLine) {
  RedisServer server;
  const std::string url = server.url(kDb);
  expect_one_error_line(cli(url, {"message", "send", "/nonexistent.json"}),
                        "cannot read file /nonexistent.json");
  expect_one_error_line(cli(url, {"message", "queue", "/nonexistent.json"}),
                        "cannot read file /nonexistent.json");

  const std::string broken = server.dir() + "/broken.json";
  write_file(broken, R"({"to":"x:/",)");
  expect_one_error_line(cli(url, {"message", "send", broken}), broken + " is not valid JSON");
  const std::string array = server.dir() + "/array.json";
  write_file(array, "[1,2]");
  expect_one_error_line(cli(url, {"message", "queue", array}), array);
  expect_one_error_line(cli_stdin(url, {"message", "send", "-"}, "not json"),
                        "standard input is not valid JSON");

  // Node's 400 reasons for an invalid UMF, from both commands.
  const std::string no_body = server.dir() + "/nobody.json";
  write_file(no_body, R"({"to":"svc:/","from":"hydra-cli:/"})");
  expect_one_error_line(cli(url, {"message", "send", no_body}),
                        R"(UMF message requires "to", "from" and "body" fields)");
  expect_one_error_line(cli(url, {"message", "queue", no_body}),
                        R"(UMF message requires "to", "from" and "body" fields)");
  EXPECT_EQ(server.cli({"DBSIZE"}, kDb), "0");

  // Usage errors come from the argument parser.
  EXPECT_NE(run_command({kCli, "message", "send"}, {}, 10s).first, 0);
  EXPECT_NE(run_command({kCli, "queue", "stats"}, {}, 10s).first, 0);
}

TEST(CliMessaging, SendToAMissingServiceIsUnavailable) {
  RedisServer server;
  const std::string url = server.url(kDb);
  const std::string file = server.dir() + "/ghost.json";
  write_file(file, umf_text("ghost-service:/", "hydra-cli:/", R"({"a":1})"));
  expect_one_error_line(cli(url, {"message", "send", file}), "Unavailable ghost-service instances");
  expect_one_error_line(cli(url, {"message", "send", file, "--json"}),
                        "hydra-cli: Unavailable ghost-service instances");
}

/// A redis-server, a running hello-service and an in-process registered service "tester" that
/// receives whatever is sent to it.
class CliMessagingWithService : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = hydra::test::start_hello_service(server_, kDb).process;

    client_ = std::make_unique<hydra::Hydra>(io_.get_executor());
    client_->on_log([](const bj::object&) {});
    client_->on_message([this](const hydra::umf::Message& m) { received_.push_back(m); });
    run_on(io_, [&]() -> asio::awaitable<void> {
      co_await client_->init(hydra::test::service_document(server_, "tester", 0, kDb));
      co_await client_->register_service();
    });
  }

  void TearDown() override {
    if (client_) {
      try {
        run_on(io_, [&]() -> asio::awaitable<void> { co_await client_->shutdown(); });
      } catch (...) {
      }
    }
  }

  std::string url() const { return server_.url(kDb); }

  /// Runs the client until a message arrives (or `limit` passes).
  bool wait_for_message(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (received_.empty() && std::chrono::steady_clock::now() < deadline)
      hydra::test::pump(io_, 20ms);
    return !received_.empty();
  }

  /// Checks the echo reply that hello-service sent to "tester" for the message `mid`.
  void expect_echo(const std::string& mid, const std::string& body) {
    ASSERT_TRUE(wait_for_message(10s)) << service_->output(100ms);
    const auto& reply = received_.front();
    EXPECT_EQ(reply.rmid(), mid);
    EXPECT_EQ(reply.to(), "tester:/");
    EXPECT_EQ(reply.from(), "hello-service:/");
    EXPECT_EQ(hydra::json::stringify(reply.body()),
              R"({"echo":)" + body + R"(,"from":"hello-service"})");
  }

  RedisServer server_;
  std::unique_ptr<Process> service_;
  asio::io_context io_;
  std::unique_ptr<hydra::Hydra> client_;
  std::vector<hydra::umf::Message> received_;
};

TEST_F(CliMessagingWithService, RequestGetsTheEcho) {
  auto reply = run_on(io_, [&]() -> asio::awaitable<hydra::umf::Message> {
    bj::object m;
    m["to"] = "hello-service:/";
    m["from"] = "tester:/";
    m["body"] = bj::object{{"hi", 1}};
    co_return co_await client_->request(hydra::umf::Message::create(m), 5s);
  });
  EXPECT_EQ(hydra::json::stringify(reply.body()), R"({"echo":{"hi":1},"from":"hello-service"})");
}

TEST_F(CliMessagingWithService, SendFromFileReachesTheService) {
  // The reply goes to the message's `from`: the tester, which proves hello-service got it.
  const std::string file = server_.dir() + "/hello.json";
  write_file(file, umf_text("hello-service:/", "tester:/", R"({"greeting":"hi"})"));
  auto result = cli(url(), {"message", "send", file});
  ASSERT_EQ(result.first, 0) << result.second;
  auto lines = lines_of(result.second);
  ASSERT_EQ(lines.size(), 1u) << result.second;
  EXPECT_EQ(lines[0].rfind("sent ", 0), 0u) << result.second;
  EXPECT_NE(lines[0].find(" to hello-service:/"), std::string::npos) << result.second;
  const std::string mid = lines[0].substr(5, lines[0].find(' ', 5) - 5);
  EXPECT_EQ(mid.size(), 36u) << result.second;
  expect_echo(mid, R"({"greeting":"hi"})");
}

TEST_F(CliMessagingWithService, SendFromStdinWithJsonResult) {
  auto result = cli_stdin(url(), {"message", "send", "-", "--json"},
                          R"({"to":"hello-service:/","frm":"tester:/","mid":"my-mid-1",)"
                          R"("bdy":{"n":[1,2]}})");
  auto doc = parse_output(result);
  ASSERT_TRUE(doc.is_object()) << result.second;
  EXPECT_EQ(doc.at("statusCode").as_int64(), 200);
  EXPECT_EQ(doc.at("result").at("mid").as_string(), "my-mid-1");
  EXPECT_EQ(doc.at("result").at("to").as_string(), "hello-service:/");
  expect_echo("my-mid-1", R"({"n":[1,2]})");
}

TEST_F(CliMessagingWithService, QueuedMessageIsConsumed) {
  const std::string file = server_.dir() + "/job.json";
  write_file(file, umf_text("hello-service:/", "hydra-cli:/", R"({"job":7})"));
  auto doc = parse_output(cli(url(), {"message", "queue", file, "--json"}));
  ASSERT_TRUE(doc.is_object());
  const std::string mid(doc.at("result").at("mid").as_string());
  ASSERT_EQ(mid.size(), 36u);

  auto line = service_->wait_for_line("hello-service queue item " + mid, 10s);
  ASSERT_TRUE(line) << service_->output(100ms);
  EXPECT_NE(line->find(R"("bdy":{"job":7})"), std::string::npos) << *line;

  // Completed: nothing waiting, nothing in progress, nothing incomplete.
  bj::value stats;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    stats = parse_output(cli(url(), {"queue", "stats", "hello-service", "--json"}));
    if (stats.at("received").as_int64() == 0 && stats.at("inProgress").as_int64() == 0) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(hydra::json::stringify(stats),
            R"({"serviceName":"hello-service","received":0,"inProgress":0,"leased":0,)"
            R"("incomplete":0,"claimed":0,)"
            R"("oldestAgeMs":null})");
  EXPECT_EQ(server_.cli({"LLEN", "hydra:service:hello-service:mqrecieved"}, kDb), "0");
  EXPECT_EQ(server_.cli({"LLEN", "hydra:service:hello-service:mqinprogress"}, kDb), "0");
}

TEST_F(CliMessagingWithService, SigtermWhileWaitingStopsPromptly) {
  // The consumer is parked in a blocking wait; shutdown must not wait for it to time out.
  std::this_thread::sleep_for(300ms);
  auto start = std::chrono::steady_clock::now();
  service_->signal(SIGTERM);
  auto status = service_->wait(10s);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  EXPECT_LT(took, 2s);
  const std::string output = service_->output(1s);
  EXPECT_NE(output.find("hello-service stopped"), std::string::npos) << output;
  // The consumer ends without an error (a stopped wait is not one).
  EXPECT_EQ(output.find("queue consumer of"), std::string::npos) << output;
}

}  // namespace
