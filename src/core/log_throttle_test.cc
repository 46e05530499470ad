#include "core/log_throttle.h"

#include <gtest/gtest.h>

namespace loge {
namespace {

using std::chrono::seconds;

TEST(LogThrottle, RepeatsWithinTheIntervalAreDroppedAndCounted) {
  LogThrottle t(seconds(10));
  const auto t0 = std::chrono::steady_clock::time_point() + seconds(1000);
  const uint64_t total_before = LogThrottle::TotalSuppressed();
  uint64_t n = 99;
  EXPECT_TRUE(t.AllowAt("accept: EMFILE", t0, &n));
  EXPECT_EQ(n, 0u);
  for (int i = 0; i < 500; i++) EXPECT_FALSE(t.AllowAt("accept: EMFILE", t0 + seconds(i % 9), &n));
  EXPECT_EQ(LogThrottle::TotalSuppressed() - total_before, 500u);
  // The next line after the interval gets through and reports the dropped copies.
  EXPECT_TRUE(t.AllowAt("accept: EMFILE", t0 + seconds(10), &n));
  EXPECT_EQ(n, 500u);
  EXPECT_FALSE(t.AllowAt("accept: EMFILE", t0 + seconds(11), &n));
}

TEST(LogThrottle, DistinctKeysDoNotSuppressEachOther) {
  LogThrottle t(seconds(10));
  const auto t0 = std::chrono::steady_clock::time_point() + seconds(1000);
  uint64_t n = 0;
  EXPECT_TRUE(t.AllowAt("a", t0, &n));
  EXPECT_TRUE(t.AllowAt("b", t0, &n));
  EXPECT_FALSE(t.AllowAt("a", t0, &n));
}

}  // namespace
}  // namespace loge
