// The table behind Hydra::request(): waiting, replies, deadlines, without sockets or timers.
#include "registry/pending_requests.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

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

// A waiter that records what it was resumed with.
struct Resumed {
  int calls = 0;
  std::error_code ec;
  PendingRequests::Waiter waiter() {
    return PendingRequests::Waiter([this](std::error_code e) {
      ++calls;
      ec = e;
    });
  }
};

TEST(PendingRequests, AReplyResumesItsWaiterAndIsTakenOnce) {
  PendingRequests p;
  const auto t0 = Clock::now();
  ASSERT_TRUE(p.add("m1", t0 + 1s));
  EXPECT_FALSE(p.add("m1", t0 + 2s)) << "a second request with the same mid is refused";
  EXPECT_FALSE(p.settled("m1", t0));
  Resumed r;
  p.wait("m1", r.waiter());
  EXPECT_EQ(p.next_deadline(), t0 + 1s);
  std::optional<PendingRequests::Waiter> resume;
  EXPECT_FALSE(p.deliver("other", reply_to("other", 0), resume));
  EXPECT_FALSE(resume);
  ASSERT_TRUE(p.deliver("m1", reply_to("m1", 7), resume));
  ASSERT_TRUE(resume);
  EXPECT_EQ(r.calls, 0) << "the caller invokes the waiter, not the table";
  std::move (*resume)(std::error_code{});
  EXPECT_EQ(r.calls, 1);
  EXPECT_FALSE(r.ec);
  // A second reply to the same request is not taken as a reply any more.
  std::optional<PendingRequests::Waiter> again;
  EXPECT_FALSE(p.deliver("m1", reply_to("m1", 8), again));
  EXPECT_TRUE(p.settled("m1", t0));
  EXPECT_EQ(p.next_deadline(), Clock::time_point::max());
  auto reply = p.take("m1");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body().at("n"), 7);
  EXPECT_EQ(p.size(), 0u);
  EXPECT_FALSE(p.take("m1"));
}

TEST(PendingRequests, AReplyBeforeTheWaitSettlesTheRequest) {
  PendingRequests p;
  const auto t0 = Clock::now();
  ASSERT_TRUE(p.add("early", t0 + 1s));
  std::optional<PendingRequests::Waiter> resume;
  ASSERT_TRUE(p.deliver("early", reply_to("early", 1), resume));
  EXPECT_FALSE(resume) << "nobody waits yet";
  EXPECT_TRUE(p.settled("early", t0));
  auto reply = p.take("early");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rmid(), "early");
}

TEST(PendingRequests, ExpireHandsBackOnlyWaitersPastTheirDeadline) {
  PendingRequests p;
  const auto t0 = Clock::now();
  Resumed soon, later, answered;
  ASSERT_TRUE(p.add("soon", t0 + 100ms));
  ASSERT_TRUE(p.add("later", t0 + 300ms));
  ASSERT_TRUE(p.add("answered", t0 + 50ms));
  ASSERT_TRUE(p.add("sending", t0 + 10ms));  // registered, not waiting yet
  p.wait("soon", soon.waiter());
  p.wait("later", later.waiter());
  p.wait("answered", answered.waiter());
  std::optional<PendingRequests::Waiter> resume;
  ASSERT_TRUE(p.deliver("answered", reply_to("answered", 1), resume));
  std::move (*resume)(std::error_code{});
  // Only waiting requests count for the timer; one still being sent is not.
  EXPECT_EQ(p.next_deadline(), t0 + 100ms);
  EXPECT_TRUE(p.expire(t0 + 99ms).empty());
  auto due = p.expire(t0 + 100ms);
  ASSERT_EQ(due.size(), 1u);
  std::move(due.front())(make_error_code(hydra::errc::timeout));
  EXPECT_EQ(soon.calls, 1);
  EXPECT_EQ(soon.ec, make_error_code(hydra::errc::timeout));
  EXPECT_EQ(later.calls, 0);
  EXPECT_EQ(p.next_deadline(), t0 + 300ms);
  EXPECT_TRUE(p.expire(t0 + 100ms).empty()) << "a waiter is handed back once";
  // The request still being sent has passed its deadline: it must not wait at all.
  EXPECT_TRUE(p.settled("sending", t0 + 10ms));
  EXPECT_FALSE(p.take("soon")) << "a timed-out request has no reply";
  EXPECT_FALSE(p.take("sending"));
  EXPECT_TRUE(p.take("answered"));
  EXPECT_EQ(p.size(), 1u);
}

TEST(PendingRequests, ACancelledWaitHandsItsWaiterBackOnce) {
  PendingRequests p;
  const auto t0 = Clock::now();
  ASSERT_TRUE(p.add("c", t0 + 1s));
  EXPECT_FALSE(p.cancel_wait("c")) << "nothing waits yet";
  Resumed r;
  p.wait("c", r.waiter());
  auto w = p.cancel_wait("c");
  ASSERT_TRUE(w);
  EXPECT_FALSE(p.cancel_wait("c"));
  EXPECT_EQ(p.next_deadline(), Clock::time_point::max()) << "a cancelled wait needs no timer";
  EXPECT_TRUE(p.expire(t0 + 2s).empty());
  std::optional<PendingRequests::Waiter> resume;
  EXPECT_TRUE(p.deliver("c", reply_to("c", 3), resume)) << "the entry stays until it is taken";
  EXPECT_FALSE(resume);
  EXPECT_TRUE(p.take("c"));
}

}  // namespace
