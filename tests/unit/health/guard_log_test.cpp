// The pool guard's log lines, scan by scan on a fake clock: one when it starts blocking,
// one when it stops, and a summary at most once a minute in between.

#include "poolwatch/health/guard_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace poolwatch;
using namespace std::chrono_literals;

class GuardLogTest : public ::testing::Test {
 protected:
  // A pool of 1000 with 500 down by poolwatch at 50 %: every candidate is blocked.
  static GuardDecision blocking(int hosts) {
    std::vector<GuardCandidate> candidates;
    for (int i = 1; i <= hosts; ++i)
      candidates.push_back(
          {IpAddress::v4({10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}),
           100 + i, "refused"});
    return apply_pool_guard(1000, 500, 50, std::move(candidates));
  }
  static GuardDecision quiet() { return apply_pool_guard(4, 1, 50, {}); }

  // Steps the log through one scan at t seconds; the line's text, or "" for none.
  std::string scan(const GuardDecision& guard, int t) {
    const auto line = log_.after_scan(guard, GuardLog::Clock::time_point{} + 1h + t * 1s);
    if (!line) return "";
    last_level_ = line->level;
    return line->text;
  }

  GuardLog log_;
  GuardLogLine::Level last_level_ = GuardLogLine::Level::warn;
};

TEST_F(GuardLogTest, NothingWhileTheGuardBlocksNothing) {
  EXPECT_EQ(scan(quiet(), 0), "");
  EXPECT_EQ(scan(quiet(), 100), "");
  EXPECT_FALSE(log_.blocking());
}

TEST_F(GuardLogTest, OneLineWhenItStartsNamingHowManyWhichAndWhy) {
  const auto guard = blocking(3);
  ASSERT_EQ(guard.blocked.size(), 3u);
  EXPECT_EQ(scan(guard, 0),
            "pool guard: blocking HOST-DOWN of 3 host(s): 10.1.0.1, 10.1.0.2, 10.1.0.3; 500 of "
            "1000 hosts already down by poolwatch and 0 more going down this scan; "
            "max_down_percent 50 allows 500; a summary follows at most every 60 s while it "
            "blocks");
  EXPECT_EQ(last_level_, GuardLogLine::Level::error);
  EXPECT_TRUE(log_.blocking());
}

TEST_F(GuardLogTest, WhileBlockingASummaryAtMostOnceAMinute) {
  const auto guard = blocking(600);
  ASSERT_NE(scan(guard, 0), "");
  std::vector<int> summaries;
  for (int t = 1; t <= 150; ++t)  // a scan a second for two and a half minutes
    if (!scan(guard, t).empty()) summaries.push_back(t);
  EXPECT_EQ(summaries, (std::vector<int>{60, 120}));
  EXPECT_EQ(scan(guard, 180),
            "pool guard: still blocking HOST-DOWN of 600 host(s): 10.1.0.1, 10.1.0.2, 10.1.0.3, "
            "10.1.0.4, 10.1.0.5 and 595 more; 500 of 1000 hosts already down by poolwatch and 0 "
            "more going down this scan; max_down_percent 50 allows 500");
  EXPECT_EQ(last_level_, GuardLogLine::Level::error);
}

TEST_F(GuardLogTest, OneLineWhenItStopsAndAFreshStartAfterwards) {
  ASSERT_NE(scan(blocking(3), 0), "");
  EXPECT_EQ(scan(quiet(), 5),
            "pool guard: no longer blocking any HOST-DOWN (1 of 4 hosts already down by poolwatch "
            "and 0 more going down this scan; max_down_percent 50 allows 2)");
  EXPECT_EQ(last_level_, GuardLogLine::Level::warn);
  EXPECT_FALSE(log_.blocking());
  EXPECT_EQ(scan(quiet(), 6), "");
  EXPECT_NE(scan(blocking(1), 7).find("pool guard: blocking HOST-DOWN of 1 host(s)"),
            std::string::npos);
}
