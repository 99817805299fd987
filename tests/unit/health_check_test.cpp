// The per-check state machine, driven by a fake clock and a fixed random source so
// every due time and timeout is exact.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "poolwatch/health_tracker.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kUnixStart = 1'700'000'000;

SteadyDuration d(Seconds s) {
  return std::chrono::round<SteadyDuration>(s);
}

ProbeOutcome success() {
  ProbeOutcome o;
  o.latency = 1500us;
  return o;
}

ProbeOutcome failure(FailureClass f = FailureClass::connect_refused,
                     std::string reason = "connection refused") {
  ProbeOutcome o;
  o.failure = f;
  o.reason = std::move(reason);
  o.latency = 2ms;
  return o;
}

// One check whose probes start exactly at their due time.
class Check {
 public:
  explicit Check(HealthConfig config = {}, double unit = 0.5, bool start_down = false)
      : machine_(
            "imap:143", config, [unit] { return unit; }, SteadyTime{}, start_down) {}

  // Runs the next probe: it starts at plan().due and takes `took`.
  std::optional<CheckTransition> probe(const ProbeOutcome& outcome, Seconds took = 0s) {
    now_ = machine_.plan().due + d(took);
    return machine_.record(outcome, now_, unix_now());
  }
  std::optional<CheckTransition> ok(Seconds took = 0s) { return probe(success(), took); }
  std::optional<CheckTransition> fail(Seconds took = 0s) { return probe(failure(), took); }

  std::int64_t unix_now() const {
    return kUnixStart +
           std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
  }
  CheckMachine& machine() { return machine_; }
  CheckState state() const { return machine_.state(); }
  SteadyTime now() const { return now_; }
  SteadyTime due() const { return machine_.plan().due; }
  SteadyDuration timeout() const { return machine_.plan().timeout; }

 private:
  CheckMachine machine_;
  SteadyTime now_{};
};

// Brings a check with the given config to down via the normal path.
void drive_down(Check& check, const HealthConfig& config) {
  check.ok();
  for (int i = 0; i < config.retry_count; ++i) check.fail();
  for (int i = 0; i < config.rapid_fails_needed && config.rapid_rounds > 0; ++i) check.fail();
  ASSERT_EQ(check.state(), CheckState::down);
}

}  // namespace

TEST(HealthCheck, LabelNamesProtocolPortAndTls) {
  EXPECT_EQ(check_label({Protocol::imap, 143, TlsMode::plain}), "imap:143");
  EXPECT_EQ(check_label({Protocol::imap, 993, TlsMode::implicit}), "imap:993/tls");
  EXPECT_EQ(check_label({Protocol::lmtp, 24, TlsMode::starttls}), "lmtp:24/starttls");
}

TEST(HealthCheck, FirstProbeIsSpreadOverOneInterval) {
  EXPECT_EQ(Check({}, 0.0).due(), SteadyTime{});
  EXPECT_EQ(Check({}, 0.25).due(), SteadyTime{} + 2500ms);
  EXPECT_EQ(Check({}, 1.0).due(), SteadyTime{} + 10s);
  EXPECT_EQ(Check({}, 0.25).timeout(), 10s);
  EXPECT_EQ(Check().state(), CheckState::pending);
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

TEST(HealthCheck, ProbeOverrunningItsIntervalIsFollowedAtOnce) {
  HealthConfig config;
  config.interval = 5s;
  Check check(config);
  check.ok(7s);
  EXPECT_EQ(check.due(), check.now());
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

TEST(HealthCheck, DownIntervalDefaultsToIntervalAndCanBeSet) {
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

TEST(HealthCheck, SuspectIntervalSpeedsUpPollsAfterAFailure) {
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

TEST(HealthCheck, TimeoutGrowsWithConsecutiveFailuresCappedAtThreeTimes) {
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

TEST(HealthCheck, TimeoutStaysFixedWithoutGrowthAndRapidUsesRapidTimeout) {
  Check check;
  check.ok();
  check.fail();
  EXPECT_EQ(check.timeout(), 10s);
  check.fail();
  EXPECT_EQ(check.timeout(), 10s);
  check.fail();
  EXPECT_EQ(check.timeout(), 5s);
}

TEST(HealthCheck, JitterStaysWithinPercentBounds) {
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

TEST(HealthCheck, SameSeedGivesTheSameSchedule) {
  HealthConfig config;
  CheckMachine a("imap:143", config, seeded_unit_random(42), SteadyTime{});
  CheckMachine b("imap:143", config, seeded_unit_random(42), SteadyTime{});
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(a.plan().due, b.plan().due);
    a.record(i % 3 ? success() : failure(), a.plan().due, kUnixStart);
    b.record(i % 3 ? success() : failure(), b.plan().due, kUnixStart);
  }
}

TEST(HealthCheck, RapidPollsAreNotJittered) {
  Check check(HealthConfig{}, 0.0);
  check.ok();
  for (int i = 0; i < 3; ++i) check.fail();
  const auto start = check.due();
  check.fail(0.5s);
  EXPECT_EQ(check.due(), start + 1s);
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

TEST(HealthCheck, ReloadedConfigAppliesToTheNextPlan) {
  Check check;
  check.ok();
  HealthConfig faster;
  faster.interval = 2s;
  check.machine().set_config(faster, check.now());
  const auto start = check.due();
  check.ok();
  EXPECT_EQ(check.due(), start + 2s);
}

TEST(HealthCheck, ReloadedShorterIntervalBringsTheWaitingProbeForward) {
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

TEST(HealthCheck, ReloadedShorterDownIntervalAppliesToADownCheck) {
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

TEST(HealthCheck, ZeroIntervalDoesNotPlanTheSameInstantTwice) {
  HealthConfig config;
  config.interval = 0s;
  config.jitter_percent = 0;
  Check check(config);
  const auto start = check.due();
  check.ok();
  EXPECT_EQ(check.due(), start + 1ms);
}
