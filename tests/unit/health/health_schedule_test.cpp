// When the per-check state machine probes: first-probe spread, cadence per state,
// timeouts, jitter, and a reloaded config, on a fake clock.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "poolwatch/health/health_tracker.hpp"
#include "unit/health/health_check_fixture.hpp"

using namespace poolwatch;
using namespace poolwatch::health_test;
using namespace std::chrono_literals;

TEST(HealthSchedule, FirstProbeIsSpreadOverOneInterval) {
  EXPECT_EQ(Check({}, 0.0).due(), SteadyTime{});
  EXPECT_EQ(Check({}, 0.25).due(), SteadyTime{} + 2500ms);
  EXPECT_EQ(Check({}, 1.0).due(), SteadyTime{} + 10s);
  EXPECT_EQ(Check({}, 0.25).timeout(), 10s);
  EXPECT_EQ(Check().state(), CheckState::pending);
}

TEST(HealthSchedule, ProbeOverrunningItsIntervalIsFollowedAtOnce) {
  HealthConfig config;
  config.interval = 5s;
  Check check(config);
  check.ok(7s);
  EXPECT_EQ(check.due(), check.now());
}

TEST(HealthSchedule, DownIntervalDefaultsToIntervalAndCanBeSet) {
  HealthConfig config;
  Check by_default(config);
  drive_down(by_default, config);
  const auto start = by_default.due();
  by_default.fail(1s);
  EXPECT_EQ(by_default.due(), start + 10s);

  config.down_interval = 30s;
  Check custom(config);
  drive_down(custom, config);
  const auto custom_start = custom.due();
  custom.fail();
  EXPECT_EQ(custom.due(), custom_start + 30s);
  EXPECT_EQ(custom.timeout(), 10s);
}

TEST(HealthSchedule, SuspectIntervalSpeedsUpPollsAfterAFailure) {
  HealthConfig config;
  config.suspect_interval = 2s;
  Check check(config);
  check.ok();
  const auto start = check.due();
  check.fail();
  EXPECT_EQ(check.due(), start + 2s);
  check.ok();  // up again: back to the normal interval
  EXPECT_EQ(check.due(), start + 2s + 10s);
}

TEST(HealthSchedule, TimeoutGrowsWithConsecutiveFailuresCappedAtThreeTimes) {
  HealthConfig config;
  config.timeout_growth = true;
  config.timeout = 3s;
  config.rapid_rounds = 0;
  Check check(config);
  check.ok();
  EXPECT_EQ(check.timeout(), 3s);
  check.fail();
  EXPECT_EQ(check.timeout(), 6s);
  check.fail();
  EXPECT_EQ(check.timeout(), 9s);
  check.fail();  // down
  EXPECT_EQ(check.timeout(), 9s);
  check.fail();
  EXPECT_EQ(check.timeout(), 9s);
  check.ok();
  EXPECT_EQ(check.timeout(), 3s);
}

TEST(HealthSchedule, TimeoutStaysFixedWithoutGrowthAndRapidUsesRapidTimeout) {
  Check check;
  check.ok();
  check.fail();
  EXPECT_EQ(check.timeout(), 10s);
  check.fail();
  EXPECT_EQ(check.timeout(), 10s);
  check.fail();
  EXPECT_EQ(check.timeout(), 5s);
}

TEST(HealthSchedule, JitterStaysWithinPercentBounds) {
  HealthConfig config;  // 10 s, 5 %
  Check low(config, 0.0);
  low.ok();
  EXPECT_EQ(low.due(), low.now() + 9500ms);
  Check high(config, 1.0);
  const auto start = high.due();
  high.ok();
  EXPECT_EQ(high.due(), start + 10500ms);

  CheckMachine seeded("imap:143", config, seeded_unit_random(7), SteadyTime{});
  SteadyDuration shortest = 1h;
  SteadyDuration longest{};
  for (int i = 0; i < 2000; ++i) {
    const auto start_i = seeded.plan().due;
    seeded.record(success(), start_i, kUnixStart);
    const auto step = seeded.plan().due - start_i;
    shortest = std::min(shortest, step);
    longest = std::max(longest, step);
  }
  EXPECT_GE(shortest, 9500ms);
  EXPECT_LE(longest, 10500ms);
  EXPECT_LT(shortest, 9600ms);  // the spread is really used
  EXPECT_GT(longest, 10400ms);
}

TEST(HealthSchedule, SameSeedGivesTheSameSchedule) {
  HealthConfig config;
  CheckMachine a("imap:143", config, seeded_unit_random(42), SteadyTime{});
  CheckMachine b("imap:143", config, seeded_unit_random(42), SteadyTime{});
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(a.plan().due, b.plan().due);
    a.record(i % 3 ? success() : failure(), a.plan().due, kUnixStart);
    b.record(i % 3 ? success() : failure(), b.plan().due, kUnixStart);
  }
}

TEST(HealthSchedule, RapidPollsAreNotJittered) {
  Check check(HealthConfig{}, 0.0);
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  const auto start = check.due();
  check.fail(0.5s);
  EXPECT_EQ(check.due(), start + 1s);
}

TEST(HealthSchedule, ReloadedConfigAppliesToTheNextPlan) {
  Check check;
  check.ok();
  HealthConfig faster;
  faster.interval = 2s;
  check.machine().set_config(faster, check.now());
  const auto start = check.due();
  check.ok();
  EXPECT_EQ(check.due(), start + 2s);
}

TEST(HealthSchedule, ReloadedShorterIntervalBringsTheWaitingProbeForward) {
  HealthConfig config;
  config.interval = 300s;
  config.jitter_percent = 0;
  Check check(config);
  check.ok();
  EXPECT_EQ(check.due(), check.now() + 300s);
  const SteadyTime reload_at = check.now() + 60s;

  HealthConfig same = config;
  same.timeout = 5s;  // not the cadence: the plan stays
  check.machine().set_config(same, reload_at);
  EXPECT_EQ(check.due(), check.now() + 300s);

  HealthConfig longer = config;
  longer.interval = 600s;  // never postpones a planned probe
  check.machine().set_config(longer, reload_at);
  EXPECT_EQ(check.due(), check.now() + 300s);

  HealthConfig shorter = config;
  shorter.interval = 10s;
  check.machine().set_config(shorter, reload_at);
  EXPECT_EQ(check.due(), reload_at + 10s);
  check.ok();
  EXPECT_EQ(check.due(), reload_at + 20s);
}

TEST(HealthSchedule, ReloadedShorterDownIntervalAppliesToADownCheck) {
  HealthConfig config;
  config.jitter_percent = 0;
  config.down_interval = Seconds(120);
  Check check(config);
  drive_down(check, config);
  const SteadyTime reload_at = check.now() + 1s;
  HealthConfig shorter = config;
  shorter.down_interval = Seconds(5);
  check.machine().set_config(shorter, reload_at);
  EXPECT_EQ(check.due(), reload_at + 5s);
}

TEST(HealthSchedule, ZeroIntervalDoesNotPlanTheSameInstantTwice) {
  HealthConfig config;
  config.interval = 0s;
  config.jitter_percent = 0;
  Check check(config);
  const auto start = check.due();
  check.ok();
  EXPECT_EQ(check.due(), start + 1ms);
}
