// The per-check state machine's decisions (suspect, rapid round, down, recovery),
// driven by a fake clock and a fixed random source so every due time is exact.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "poolwatch/health/health_tracker.hpp"
#include "unit/health/health_check_fixture.hpp"

using namespace poolwatch;
using namespace poolwatch::health_test;
using namespace std::chrono_literals;

TEST(HealthCheck, LabelNamesProtocolPortAndTls) {
  EXPECT_EQ(check_label({Protocol::imap, 143, TlsMode::plain}), "imap:143");
  EXPECT_EQ(check_label({Protocol::imap, 993, TlsMode::implicit}), "imap:993/tls");
  EXPECT_EQ(check_label({Protocol::lmtp, 24, TlsMode::starttls}), "lmtp:24/starttls");
}

TEST(HealthCheck, FirstSuccessIsUpAndNormalCadenceFollows) {
  Check check;
  const auto first_due = check.due();
  const auto t = check.ok(2s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::pending);
  EXPECT_EQ(t->to, CheckState::up);
  EXPECT_EQ(t->reason, "imap:143: first probe succeeded");
  // Start-to-start: a 2 s probe does not push the next start back.
  EXPECT_EQ(check.due(), first_due + 10s);
  EXPECT_EQ(check.timeout(), 10s);
  EXPECT_FALSE(check.ok());  // up stays up silently
}

TEST(HealthCheck, FirstFailureMakesItSuspect) {
  Check check;
  const auto t = check.fail();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::pending);
  EXPECT_EQ(t->to, CheckState::suspect);
  EXPECT_EQ(t->reason,
            "imap:143: 1 consecutive failure (connect refused: connection refused), 3 lead to a "
            "rapid round");
}

TEST(HealthCheck, RetryCountFailuresEnterRapidRoundWithRapidTimings) {
  Check check;
  check.ok();
  ASSERT_TRUE(check.fail());
  EXPECT_EQ(check.state(), CheckState::suspect);
  EXPECT_FALSE(check.fail());  // still suspect: no new transition
  const auto before = check.due();
  const auto t = check.probe(failure(FailureClass::auth_rejected, "NO [AUTHENTICATIONFAILED]"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::suspect);
  EXPECT_EQ(t->to, CheckState::rapid);
  EXPECT_EQ(t->reason,
            "imap:143: 3 consecutive failures (auth rejected: NO [AUTHENTICATIONFAILED]), "
            "entering rapid round");
  EXPECT_EQ(check.due(), before + 1s);
  EXPECT_EQ(check.timeout(), 5s);
}

TEST(HealthCheck, SuccessWhileSuspectIsUpWithCountersReset) {
  Check check;
  check.ok();
  check.fail();
  check.fail();
  const auto t = check.ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::up);
  EXPECT_EQ(t->reason, "imap:143: probe succeeded after 2 consecutive failures");
  EXPECT_EQ(check.machine().status().consecutive_failures, 0);
  // The count starts over: two more failures are not enough for a rapid round.
  check.fail();
  check.fail();
  EXPECT_EQ(check.state(), CheckState::suspect);
}

TEST(HealthCheck, RapidRoundThatFailsThroughoutEndsEarlyAtTheNeededCount) {
  Check check;
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  for (int i = 1; i < 8; ++i) {
    EXPECT_FALSE(check.probe(failure(FailureClass::connect_timeout, ""))) << i;
    EXPECT_EQ(check.machine().status().rapid_polls, i);
  }
  const auto t = check.probe(failure(FailureClass::connect_timeout, ""));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::rapid);
  EXPECT_EQ(t->to, CheckState::down);
  EXPECT_EQ(t->reason,
            "imap:143: 8 of 8 rapid polls failed, down decided before the round of 10 ended, "
            "last: connect timeout");
}

TEST(HealthCheck, RapidRoundWithNeededMinusOneFailuresStaysUp) {
  Check check;
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(check.fail());
  EXPECT_FALSE(check.ok());
  EXPECT_FALSE(check.ok());
  const auto t = check.ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::up);
  EXPECT_EQ(t->reason, "imap:143: only 7/10 rapid polls failed (8 needed), up");
  const auto status = check.machine().status();
  EXPECT_EQ(status.consecutive_failures, 0);
  EXPECT_EQ(status.rapid_polls, 0);
  // Back to normal cadence and timeout.
  EXPECT_EQ(check.due(), check.now() + 10s);
  EXPECT_EQ(check.timeout(), 10s);
}

