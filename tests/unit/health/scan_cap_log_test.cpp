// The log lines about actions max_actions_per_scan postponed, scan by scan on a fake
// clock: one when the cap starts postponing, a summary at most once a minute, one when
// the backlog is gone.

#include "poolwatch/health/scan_cap_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace poolwatch;
using namespace std::chrono_literals;

class ScanCapLogTest : public ::testing::Test {
 protected:
  // A plan that postponed `count` HOST-DOWNs (and had a guard-blocked one, not counted).
  static std::vector<SuppressedAction> postponed(int count) {
    std::vector<SuppressedAction> out;
    for (int i = 1; i <= count; ++i)
      out.push_back(
          {director::HostCommand::down,
           IpAddress::v4({10, 2, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}),
           SuppressedBecause::scan_cap, "max_actions_per_scan 2 reached", i > 1});
    out.push_back({director::HostCommand::down, IpAddress::v4({10, 3, 0, 1}),
                   SuppressedBecause::pool_guard, "guard", true});
    return out;
  }

  // Steps the log through one scan at t seconds; the line, or "" for none.
  std::string scan(const std::vector<SuppressedAction>& suppressed, int t) {
    const auto line = log_.after_scan(suppressed, 2, ScanCapLog::Clock::time_point{} + 1h + t * 1s);
    return line.value_or("");
  }

  ScanCapLog log_;
};

TEST_F(ScanCapLogTest, SaysNothingWhileNothingIsPostponed) {
  EXPECT_EQ(scan({}, 0), "");
  EXPECT_EQ(scan({}, 10), "");
  EXPECT_FALSE(log_.postponing());
}

TEST_F(ScanCapLogTest, OneLineWhenTheCapStartsPostponingNamingTheFirstFew) {
  const auto line = scan(postponed(8), 0);
  EXPECT_NE(line.find("max_actions_per_scan 2 reached"), std::string::npos) << line;
  EXPECT_NE(line.find("8 action(s): HOST-DOWN 10.2.0.1, HOST-DOWN 10.2.0.2"), std::string::npos)
      << line;
  EXPECT_NE(line.find("and 3 more"), std::string::npos) << line;
  EXPECT_EQ(line.find("10.2.0.6"), std::string::npos) << line;
  EXPECT_EQ(line.find("10.3.0.1"), std::string::npos) << line;  // the guard's, not the cap's
  EXPECT_TRUE(log_.postponing());
}

TEST_F(ScanCapLogTest, ASummaryAtMostOnceAMinuteWhileTheBacklogLasts) {
  EXPECT_NE(scan(postponed(6), 0), "");
  EXPECT_EQ(scan(postponed(4), 10), "");
  EXPECT_EQ(scan(postponed(3), 59), "");
  const auto summary = scan(postponed(3), 60);
  EXPECT_NE(summary.find("still reached"), std::string::npos) << summary;
  EXPECT_NE(summary.find("3 action(s)"), std::string::npos) << summary;
  EXPECT_EQ(scan(postponed(2), 70), "");
}

TEST_F(ScanCapLogTest, OneLineWhenTheBacklogIsGoneThenSilence) {
  EXPECT_NE(scan(postponed(3), 0), "");
  EXPECT_EQ(scan(postponed(1), 10), "");
  EXPECT_NE(scan({}, 20).find("every postponed action has been sent"), std::string::npos);
  EXPECT_EQ(scan({}, 30), "");
  // A new backlog is news again, whenever it comes.
  EXPECT_NE(scan(postponed(2), 35).find("max_actions_per_scan 2 reached"), std::string::npos);
}
