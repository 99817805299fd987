// The per-backend aggregate: a backend is down when any check is down and up again only
// when every check is up; HOST-LIST changes add and forget backends and checks.

#include "poolwatch/health/health_tracker.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace poolwatch;
using namespace std::chrono_literals;

namespace {

const IpAddress kA = make_ip_address("10.0.0.1");
const IpAddress kB = make_ip_address("10.0.0.2");
const PortSpec kImap{Protocol::imap, 143, TlsMode::plain};
const PortSpec kPop3{Protocol::pop3, 110, TlsMode::plain};
constexpr std::int64_t kUnix = 1'700'000'000;

ProbeOutcome failed() {
  ProbeOutcome o;
  o.failure = FailureClass::connect_refused;
  return o;
}

class HealthAggregate : public ::testing::Test {
 protected:
  HealthConfig config_;
  HealthTracker tracker_{config_, [] { return 0.5; }};
  SteadyTime now_{};

  RecordResult run(const CheckId& id, const ProbeOutcome& outcome) {
    now_ = std::max(now_, tracker_.plan(id).due);
    return tracker_.record(id, outcome, now_, kUnix);
  }
  // Probes one check into down with default thresholds; returns the last result.
  RecordResult fail_until_down(const CheckId& id) {
    RecordResult last;
    for (int i = 0; i < 3 + 8; ++i) last = run(id, failed());
    EXPECT_EQ(last.check->to, CheckState::down);
    return last;
  }
  Verdict verdict(const IpAddress& a) { return tracker_.verdicts().at(a).verdict; }
};

}  // namespace

TEST_F(HealthAggregate, SyncAddsOneCheckPerBackendAndPort) {
  const auto result = tracker_.sync({kB, kA}, {kImap, kPop3}, {}, now_, kUnix);
  ASSERT_EQ(result.added.size(), 4u);
  EXPECT_TRUE(result.removed.empty());
  for (const auto& id : result.added) EXPECT_TRUE(tracker_.contains(id));
  EXPECT_EQ(verdict(kA), Verdict::unknown);
  EXPECT_EQ(tracker_.plan({kA, kImap}).due, now_ + 5s);  // spread: 0.5 x interval
  EXPECT_EQ(tracker_.plan({kA, kImap}).timeout, 10s);
  // A second identical sync changes nothing.
  const auto again = tracker_.sync({kA, kB}, {kImap, kPop3}, {}, now_, kUnix);
  EXPECT_TRUE(again.added.empty());
  EXPECT_TRUE(again.removed.empty());
}

TEST_F(HealthAggregate, VanishedBackendIsForgotten) {
  tracker_.sync({kA, kB}, {kImap}, {}, now_, kUnix);
  fail_until_down({kB, kImap});
  const auto result = tracker_.sync({kA}, {kImap}, {}, now_, kUnix);
  ASSERT_EQ(result.removed.size(), 1u);
  EXPECT_EQ(result.removed[0], (CheckId{kB, kImap}));
  EXPECT_FALSE(tracker_.contains({kB, kImap}));
  EXPECT_FALSE(tracker_.verdicts().contains(kB));
  EXPECT_THROW(tracker_.plan({kB, kImap}), std::out_of_range);
  // A late outcome of the stopped probe is ignored.
  const auto late = tracker_.record({kB, kImap}, failed(), now_, kUnix);
  EXPECT_FALSE(late.check);
  EXPECT_FALSE(late.backend);
  // Coming back, it starts from scratch.
  tracker_.sync({kA, kB}, {kImap}, {}, now_, kUnix);
  EXPECT_EQ(verdict(kB), Verdict::unknown);
}

TEST_F(HealthAggregate, UpOnlyWhenEveryCheckReportedUp) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  const auto first = run({kA, kImap}, {});
  ASSERT_TRUE(first.check);
  EXPECT_FALSE(first.backend);
  EXPECT_EQ(verdict(kA), Verdict::unknown);
  const auto second = run({kA, kPop3}, {});
  ASSERT_TRUE(second.backend);
  EXPECT_EQ(second.backend->from, Verdict::unknown);
  EXPECT_EQ(second.backend->to, Verdict::up);
  EXPECT_EQ(second.backend->reason, "all 2 checks up, last: pop3:110: first probe succeeded");
}

TEST_F(HealthAggregate, AnyCheckDownMakesTheBackendDown) {
  tracker_.sync({kA, kB}, {kImap, kPop3}, {}, now_, kUnix);
  for (const auto& a : {kA, kB})
    for (const auto& p : {kImap, kPop3}) run({a, p}, {});
  const auto down = fail_until_down({kA, kPop3});
  ASSERT_TRUE(down.backend);
  EXPECT_EQ(down.backend->address, kA);
  EXPECT_EQ(down.backend->to, Verdict::down);
  EXPECT_EQ(down.backend->reason, down.check->reason);
  EXPECT_EQ(verdict(kA), Verdict::down);
  EXPECT_EQ(verdict(kB), Verdict::up);
  EXPECT_EQ(tracker_.verdicts().at(kA).since_unix, kUnix);
}

