// The passive signal's entry into the check machine: a suspicion makes the checks enter
// their rapid round at once, the active probes decide, and nothing goes down on the
// signal alone unless passive.may_down says so.

#include <gtest/gtest.h>

#include "health_check_fixture.hpp"

using namespace poolwatch;
using namespace poolwatch::health_test;

class PassiveSignal : public ::testing::Test {
 protected:
  const std::string cause = "passive: 3 backend faults";
  HealthConfig config;  // the defaults: 10 s interval, rapid round of 10 needing 8
};

TEST_F(PassiveSignal, AnUpCheckEntersItsRapidRoundDueNow) {
  Check check(config);
  check.ok();
  ASSERT_EQ(check.state(), CheckState::up);
  const auto now = check.now() + 2s;
  const auto t = check.machine().suspect_now(cause, false, now, kUnixStart + 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::up);
  EXPECT_EQ(t->to, CheckState::rapid);
  EXPECT_NE(t->reason.find(cause), std::string::npos);
  EXPECT_EQ(check.due(), now);
  EXPECT_EQ(check.timeout(), d(config.rapid_timeout));
}

TEST_F(PassiveSignal, TheActiveProbesConfirmBeforeTheCheckGoesDown) {
  Check check(config);
  check.ok();
  check.machine().suspect_now(cause, false, check.now() + 1s, kUnixStart + 1);
  for (int i = 0; i < config.rapid_fails_needed - 1; ++i) {
    check.fail();
    EXPECT_EQ(check.state(), CheckState::rapid) << "after rapid failure " << i + 1;
  }
  const auto t = check.fail();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::down);
}

TEST_F(PassiveSignal, HealthyProbesClearTheSignal) {
  Check check(config);
  check.ok();
  check.machine().suspect_now(cause, false, check.now() + 1s, kUnixStart + 1);
  std::optional<CheckTransition> last;
  for (int i = 0; i < config.rapid_rounds && check.state() == CheckState::rapid; ++i)
    last = check.ok();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->to, CheckState::up);
}

TEST_F(PassiveSignal, ACheckInARapidRoundOrDownIsLeftAlone) {
  Check rapid(config);
  rapid.ok();
  for (int i = 0; i < config.retry_count; ++i) rapid.fail();
  ASSERT_EQ(rapid.state(), CheckState::rapid);
  rapid.fail();
  const auto polls = rapid.machine().status().rapid_polls;
  const auto due = rapid.due();
  EXPECT_FALSE(rapid.machine().suspect_now(cause, false, rapid.now(), kUnixStart));
  EXPECT_EQ(rapid.machine().status().rapid_polls, polls);  // the round is not restarted
  EXPECT_EQ(rapid.due(), due);

  Check down(config);
  drive_down(down, config);
  EXPECT_FALSE(down.machine().suspect_now(cause, true, down.now(), kUnixStart));
  EXPECT_EQ(down.state(), CheckState::down);
}

TEST_F(PassiveSignal, MayDownTakesTheCheckDownAtOnce) {
  Check check(config);
  check.ok();
  const auto t = check.machine().suspect_now(cause, true, check.now() + 1s, kUnixStart + 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::down);
  // It comes back only through the active probes.
  EXPECT_EQ(check.ok()->to, CheckState::up);
}

TEST_F(PassiveSignal, WithoutRapidRoundsTheCheckIsSuspectAndProbedNow) {
  config.rapid_rounds = 0;
  Check check(config);
  check.ok();
  const auto now = check.now() + 3s;
  const auto t = check.machine().suspect_now(cause, false, now, kUnixStart + 3);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::suspect);
  EXPECT_EQ(check.due(), now);
}

TEST_F(PassiveSignal, TheTrackerActsOnEveryCheckOfTheBackendOnly) {
  HealthTracker tracker(config, [] { return 0.5; });
  const auto a = make_ip_address("10.0.4.1");
  const auto b = make_ip_address("10.0.4.2");
  const std::vector<PortSpec> ports{{Protocol::imap, 143, TlsMode::plain},
                                    {Protocol::pop3, 110, TlsMode::plain}};
  tracker.sync({a, b}, ports, {}, SteadyTime{}, kUnixStart);
  for (const auto& address : {a, b})
    for (const auto& port : ports)
      tracker.record({address, port}, success(), SteadyTime{} + 1s, kUnixStart + 1);
  const auto now = SteadyTime{} + 5s;
  const auto result = tracker.suspect_now(a, cause, false, now, kUnixStart + 5);
  EXPECT_TRUE(result.tracked);
  EXPECT_EQ(result.rapid_rounds_started, 2);
  EXPECT_EQ(result.woken.size(), 2u);
  EXPECT_FALSE(result.backend);  // rapid is not down: the verdict stays up
  EXPECT_EQ(tracker.verdicts().at(a).verdict, Verdict::up);
  EXPECT_EQ(tracker.backend_state(a), CheckState::rapid);
  EXPECT_EQ(tracker.backend_state(b), CheckState::up);
  EXPECT_EQ(tracker.plan({a, ports[0]}).due, now);

  const auto unknown = tracker.suspect_now(make_ip_address("10.0.4.9"), cause, false, now, 0);
  EXPECT_FALSE(unknown.tracked);
  EXPECT_TRUE(unknown.checks.empty());
}

TEST_F(PassiveSignal, TheTrackerTakesTheBackendDownOnlyWithMayDown) {
  HealthTracker tracker(config, [] { return 0.5; });
  const auto a = make_ip_address("10.0.4.1");
  const std::vector<PortSpec> ports{{Protocol::imap, 143, TlsMode::plain}};
  tracker.sync({a}, ports, {}, SteadyTime{}, kUnixStart);
  tracker.record({a, ports[0]}, success(), SteadyTime{} + 1s, kUnixStart + 1);
  const auto result = tracker.suspect_now(a, cause, true, SteadyTime{} + 2s, kUnixStart + 2);
  ASSERT_TRUE(result.backend);
  EXPECT_EQ(result.backend->to, Verdict::down);
  EXPECT_EQ(result.rapid_rounds_started, 0);
  EXPECT_TRUE(result.woken.empty());
}