TEST(HealthCheck, RapidRoundWithExactlyNeededFailuresGoesDown) {
  Check check;
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  EXPECT_FALSE(check.ok());
  EXPECT_FALSE(check.ok());
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(check.fail());
  const auto t = check.probe(failure(FailureClass::timeout, "no greeting within 5.0 s"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::down);
  EXPECT_EQ(t->reason,
            "imap:143: 8/10 rapid polls failed, last: timeout: no greeting within 5.0 s");
}

TEST(HealthCheck, RapidRoundEndsEarlyOnceDownIsOutOfReach) {
  Check check;
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  EXPECT_FALSE(check.ok());
  EXPECT_FALSE(check.ok());
  const auto t = check.ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, CheckState::up);
  EXPECT_EQ(t->reason,
            "imap:143: 3 of 3 rapid polls succeeded, 8 failures out of reach, round of 10 ended "
            "early, up");
}

// Every possible sequence of ten rapid results: the round decides down exactly when 8 of
// the 10 fail, and it stops at the first poll that settles the question.
TEST(HealthCheck, EveryRapidRoundSequenceDecidesLikeTheFullVote) {
  for (unsigned pattern = 0; pattern < 1024; ++pattern) {
    Check check;
    check.ok();
    for (int i = 0; i < 3; ++i) check.fail();
    int failures = 0;
    int decided_at = 0;
    for (int poll = 0; poll < 10 && decided_at == 0; ++poll) {
      const bool fails = (pattern >> poll) & 1U;
      failures += fails ? 1 : 0;
      const int successes = poll + 1 - failures;
      if (failures >= 8 || successes > 2) decided_at = poll + 1;
      const auto t = fails ? check.fail() : check.ok();
      ASSERT_EQ(t.has_value(), decided_at != 0) << pattern << " poll " << poll;
    }
    ASSERT_NE(decided_at, 0) << pattern;
    const bool down = __builtin_popcount(pattern) >= 8;
    EXPECT_EQ(check.state(), down ? CheckState::down : CheckState::up) << pattern;
  }
}

TEST(HealthCheck, FlappingBackendNeverLeavesUpAndSuspectWithDefaults) {
  Check check;
  for (int i = 0; i < 500; ++i) {
    check.fail();
    EXPECT_EQ(check.state(), CheckState::suspect);
    check.ok();
    EXPECT_EQ(check.state(), CheckState::up);
  }
  // Two failures in a row are still not enough.
  for (int i = 0; i < 200; ++i) {
    check.fail();
    check.fail();
    check.ok();
    ASSERT_EQ(check.state(), CheckState::up);
  }
}

TEST(HealthCheck, RapidRoundsZeroGoesDownRightAfterRetryCount) {
  HealthConfig config;
  config.rapid_rounds = 0;
  Check check(config);
  check.ok();
  check.fail();
  check.fail();
  const auto t = check.fail();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::suspect);
  EXPECT_EQ(t->to, CheckState::down);
  EXPECT_EQ(t->reason,
            "imap:143: 3 consecutive failures (connect refused: connection refused), down (no "
            "rapid round configured)");
}

TEST(HealthCheck, RetryCountOneEntersRapidOnFirstFailure) {
  HealthConfig config;
  config.retry_count = 1;
  Check check(config);
  check.ok();
  const auto t = check.fail();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::up);
  EXPECT_EQ(t->to, CheckState::rapid);
}

TEST(HealthCheck, CustomThresholds) {
  HealthConfig config;
  config.retry_count = 2;
  config.rapid_rounds = 5;
  config.rapid_fails_needed = 3;
  {
    Check check(config);
    check.ok();
    check.fail();
    ASSERT_EQ(check.fail()->to, CheckState::rapid);
    check.ok();
    check.fail();
    check.ok();
    check.fail();  // 2 of 4 failed, one more decides either way
    EXPECT_EQ(check.state(), CheckState::rapid);
    const auto t = check.fail();
    ASSERT_TRUE(t);
    EXPECT_EQ(t->reason,
              "imap:143: 3/5 rapid polls failed, last: connect refused: connection refused");
  }
  {
    Check check(config);
    check.ok();
    check.fail();
    check.fail();
    check.ok();
    check.fail();
    check.ok();
    const auto t = check.ok();  // 3 successes of 5: 3 failures are out of reach
    ASSERT_TRUE(t);
    EXPECT_EQ(t->to, CheckState::up);
    EXPECT_EQ(check.machine().status().rapid_polls, 0);
  }
}

