// Messages between hydra-cpp and Node Hydra 1.9.3 in both directions: send, broadcast, reply,
// and a C++ request answered by Node's sendReplyMessage.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <mutex>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "support/cpp_service.hpp"
#include "support/node_peer.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using hydra::test::CppService;
using hydra::test::NodeService;
using hydra::test::RedisServer;
using namespace std::chrono_literals;

namespace {

boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

// Collects what a C++ service receives (handlers run on the service's own thread).
struct Inbox {
  std::mutex mutex;
  std::vector<hydra::umf::Message> messages;
  void attach(CppService& svc) {
    svc.hydra().on_message([this](const hydra::umf::Message& m) {
      std::lock_guard lock(mutex);
      messages.push_back(m);
    });
  }
  std::optional<hydra::umf::Message> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex);
        if (!messages.empty()) {
          auto m = messages.front();
          messages.erase(messages.begin());
          return m;
        }
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }
};

class MessagingInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  }
};

TEST_F(MessagingInterop, CppSendsAndBroadcastsToNode) {
  RedisServer server;
  NodeService node(server.url(0), "node-svc");
  CppService cpp(server, "cpp-svc");
  auto sent = cpp.call([&]() -> asio::awaitable<hydra::Result> {
    co_return co_await cpp.hydra().send_message(
        obj(R"({"to":"node-svc:/","from":"cpp-svc:/","body":{"hello":"from c++","n":1.5}})"));
  });
  ASSERT_TRUE(sent.ok()) << sent.reason;
  auto got = node.expect("MESSAGE").as_object();
  EXPECT_EQ(got.at("mid"), sent.mid.c_str());
  EXPECT_EQ(got.at("frm"), "cpp-svc:/");
  EXPECT_EQ(got.at("bdy"), boost::json::parse(R"({"hello":"from c++","n":1.5})"));
  auto b = cpp.call([&]() -> asio::awaitable<hydra::Result> {
    co_return co_await cpp.hydra().send_broadcast_message(
        obj(R"({"to":"node-svc:/","from":"cpp-svc:/","body":{"all":1}})"));
  });
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(node.expect("MESSAGE").at("bdy"), boost::json::parse(R"({"all":1})"));
}

TEST_F(MessagingInterop, NodeSendsAndBroadcastsToCpp) {
  RedisServer server;
  CppService cpp(server, "cpp-svc");
  Inbox inbox;
  inbox.attach(cpp);
  NodeService node(server.url(0), "node-svc");
  boost::json::object cmd;
  cmd["cmd"] = "send";
  cmd["msg"] = obj(R"({"to":"cpp-svc:/","from":"node-svc:/","body":{"hello":"from node"}})");
  node.command(cmd);
  auto sent = node.expect("SENT");
  EXPECT_TRUE(sent.at("result").is_null()) << boost::json::serialize(sent);
  auto m = inbox.wait(5s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->from(), "node-svc:/");
  EXPECT_EQ(m->body().at("hello"), "from node");
  EXPECT_EQ(m->mid(), sent.at("mid").as_string().c_str());
  cmd["cmd"] = "broadcast";
  cmd["msg"] = obj(R"({"to":"cpp-svc:/","from":"node-svc:/","body":{"b":true}})");
  node.command(cmd);
  auto b = inbox.wait(5s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body().at("b"), true);
}

TEST_F(MessagingInterop, CppRequestIsAnsweredByNodeSendReplyMessage) {
  RedisServer server;
  NodeService node(server.url(0), "node-echo");
  CppService cpp(server, "cpp-client");
  auto reply = cpp.call([&]() -> asio::awaitable<hydra::umf::Message> {
    auto m = hydra::umf::Message::create(
        obj(R"({"to":"node-echo:/","from":"cpp-client:/","body":{"echo":true,"q":7}})"));
    co_return co_await cpp.hydra().request(m, 5s);
  });
  EXPECT_EQ(reply.body().at("echoed").at("q"), 7);
  EXPECT_EQ(reply.to(), cpp.hydra().instance_id() + "@cpp-client:/");
  EXPECT_EQ(cpp.hydra().pending_requests(), 0u);
}

TEST_F(MessagingInterop, CppRepliesToNode) {
  RedisServer server;
  CppService cpp(server, "cpp-echo");
  cpp.hydra().on_message([&](const hydra::umf::Message& m) {
    boost::json::object response;
    response["body"] = boost::json::object{{"answer", m.body().at("q")}};
    asio::co_spawn(cpp.io(), cpp.hydra().send_reply_message(m, response), asio::detached);
  });
  NodeService node(server.url(0), "node-asker");
  boost::json::object cmd;
  cmd["cmd"] = "send";
  boost::json::object msg;
  msg["to"] = "cpp-echo:/";
  msg["from"] = node.instance_id() + "@node-asker:/";
  msg["body"] = obj(R"({"q":"why"})");
  cmd["msg"] = msg;
  node.command(cmd);
  auto sent = node.expect("SENT");
  auto reply = node.expect("MESSAGE").as_object();
  EXPECT_EQ(reply.at("rmid"), sent.at("mid"));
  EXPECT_EQ(reply.at("frm"), "cpp-echo:/");
  EXPECT_EQ(reply.at("bdy"), boost::json::parse(R"({"answer":"why"})"));
}

}  // namespace
