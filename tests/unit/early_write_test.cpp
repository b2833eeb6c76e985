// The early-write policy of redis::Connection: groups of a quarter of the outstanding requests,
// never smaller than the configured minimum, at most four per batch of replies.
#include "redis/early_write.hpp"

#include <gtest/gtest.h>

#include <vector>

using hydra::redis::early_write_due;
using hydra::redis::kEarlyWriteGroups;

TEST(EarlyWrite, ZeroMinimumTurnsItOff) {
  EXPECT_FALSE(early_write_due(100, 100, 0, 0));
}

TEST(EarlyWrite, SmallPipelinesUseTheMinimumGroup) {
  // One request at a time never goes early: there is nothing to overlap.
  EXPECT_FALSE(early_write_due(1, 1, 2, 0));
  EXPECT_FALSE(early_write_due(1, 8, 2, 0));
  EXPECT_TRUE(early_write_due(2, 8, 2, 0));
  EXPECT_FALSE(early_write_due(7, 16, 8, 0));
  EXPECT_TRUE(early_write_due(8, 16, 8, 0));
}

TEST(EarlyWrite, GroupsAreAQuarterOfWhatIsOutstanding) {
  // 16 workers: groups of 4; 32 (16 producers and 16 consumers on one connection): groups of 8.
  EXPECT_FALSE(early_write_due(3, 16, 2, 0));
  EXPECT_TRUE(early_write_due(4, 16, 2, 0));
  EXPECT_FALSE(early_write_due(7, 32, 2, 0));
  EXPECT_TRUE(early_write_due(8, 32, 2, 0));
  EXPECT_FALSE(early_write_due(24, 100, 2, 0));
  EXPECT_TRUE(early_write_due(25, 100, 2, 0));
}

TEST(EarlyWrite, AtMostFourPerBatch) {
  EXPECT_TRUE(early_write_due(4, 16, 2, kEarlyWriteGroups - 1));
  EXPECT_FALSE(early_write_due(4, 16, 2, kEarlyWriteGroups));
  EXPECT_FALSE(early_write_due(1000, 1000, 2, kEarlyWriteGroups));
}

// A batch of 16 replies to 16 workers, each handler queueing one follow-up: the follow-ups go
// out in four groups of four, the last one by the early write itself, none left to the reader.
TEST(EarlyWrite, ABatchOfSixteenGoesOutInFourGroups) {
  std::size_t written = 16;  // written and not yet answered
  std::size_t queued = 0;
  unsigned early = 0;
  std::vector<std::size_t> groups;
  for (int reply = 0; reply < 16; ++reply) {
    --written;  // answered
    ++queued;   // its handler's follow-up
    if (early_write_due(queued, written + queued, 2, early)) {
      groups.push_back(queued);
      written += queued;
      queued = 0;
      ++early;
    }
  }
  EXPECT_EQ(groups, (std::vector<std::size_t>{4, 4, 4, 4}));
  EXPECT_EQ(queued, 0u);
}
