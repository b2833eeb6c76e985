// The table behind Hydra::request(): replies, deadlines and cancellation, without sockets or
// timers.
#include "registry/pending_requests.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <stdexcept>

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