TEST_F(HealthAggregate, DownEvenWhileOtherChecksArePending) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  const auto down = fail_until_down({kA, kImap});
  ASSERT_TRUE(down.backend);
  EXPECT_EQ(down.backend->from, Verdict::unknown);
  EXPECT_EQ(down.backend->to, Verdict::down);
}

TEST_F(HealthAggregate, StaysDownUntilTheLastCheckIsUpAgain) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  run({kA, kImap}, {});
  run({kA, kPop3}, {});
  fail_until_down({kA, kImap});
  run({kA, kPop3}, failed());  // pop3 suspect, not down
  const auto imap_up = run({kA, kImap}, {});
  ASSERT_TRUE(imap_up.check);
  EXPECT_FALSE(imap_up.backend);
  EXPECT_EQ(verdict(kA), Verdict::down);
  const auto pop3_up = run({kA, kPop3}, {});
  ASSERT_TRUE(pop3_up.backend);
  EXPECT_EQ(pop3_up.backend->to, Verdict::up);
}

TEST_F(HealthAggregate, RemovingTheDownCheckBringsTheBackendUp) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  run({kA, kImap}, {});
  fail_until_down({kA, kPop3});
  const auto result = tracker_.sync({kA}, {kImap}, {}, now_, kUnix + 5);
  ASSERT_EQ(result.removed.size(), 1u);
  ASSERT_EQ(result.transitions.size(), 1u);
  EXPECT_EQ(result.transitions[0].to, Verdict::up);
  EXPECT_EQ(result.transitions[0].reason, "checks reconfigured");
  EXPECT_EQ(tracker_.verdicts().at(kA).since_unix, kUnix + 5);
}

TEST_F(HealthAggregate, AddedCheckDoesNotDisturbAnUpBackend) {
  tracker_.sync({kA}, {kImap}, {}, now_, kUnix);
  run({kA, kImap}, {});
  const auto result = tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  ASSERT_EQ(result.added.size(), 1u);
  EXPECT_EQ(result.added[0], (CheckId{kA, kPop3}));
  EXPECT_EQ(verdict(kA), Verdict::up);
}

TEST_F(HealthAggregate, PortListedTwiceIsOneCheck) {
  const auto result = tracker_.sync({kA}, {kImap, kImap}, {}, now_, kUnix);
  EXPECT_EQ(result.added.size(), 1u);
  EXPECT_EQ(tracker_.status().at(0).checks.size(), 1u);
}

TEST_F(HealthAggregate, BackendHeldDownBeforeARestartStartsDown) {
  config_.healthy_threshold = 2;
  tracker_.set_config(config_, now_);
  tracker_.sync({kA, kB}, {kImap}, {kA}, now_, kUnix);
  EXPECT_EQ(verdict(kA), Verdict::down);
  EXPECT_EQ(tracker_.verdicts().at(kA).reason, "held down by poolwatch before a restart");
  EXPECT_EQ(verdict(kB), Verdict::unknown);
  EXPECT_FALSE(run({kA, kImap}, {}).backend);
  const auto up = run({kA, kImap}, {});
  ASSERT_TRUE(up.backend);
  EXPECT_EQ(up.backend->from, Verdict::down);
  EXPECT_EQ(up.backend->to, Verdict::up);
  // start_down only applies to backends that are new to the tracker.
  tracker_.sync({kA, kB}, {kImap}, {kA, kB}, now_, kUnix);
  EXPECT_EQ(verdict(kA), Verdict::up);
  EXPECT_EQ(verdict(kB), Verdict::unknown);
}

// The ring's reports say when this instance last probed each backend (any port).
TEST_F(HealthAggregate, StatusSaysWhenAProbeOfTheBackendLastEnded) {
  tracker_.sync({kA, kB}, {kImap, kPop3}, {}, now_, kUnix);
  tracker_.record({kA, kImap}, ProbeOutcome{}, now_, kUnix + 10);
  tracker_.record({kA, kPop3}, failed(), now_, kUnix + 20);
  const auto status = tracker_.status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].last_probe_unix, kUnix + 20);
  EXPECT_EQ(status[1].last_probe_unix, 0);  // not probed yet
  // A check that is gone records nothing, its backend's time included.
  tracker_.sync({kA, kB}, {kImap}, {}, now_, kUnix);
  tracker_.record({kA, kPop3}, ProbeOutcome{}, now_, kUnix + 30);
  EXPECT_EQ(tracker_.status().at(0).last_probe_unix, kUnix + 20);
}

