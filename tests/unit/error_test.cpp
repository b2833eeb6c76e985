// hydra::errc and its error category: every code has a message of its own.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <system_error>

#include "hydra/error.hpp"

namespace {

TEST(ErrorCategory, EveryCodeHasItsOwnMessage) {
  const int last = static_cast<int>(hydra::errc::invalid_message);
  std::set<std::string> seen;
  for (int value = static_cast<int>(hydra::errc::disconnected); value <= last; ++value) {
    const std::error_code ec = hydra::make_error_code(static_cast<hydra::errc>(value));
    const std::string text = ec.message();
    EXPECT_NE(text, "unknown hydra error") << "code " << value;
    EXPECT_TRUE(seen.insert(text).second) << "code " << value << " repeats \"" << text << '"';
  }
  EXPECT_EQ(hydra::make_error_code(hydra::errc::unavailable).message(), "no instance available");
  EXPECT_EQ(hydra::error_category().name(), std::string("hydra"));
  EXPECT_EQ(hydra::error_category().message(last + 1), "unknown hydra error");
}

}  // namespace
