// Work queues shared by hydra-cpp and Node Hydra 1.9.3 on one redis-server: each side dequeues
// and marks what the other queued, with the same bytes in mqinprogress and mqincomplete.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "hydra/hydra.hpp"
#include "hydra/json.hpp"
#include "hydra/queue.hpp"
#include "hydra/queue_consumer.hpp"
#include "queue/queue_logic.hpp"
#include "support/async.hpp"
#include "support/hydra_fixture.hpp"
#include "support/node_peer.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
namespace qd = hydra::queue_detail;
using hydra::QueuedMessage;
using hydra::test::RedisServer;
using hydra::test::run_on;
using namespace std::chrono_literals;

namespace {

// Node's markQueueMessage LREMs from its *own* service's list, so the peer serves the queue's
// service.
const std::string kSvc = "qsvc";

class QueueInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!hydra::test::node_available()) GTEST_SKIP() << "node or npm hydra not installed";
  }
};

// `peer.js serve` with its stdin command channel: sends one command and returns the JSON text
// after `keyword` as Node wrote it (json::stringify of the parsed value is JSON.stringify's).
std::string node_command(hydra::test::NodeService& node, const std::string& line,
                         const std::string& keyword) {
  node.command(boost::json::parse(line).as_object());
  return hydra::json::stringify(node.expect(keyword, 20s));
}

struct Cpp {
  asio::io_context io;
  hydra::Hydra hydra{io.get_executor()};
  std::unique_ptr<hydra::Queue> queue;
  explicit Cpp(const RedisServer& server) {
    run_on(io, [&]() -> asio::awaitable<void> {
      co_await hydra.init(hydra::test::service_document(server, "cpp-client"));
    });
    queue = std::make_unique<hydra::Queue>(hydra);
  }
  ~Cpp() {
    queue.reset();
    try {
      run_on(io, [&]() -> asio::awaitable<void> { co_await hydra.shutdown(); });
    } catch (...) {
    }
  }
  hydra::Result put(const boost::json::object& m) {
    return run_on(io, [&]() -> asio::awaitable<hydra::Result> {
      co_return co_await queue->queue_message(m);
    });
  }
  std::optional<QueuedMessage> get(bool leased = false) {
    return run_on(io, [&]() -> asio::awaitable<std::optional<QueuedMessage>> {
      if (!leased) co_return co_await queue->get_queued_message(kSvc);
      hydra::LeaseOptions o;
      o.lease = 200ms;
      co_return co_await queue->wait_queued_message(kSvc, 0ms, o);
    });
  }
  bool mark(const QueuedMessage& item, bool completed, std::string reason = {}) {
    return run_on(io, [&]() -> asio::awaitable<bool> {
      co_return co_await queue->mark_queue_message(item, completed, reason);
    });
  }
  hydra::MarkAndTake mark_and_take(const QueuedMessage& item, bool completed, std::string reason) {
    return run_on(io, [&]() -> asio::awaitable<hydra::MarkAndTake> {
      co_return co_await queue->mark_and_take_next(item, completed, reason);
    });
  }
  std::size_t reclaim() {
    return run_on(io, [&]() -> asio::awaitable<std::size_t> {
      co_return co_await queue->reclaim_expired(kSvc);
    });
  }
};

boost::json::object job(const char* from, int n) {
  boost::json::object m;
  m["to"] = kSvc + ":/";
  m["from"] = from;
  m["body"] = {{"job", n}, {"text", "é \"quoted\" / 1.50"}};
  return m;
}

std::string mark_line(const std::string& dequeued, bool completed, const std::string& reason) {
  // The DEQUEUED text is embedded as is, so Node gets the object with its keys in stored order.
  std::string line =
      R"({"cmd":"mark","msg":)" + dequeued + R"(,"completed":)" + (completed ? "true" : "false");
  if (!reason.empty()) line += R"(,"reason":)" + hydra::json::stringify(boost::json::value(reason));
  return line + "}";
}