TEST(HealthCheck, RapidFailsNeededAboveRoundsMeansEveryPollMustFail) {
  HealthConfig config;
  config.rapid_rounds = 3;
  config.rapid_fails_needed = 7;
  Check check(config);
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  check.fail();
  EXPECT_EQ(check.state(), CheckState::rapid);
  check.fail();
  const auto t = check.fail();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason,
            "imap:143: 3/3 rapid polls failed, last: connect refused: connection refused");

  Check one_success(config);
  one_success.ok();
  for (int i = 0; i < 3; ++i) one_success.fail();
  const auto up = one_success.ok();
  ASSERT_TRUE(up);
  EXPECT_EQ(up->to, CheckState::up);
}

TEST(HealthCheck, HealthyThresholdOneRecoversOnFirstSuccess) {
  HealthConfig config;
  Check check(config);
  drive_down(check, config);
  const auto t = check.ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->from, CheckState::down);
  EXPECT_EQ(t->to, CheckState::up);
  EXPECT_EQ(t->reason, "imap:143: 1 consecutive success while down, up again");
}

TEST(HealthCheck, HealthyThresholdThreeNeedsThreeConsecutiveSuccesses) {
  HealthConfig config;
  config.healthy_threshold = 3;
  Check check(config);
  drive_down(check, config);
  EXPECT_FALSE(check.ok());
  EXPECT_FALSE(check.ok());
  EXPECT_EQ(check.machine().status().consecutive_successes, 2);
  EXPECT_FALSE(check.fail());  // a failure while down starts the recovery over
  EXPECT_EQ(check.machine().status().consecutive_successes, 0);
  EXPECT_EQ(check.state(), CheckState::down);
  EXPECT_FALSE(check.ok());
  EXPECT_FALSE(check.ok());
  const auto t = check.ok();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, "imap:143: 3 consecutive successes while down, up again");
}

TEST(HealthCheck, FailuresWhileDownAreCountedWithoutTransitions) {
  HealthConfig config;
  Check check(config);
  drive_down(check, config);
  const int before = check.machine().status().consecutive_failures;
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(check.fail());
  EXPECT_EQ(check.machine().status().consecutive_failures, before + 20);
  EXPECT_EQ(check.state(), CheckState::down);
}

TEST(HealthCheck, StatusReportsLastOutcomeAndTransition) {
  Check check;
  EXPECT_FALSE(check.machine().status().last_outcome);
  check.ok(1s);
  check.probe(failure(FailureClass::tls_verify, "certificate has expired"), 3s);
  const auto s = check.machine().status();
  EXPECT_EQ(s.label, "imap:143");
  EXPECT_EQ(s.state, CheckState::suspect);
  EXPECT_EQ(s.consecutive_failures, 1);
  EXPECT_EQ(s.last_outcome, FailureClass::tls_verify);
  EXPECT_EQ(s.last_reason, "certificate has expired");
  EXPECT_EQ(s.last_latency, 2ms);
  EXPECT_EQ(s.last_transition_unix, check.unix_now());
  EXPECT_EQ(s.last_transition_reason,
            "imap:143: 1 consecutive failure (tls verify failure: certificate has expired), 3 "
            "lead to a rapid round");
}

TEST(HealthCheck, StartDownNeedsHealthyThresholdToComeUp) {
  HealthConfig config;
  config.healthy_threshold = 2;
  config.down_interval = 60s;
  Check check(config, 0.5, true);
  EXPECT_EQ(check.state(), CheckState::down);
  EXPECT_EQ(check.due(), SteadyTime{} + 30s);  // spread over one down interval
  EXPECT_FALSE(check.ok());
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.state(), CheckState::up);
}
