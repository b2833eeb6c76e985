// Pure queue logic: key names, Node-identical reason insertion, statistics, item parsing.
#include <gtest/gtest.h>

#include "hydra/json.hpp"
#include "queue/queue_logic.hpp"

namespace qd = hydra::queue_detail;
using namespace std::chrono_literals;

TEST(QueueLogic, KeysUseNodesNames) {
  EXPECT_EQ(qd::received_key("svc"), "hydra:service:svc:mqrecieved");
  EXPECT_EQ(qd::in_progress_key("svc"), "hydra:service:svc:mqinprogress");
  EXPECT_EQ(qd::incomplete_key("svc"), "hydra:service:svc:mqincomplete");
  EXPECT_EQ(qd::leases_key("svc"), "hydra:service:svc:mqleases");
  EXPECT_EQ(qd::attempts_key("svc"), "hydra:service:svc:mqattempts");
  EXPECT_EQ(qd::claimed_key("svc"), "hydra:service:svc:mqclaimed");
}

// The value Node 1.9.3's markQueueMessage(msg, false, "could not process") RPUSHed.
TEST(QueueLogic, ReasonInsertionMatchesNodeByteForByte) {
  std::string raw =
      R"({"to":"test-service:/","frm":"client-svc:/","mid":"6db47ea4-5e5f-477d-ad8e-0a43fe279b6b",)"
      R"("ts":"2026-11-21T04:49:55.469Z","ver":"UMF/1.4.6","bdy":{"job":42}})";
  EXPECT_EQ(
      qd::with_reason(raw, "could not process"),
      R"({"to":"test-service:/","frm":"client-svc:/","mid":"6db47ea4-5e5f-477d-ad8e-0a43fe279b6b",)"
      R"("ts":"2026-11-21T04:49:55.469Z","ver":"UMF/1.4.6","bdy":{"job":42,"reason":"could not process"}})");
}

TEST(QueueLogic, ReasonDefaultsAndReplacesInPlace) {
  EXPECT_EQ(qd::with_reason(R"({"bdy":{"a":1}})", ""),
            R"({"bdy":{"a":1,"reason":"reason not provided"}})");
  // An existing reason keeps its position, as a JS assignment does.
  EXPECT_EQ(qd::with_reason(R"({"bdy":{"reason":"old","a":1}})", "new"),
            R"({"bdy":{"reason":"new","a":1}})");
}

TEST(QueueLogic, ReasonGoesToLongBodyAndKeepsStoredKeysAndOrder) {
  // Long keys and unusual order are kept exactly (no UMF normalisation).
  EXPECT_EQ(qd::with_reason(R"({"body":{"x":"é/"},"to":"a:/","extra":[1,2.5]})", "r"),
            R"({"body":{"x":"é/","reason":"r"},"to":"a:/","extra":[1,2.5]})");
  // A truthy bdy wins over body; a falsy one does not.
  EXPECT_EQ(qd::with_reason(R"({"bdy":{},"body":{}})", "r"), R"({"bdy":{"reason":"r"},"body":{}})");
  EXPECT_EQ(qd::with_reason(R"({"bdy":0,"body":{}})", "r"), R"({"bdy":0,"body":{"reason":"r"}})");
}

TEST(QueueLogic, ReasonLeavesUnusableTextUnchanged) {
  EXPECT_EQ(qd::with_reason("not json", "r"), "not json");
  EXPECT_EQ(qd::with_reason("[1,2]", "r"), "[1,2]");
  EXPECT_EQ(qd::with_reason(R"({"bdy":"text"})", "r"), R"({"bdy":"text"})");
  EXPECT_EQ(qd::with_reason(R"({"to":"a:/"})", "r"), R"({"to":"a:/"})");
}

TEST(QueueLogic, DeadLetterReason) {
  EXPECT_EQ(qd::dead_letter_reason(3), "dead-lettered after 3 attempts (lease expired)");
}

TEST(QueueLogic, StatsComputeAgeOfOldest) {
  auto ts = *hydra::json::parse_iso_timestamp("2026-11-21T04:49:55.469Z");
  auto s = qd::make_stats(3, 2, 1, std::string(R"({"ts":"2026-11-21T04:49:55.469Z","bdy":{}})"),
                          ts + 1500ms);
  EXPECT_EQ(s.received, 3);
  EXPECT_EQ(s.in_progress, 2);
  EXPECT_EQ(s.incomplete, 1);
  ASSERT_TRUE(s.oldest_age);
  EXPECT_EQ(s.oldest_age->count(), 1500);
  // Long-form timestamp.
  s = qd::make_stats(1, 0, 0, std::string(R"({"timestamp":"2026-11-21T04:49:55.469Z"})"), ts + 2s);
  ASSERT_TRUE(s.oldest_age);
  EXPECT_EQ(s.oldest_age->count(), 2000);
  // A producer clock ahead of ours gives zero, not a negative age.
  s = qd::make_stats(1, 0, 0, std::string(R"({"ts":"2026-11-21T04:49:55.469Z"})"), ts - 5s);
  EXPECT_EQ(s.oldest_age, std::chrono::milliseconds(0));
}

TEST(QueueLogic, StatsWithoutUsableOldest) {
  auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(qd::make_stats(0, 0, 0, std::nullopt, now).oldest_age);
  EXPECT_FALSE(qd::make_stats(1, 0, 0, std::string("garbage{"), now).oldest_age);
  EXPECT_FALSE(qd::make_stats(1, 0, 0, std::string(R"({"ts":"yesterday"})"), now).oldest_age);
  EXPECT_FALSE(qd::make_stats(1, 0, 0, std::string(R"({"ts":5})"), now).oldest_age);
}

TEST(QueueLogic, ItemsKeepTheirRawText) {
  auto item = qd::make_item(R"({"to":"a:/","frm":"b:/","mid":"m1","bdy":{"k":1}})", "a");
  EXPECT_EQ(item.raw, R"({"to":"a:/","frm":"b:/","mid":"m1","bdy":{"k":1}})");
  EXPECT_EQ(item.message.mid(), "m1");
  EXPECT_EQ(item.service_name, "a");
  EXPECT_EQ(item.attempt, 1u);
  auto bad = qd::make_item("{oops", "a");
  EXPECT_EQ(bad.raw, "{oops");
  EXPECT_FALSE(bad.message.validate());
}

TEST(QueueLogic, BlockingTimeoutIsFractionalSeconds) {
  EXPECT_EQ(qd::blocking_timeout_arg(250ms), "0.250");
  EXPECT_EQ(qd::blocking_timeout_arg(2s), "2.000");
  EXPECT_EQ(qd::blocking_timeout_arg(0ms), "0.001");
}