// Node queues jobs 1..count (queueMessage from "node:/"); their mids in order. A failed
// queueMessage (an answer with `result`) is reported and stops the list short.
std::vector<std::string> node_queues_jobs(hydra::test::NodeService& node, int count) {
  std::vector<std::string> mids;
  for (int n = 1; n <= count; ++n) {
    auto queued = boost::json::parse(node_command(
        node, R"({"cmd":"queue","msg":)" + hydra::json::stringify(job("node:/", n)) + "}",
        "QUEUED"));
    if (queued.as_object().contains("result")) {
      ADD_FAILURE() << "queueMessage failed: " << queued;
      break;
    }
    mids.push_back(std::string(queued.at("mid").as_string()));
  }
  return mids;
}

}  // namespace

TEST_F(QueueInterop, CppQueuesNodeDequeuesAndMarks) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  auto first = cpp.put(job("cpp:/", 1));
  auto second = cpp.put(job("cpp:/", 2));
  ASSERT_TRUE(first.ok() && second.ok());

  auto a = node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED");
  EXPECT_EQ(boost::json::parse(a).at("mid"), first.mid.c_str());
  auto raw_a = server.cli({"LINDEX", qd::in_progress_key(kSvc), "0"});
  // Node's JSON.stringify of what it parsed is the stored string: its LREM will match.
  EXPECT_EQ(a, raw_a);
  node_command(node, mark_line(a, true, ""), "MARKED");
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");

  auto b = node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED");
  EXPECT_EQ(boost::json::parse(b).at("mid"), second.mid.c_str());
  node_command(node, mark_line(b, false, "could not process"), "MARKED");
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  // Node's incomplete entry is byte-identical to what hydra-cpp writes for the same item.
  auto incomplete = server.cli({"LINDEX", qd::incomplete_key(kSvc), "0"});
  EXPECT_EQ(incomplete, qd::with_reason(b, "could not process"));
  EXPECT_NE(incomplete.find(R"("reason":"could not process"})"), std::string::npos);
  EXPECT_EQ(node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED"), "null");
}

TEST_F(QueueInterop, NodeQueuesCppDequeuesAndMarks) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  auto mids = node_queues_jobs(node, 3);
  ASSERT_EQ(mids.size(), 3u);

  auto one = cpp.get();
  ASSERT_TRUE(one);
  EXPECT_EQ(one->message.mid(), mids[0]);
  EXPECT_EQ(hydra::json::stringify(one->message.body().at("job")), "1");
  EXPECT_TRUE(cpp.mark(*one, true));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");

  auto two = cpp.get(true);  // leased this time
  ASSERT_TRUE(two);
  EXPECT_EQ(two->message.mid(), mids[1]);
  EXPECT_TRUE(cpp.mark(*two, false, "could not process"));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");

  // What Node itself writes for the same item (a Node consumer marking it incomplete).
  auto three = node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED");
  node_command(node, mark_line(three, false, "could not process"), "MARKED");
  auto incomplete = server.cli({"LRANGE", qd::incomplete_key(kSvc), "0", "-1"});
  auto nl = incomplete.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(incomplete.substr(0, nl), qd::with_reason(two->raw, "could not process"));
  EXPECT_EQ(incomplete.substr(nl + 1), qd::with_reason(three, "could not process"));
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
}

// A C++ consumer looping on mark_and_take_next over items Node queued: in order, each one
// marked (complete, or incomplete with the bytes a Node consumer writes), nothing left over.
TEST_F(QueueInterop, NodeQueuesCppDrainsWithMarkAndTakeNext) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  auto mids = node_queues_jobs(node, 4);
  ASSERT_EQ(mids.size(), 4u);
  auto item = cpp.get();
  ASSERT_TRUE(item);
  std::vector<std::string> seen;
  std::string failed_raw;
  while (item) {
    seen.push_back(item->message.mid());
    const bool ok = seen.size() != 2;  // the second one fails
    if (!ok) failed_raw = item->raw;
    auto step = cpp.mark_and_take(*item, ok, ok ? "" : "could not process");
    EXPECT_TRUE(step.marked);
    item = std::move(step.next);
  }
  EXPECT_EQ(seen, mids);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LRANGE", qd::incomplete_key(kSvc), "0", "-1"}),
            qd::with_reason(failed_raw, "could not process"));
  // Node's own consumer finds nothing left either.
  EXPECT_EQ(node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED"), "null");
}

