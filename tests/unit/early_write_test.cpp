// The early-write policy of redis::Connection: groups of half the outstanding requests, never
// smaller than the configured minimum, at most two per batch of replies.
#include "redis/early_write.hpp"

#include <gtest/gtest.h>

#include <vector>

using hydra::redis::early_write_due;
using hydra::redis::kEarlyWriteGroups;

struct Case {
  std::size_t queued, outstanding, min_group;
  unsigned early_writes;
  bool due;
  const char* why;
};

TEST(EarlyWrite, Cases) {
  const Case cases[] = {
      {100, 100, 0, 0, false, "zero minimum turns it off"},
      {1, 1, 2, 0, false, "one request at a time: nothing to overlap"},
      {1, 8, 2, 0, false, "below the minimum group"},
      {2, 4, 2, 0, true, "small pipeline: the minimum group"},
      {3, 8, 2, 0, false, "8 outstanding: groups of 4"},
      {7, 16, 8, 0, false, "a larger minimum holds"},
      {8, 16, 8, 0, true, "a larger minimum reached"},
      {7, 16, 2, 0, false, "16 outstanding: groups of 8"},
      {8, 16, 2, 0, true, "16 outstanding: groups of 8"},
      {15, 32, 2, 0, false, "32 outstanding (16 producers, 16 consumers): groups of 16"},
      {16, 32, 2, 0, true, "32 outstanding: groups of 16"},
      {49, 100, 2, 0, false, "100 outstanding: groups of 50"},
      {50, 100, 2, 0, true, "100 outstanding: groups of 50"},
      {3, 5, 2, 0, true, "5 outstanding: groups of 2 (half rounds down)"},
      {8, 16, 2, kEarlyWriteGroups - 1, true, "the second early write of a batch"},
      {8, 16, 2, kEarlyWriteGroups, false, "at most two per batch"},
      {1000, 1000, 2, kEarlyWriteGroups, false, "at most two per batch, however many"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(early_write_due(c.queued, c.outstanding, c.min_group, c.early_writes), c.due)
        << c.why << ": queued " << c.queued << ", outstanding " << c.outstanding;
  }
}

// A batch of 16 replies to 16 workers, each handler queueing one follow-up: the follow-ups go
// out in two groups of eight, the last one by the early write itself, none left to the reader.
TEST(EarlyWrite, ABatchOfSixteenGoesOutInTwoGroups) {
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
  EXPECT_EQ(groups, (std::vector<std::size_t>{8, 8}));
  EXPECT_EQ(queued, 0u);
}
