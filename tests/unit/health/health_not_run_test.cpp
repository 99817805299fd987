// A probe poolwatch could not run (out of descriptors, local ports or memory) says
// nothing about the backend: the check's state and counters stay as they were, and the
// next probe is planned at the cadence of that state.

#include <gtest/gtest.h>

#include "poolwatch/health/health_tracker.hpp"
#include "unit/health/health_check_fixture.hpp"

using namespace poolwatch;
using namespace poolwatch::health_test;
using namespace std::chrono_literals;

namespace {

ProbeOutcome not_run() {
  return failure(FailureClass::local_resource,
                 "could not connect: Too many open files (a limit of this host, not the backend)");
}

// Feeds `count` probes that could not run; true when none of them moved the check.
bool none_moves(Check& check, int count = 50) {
  for (int i = 0; i < count; ++i)
    if (check.probe(not_run())) return false;
  return true;
}

}  // namespace

TEST(HealthNotRun, PendingAndUpStayAsTheyAre) {
  Check check;
  EXPECT_TRUE(none_moves(check));
  EXPECT_EQ(check.state(), CheckState::pending);
  check.ok();
  EXPECT_TRUE(none_moves(check));
  EXPECT_EQ(check.state(), CheckState::up);
  EXPECT_EQ(check.machine().status().consecutive_failures, 0);
  EXPECT_EQ(check.machine().status().consecutive_successes, 1);
}

TEST(HealthNotRun, SuspectDoesNotCountThemTowardsARapidRound) {
  Check check;
  check.ok();
  check.fail();
  EXPECT_TRUE(none_moves(check));
  EXPECT_EQ(check.state(), CheckState::suspect);
  EXPECT_EQ(check.machine().status().consecutive_failures, 1);
}

TEST(HealthNotRun, RapidRoundNeitherAdvancesNorEnds) {
  Check check;
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  ASSERT_EQ(check.state(), CheckState::rapid);
  check.fail();
  EXPECT_TRUE(none_moves(check));
  EXPECT_EQ(check.state(), CheckState::rapid);
  EXPECT_EQ(check.machine().status().rapid_polls, 1);
  EXPECT_EQ(check.machine().status().rapid_failures, 1);
}

TEST(HealthNotRun, DownDoesNotCountThemTowardsRecovery) {
  HealthConfig config;
  config.healthy_threshold = 2;
  Check check(config);
  drive_down(check, config);
  check.ok();
  EXPECT_TRUE(none_moves(check));
  EXPECT_EQ(check.state(), CheckState::down);
  EXPECT_EQ(check.machine().status().consecutive_successes, 1);
  EXPECT_TRUE(check.ok());  // the second real success brings it up
}

TEST(HealthNotRun, NextProbeAtTheStatesCadenceWithItsTimeout) {
  HealthConfig config;
  config.suspect_interval = 2s;  // where a failure would take it
  config.timeout_growth = true;  // and how it would stretch the timeout
  Check check(config);
  check.ok();
  const auto due = check.due();
  check.probe(not_run());
  EXPECT_EQ(check.due(), due + 10s);
  EXPECT_EQ(check.timeout(), 10s);
}

TEST(HealthNotRun, StatusShowsWhyTheLastProbeDidNotRun) {
  Check check;
  check.ok();
  check.probe(not_run());
  const auto status = check.machine().status();
  EXPECT_EQ(status.last_outcome, FailureClass::local_resource);
  EXPECT_EQ(status.last_reason, not_run().reason);
  EXPECT_EQ(status.last_latency, success().latency);  // of the last probe that ran
}

TEST(HealthNotRun, TrackerKeepsTheBackendsVerdict) {
  const auto address = make_ip_address("10.0.0.1");
  const PortSpec imap{Protocol::imap, 143, TlsMode::plain};
  HealthTracker tracker(HealthConfig{}, [] { return 0.5; });
  tracker.sync({address}, {imap}, {}, SteadyTime{}, kUnixStart);
  SteadyTime now = tracker.plan({address, imap}).due;
  ASSERT_TRUE(tracker.record({address, imap}, success(), now, kUnixStart).backend);
  for (int i = 0; i < 50; ++i) {
    now = tracker.plan({address, imap}).due;
    const auto result = tracker.record({address, imap}, not_run(), now, kUnixStart);
    EXPECT_FALSE(result.check);
    EXPECT_FALSE(result.backend);
  }
  EXPECT_EQ(tracker.verdicts().at(address).verdict, Verdict::up);
  EXPECT_EQ(tracker.backend_state(address), CheckState::up);
}