// A QueueConsumer working through items Node queued: each handled once, in order with one
// worker, the failing one stored with the bytes a Node consumer writes, nothing left over.
TEST_F(QueueInterop, NodeQueuesCppQueueConsumerHandles) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  auto mids = node_queues_jobs(node, 4);
  ASSERT_EQ(mids.size(), 4u);
  std::vector<std::string> seen;
  std::string failed_raw;
  hydra::ConsumerOptions options;
  options.service = kSvc;
  hydra::QueueConsumer consumer(
      cpp.hydra,
      [&](const QueuedMessage& item) -> asio::awaitable<void> {
        seen.push_back(item.message.mid());
        if (seen.size() == 2) {
          failed_raw = item.raw;
          throw std::runtime_error("could not process");
        }
        co_return;
      },
      options);
  consumer.start();
  ASSERT_TRUE(hydra::test::run_until(
      cpp.io, [&] { return consumer.stats().completed + consumer.stats().incomplete >= 4; }, 10s));
  run_on(cpp.io, [&]() -> asio::awaitable<void> { co_await consumer.stop(); });
  EXPECT_EQ(seen, mids);
  EXPECT_EQ(consumer.stats().completed, 3u);
  EXPECT_EQ(consumer.stats().incomplete, 1u);
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LRANGE", qd::incomplete_key(kSvc), "0", "-1"}),
            qd::with_reason(failed_raw, "could not process"));
  EXPECT_EQ(node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED"), "null");
}

// Items Node queues into a queue whose C++ QueueConsumer is idle: its leased wait (which blocks
// without moving anything) wakes for Node's LPUSH, and every item is taken, leased, handled and
// marked once.
TEST_F(QueueInterop, NodeQueuesIntoAnIdleCppQueueConsumer) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  std::set<std::string> seen;
  hydra::ConsumerOptions options;
  options.service = kSvc;
  options.concurrency = 2;
  hydra::QueueConsumer consumer(
      cpp.hydra,
      [&](const QueuedMessage& item) -> asio::awaitable<void> {
        EXPECT_TRUE(item.lease_until);
        EXPECT_TRUE(seen.insert(item.message.mid()).second) << "handled twice";
        co_return;
      },
      options);
  consumer.start();
  hydra::test::pump(cpp.io, 300ms);  // the workers are idle, one blocked on Redis
  auto mids = node_queues_jobs(node, 3);
  ASSERT_EQ(mids.size(), 3u);
  ASSERT_TRUE(hydra::test::run_until(
      cpp.io, [&] { return consumer.stats().completed >= 3; }, 10s));
  run_on(cpp.io, [&]() -> asio::awaitable<void> { co_await consumer.stop(); });
  EXPECT_EQ(seen, std::set<std::string>(mids.begin(), mids.end()));
  EXPECT_EQ(consumer.stats().taken, 3u);
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(node_command(node, R"({"cmd":"dequeue","service":"qsvc"})", "DEQUEUED"), "null");
}

// A Node consumer may finish (LREM) an item a hydra-cpp consumer leased; the expired lease is
// then dropped instead of redelivering a finished item.
TEST_F(QueueInterop, LeasedItemFinishedByNodeIsNotRedelivered) {
  RedisServer server;
  Cpp cpp(server);
  hydra::test::NodeService node(server.url(), kSvc);
  ASSERT_TRUE(cpp.put(job("cpp:/", 7)).ok());
  auto leased = cpp.get(true);
  ASSERT_TRUE(leased);
  node_command(node, mark_line(leased->raw, true, ""), "MARKED");
  EXPECT_EQ(server.cli({"LLEN", qd::in_progress_key(kSvc)}), "0");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(cpp.reclaim(), 0u);
  EXPECT_EQ(server.cli({"ZCARD", qd::leases_key(kSvc)}), "0");
  EXPECT_EQ(server.cli({"LLEN", qd::received_key(kSvc)}), "0");
  EXPECT_FALSE(cpp.mark(*leased, true));
}