TEST_F(HealthAggregate, StatusSnapshotPerBackend) {
  tracker_.sync({kB, kA}, {kImap, kPop3}, {}, now_, kUnix);
  ProbeOutcome slow;
  slow.latency = 250ms;
  run({kA, kImap}, slow);
  ProbeOutcome refused = failed();
  refused.reason = "connection refused";
  run({kA, kPop3}, refused);
  const auto status = tracker_.status();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].address, kA);  // ordered by address
  EXPECT_EQ(status[1].address, kB);
  const auto& checks = status[0].checks;
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].label, "imap:143");
  EXPECT_EQ(checks[0].state, CheckState::up);
  EXPECT_EQ(checks[0].last_outcome, FailureClass::none);
  EXPECT_EQ(checks[0].last_latency, 250ms);
  EXPECT_EQ(checks[1].label, "pop3:110");
  EXPECT_EQ(checks[1].state, CheckState::suspect);
  EXPECT_EQ(checks[1].consecutive_failures, 1);
  EXPECT_EQ(checks[1].last_outcome, FailureClass::connect_refused);
  EXPECT_EQ(checks[1].last_reason, "connection refused");
  EXPECT_EQ(checks[1].last_transition_unix, kUnix);
  EXPECT_EQ(status[0].verdict.verdict, Verdict::unknown);
  EXPECT_EQ(status[1].checks[0].state, CheckState::pending);
}

// The one word: the most severe check state, pending the mildest, down whenever the
// verdict is.
TEST_F(HealthAggregate, BackendStateIsTheMostSevereCheckState) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::pending);
  EXPECT_EQ(tracker_.backend_state(kB), std::nullopt);
  run({kA, kImap}, {});
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::up);  // pop3 still pending
  run({kA, kPop3}, failed());
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::suspect);
  fail_until_down({kA, kPop3});
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::down);
  EXPECT_EQ(tracker_.status().at(0).state, CheckState::down);
}

// The counts behind the sd_notify summary agree with backend_state() of every backend.
TEST_F(HealthAggregate, StateCountsCountEachBackendByItsOneWord) {
  tracker_.sync({kA, kB}, {kImap, kPop3}, {}, now_, kUnix);
  const auto at = [this](CheckState state) {
    return tracker_.state_counts()[static_cast<std::size_t>(state)];
  };
  EXPECT_EQ(at(CheckState::pending), 2u);
  run({kA, kImap}, {});
  run({kA, kPop3}, failed());
  EXPECT_EQ(at(CheckState::suspect), 1u);
  EXPECT_EQ(at(CheckState::pending), 1u);
  fail_until_down({kA, kPop3});
  run({kB, kImap}, {});
  run({kB, kPop3}, {});
  EXPECT_EQ(at(CheckState::down), 1u);
  EXPECT_EQ(at(CheckState::up), 1u);
  EXPECT_EQ(at(CheckState::suspect) + at(CheckState::rapid) + at(CheckState::pending), 0u);
}

// A check on its way back does not make a backend that is still down look better.
TEST_F(HealthAggregate, BackendStateStaysDownWhileTheVerdictIs) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  run({kA, kImap}, {});
  run({kA, kPop3}, {});
  fail_until_down({kA, kImap});
  run({kA, kPop3}, failed());  // suspect
  run({kA, kImap}, {});        // imap up again, pop3 still suspect: the verdict stays down
  ASSERT_EQ(verdict(kA), Verdict::down);
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::down);
}

// SIGHUP dropping the failing port: the word follows the checks that remain.
TEST_F(HealthAggregate, BackendStateForgetsARemovedCheck) {
  tracker_.sync({kA}, {kImap, kPop3}, {}, now_, kUnix);
  run({kA, kImap}, {});
  fail_until_down({kA, kPop3});
  ASSERT_EQ(tracker_.backend_state(kA), CheckState::down);
  tracker_.sync({kA}, {kImap}, {}, now_, kUnix);
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::up);
  EXPECT_EQ(tracker_.status().at(0).state, CheckState::up);
}

// After a restart a backend poolwatch held down is down from the start, and stays down
// while its probes keep failing (no transition ever happens for it).
TEST_F(HealthAggregate, BackendStateOfAHeldDownBackendIsDownBeforeAndAfterFailures) {
  tracker_.sync({kA, kB}, {kImap}, {kA}, now_, kUnix);
  EXPECT_EQ(tracker_.backend_state(kA), CheckState::down);
  EXPECT_EQ(tracker_.backend_state(kB), CheckState::pending);
  for (int i = 0; i < 5; ++i) {
    const auto r = run({kA, kImap}, failed());
    EXPECT_FALSE(r.check);
    EXPECT_EQ(tracker_.backend_state(kA), CheckState::down);
  }
}
