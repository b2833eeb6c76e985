// The table behind Hydra::request(): replies, deadlines and cancellation, without sockets or
// timers.
#include "registry/pending_requests.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hydra/error.hpp"

namespace {

using hydra::registry::PendingRequests;
using namespace std::chrono_literals;
using Clock = PendingRequests::Clock;

hydra::umf::Message reply_to(const std::string& mid, int n) {
  boost::json::object o = boost::json::parse(R"({"to":"a:/","from":"b:/"})").as_object();
  o["rmid"] = mid;
  o["body"] = boost::json::object{{"n", n}};
  return hydra::umf::Message::create(o);
}

// A handler that records what it was completed with.
struct Completed {
  int calls = 0;
  std::exception_ptr error;
  hydra::umf::Message reply;
  PendingRequests::Handler handler() {
    return PendingRequests::Handler([this](std::exception_ptr e, hydra::umf::Message m) {
      ++calls;
      error = e;
      reply = std::move(m);
    });
  }
};

TEST(PendingRequests, AReplyTakesItsRequestOnce) {
  PendingRequests p;
  const auto t0 = Clock::now();
  Completed c;
  EXPECT_FALSE(p.contains("m1"));
  p.add("m1", t0 + 1s, 1000ms, c.handler());
  EXPECT_TRUE(p.contains("m1")) << "a second request with the same mid is refused by the caller";
  EXPECT_EQ(p.next_deadline(), t0 + 1s);
  EXPECT_FALSE(p.take("other")) << "a message that answers no request";
  auto h = p.take("m1");
  ASSERT_TRUE(h);
  EXPECT_EQ(c.calls, 0) << "the caller invokes the handler, not the table";
  std::move (*h)(nullptr, reply_to("m1", 7));
  EXPECT_EQ(c.calls, 1);
  EXPECT_FALSE(c.error);
  EXPECT_EQ(c.reply.body().at("n"), 7);
  EXPECT_FALSE(p.take("m1")) << "a second reply to the same request is no reply any more";
  EXPECT_EQ(p.size(), 0u);
  EXPECT_EQ(p.next_deadline(), Clock::time_point::max());
}

TEST(PendingRequests, EntriesTakenOutAndAddedAgainKeepNothingOfTheOldOnes) {
  // Taken entries are reused for later requests: each new one must have its own mid, deadline
  // and handler, whatever the lengths of the mids before it.
  PendingRequests p;
  const auto t0 = Clock::now();
  std::vector<Completed> done(300);
  auto mid_of = [](int i) {
    return (i % 3 == 0 ? std::string("m") : std::string(36, 'a' + static_cast<char>(i % 26))) +
           std::to_string(i);
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = round * 100; i < round * 100 + 100; ++i)
      p.add(mid_of(i), t0 + std::chrono::milliseconds(1000 + i), 5ms, done[i].handler());
    EXPECT_EQ(p.size(), 100u);
    EXPECT_EQ(p.next_deadline(), t0 + std::chrono::milliseconds(1000 + round * 100));
    for (int i = round * 100; i < round * 100 + 100; ++i) {
      if (round > 0) {
        EXPECT_FALSE(p.contains(mid_of(i - 100)));
      }
      auto h = p.take(mid_of(i));
      ASSERT_TRUE(h) << mid_of(i);
      std::move (*h)(nullptr, reply_to(mid_of(i), i));
    }
    EXPECT_EQ(p.size(), 0u);
  }
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(done[i].calls, 1) << i;
    EXPECT_EQ(done[i].reply.body().at("n"), i);
  }
  // A reused entry that expires hands back its own mid and timeout.
  p.add("late", t0, 42ms, done[0].handler());
  auto due = p.expire(t0 + 1ms);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].mid, "late");
  EXPECT_EQ(due[0].timeout, 42ms);
}

TEST(PendingRequests, ExpireHandsBackOnlyRequestsPastTheirDeadline) {
  PendingRequests p;
  const auto t0 = Clock::now();
  Completed soon, later, answered;
  p.add("soon", t0 + 100ms, 100ms, soon.handler());
  p.add("later", t0 + 300ms, 300ms, later.handler());
  p.add("answered", t0 + 50ms, 50ms, answered.handler());
  ASSERT_TRUE(p.take("answered"));
  EXPECT_EQ(p.next_deadline(), t0 + 100ms) << "an answered request needs no timer";
  EXPECT_TRUE(p.expire(t0 + 99ms).empty());
  auto due = p.expire(t0 + 100ms);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due.front().mid, "soon");
  EXPECT_EQ(due.front().timeout, 100ms);
  std::move(due.front().handler)(std::make_exception_ptr(std::runtime_error("late")),
                                 hydra::umf::Message{});
  EXPECT_EQ(soon.calls, 1);
  EXPECT_TRUE(soon.error);
  EXPECT_EQ(later.calls, 0);
  EXPECT_EQ(p.next_deadline(), t0 + 300ms);
  EXPECT_TRUE(p.expire(t0 + 100ms).empty()) << "a request is handed back once";
  EXPECT_FALSE(p.take("soon")) << "a reply after the timeout answers nothing";
  EXPECT_EQ(p.size(), 1u);
}

}  // namespace
