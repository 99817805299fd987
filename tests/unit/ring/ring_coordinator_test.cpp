#include "poolwatch/ring/ring_coordinator.hpp"

#include <gtest/gtest.h>

#include "poolwatch/peer/peer_auth.hpp"
#include "poolwatch/ring/report_json.hpp"
#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class RingCoordinatorTest : public ::testing::Test {
 protected:
  RingEvaluation evaluate(std::vector<IpAddress> down = {}) {
    return coordinator.evaluate(votes({kBackend1, kBackend2}, down, clock.unix_now()), clock.now(),
                                clock.unix_now());
  }
  PeerReport claim_report(const InstanceId& id) const {
    auto report = peer_report(id, clock.unix_now());
    report.ownership.claims.push_back(
        {kBackend2, id, clock.unix_now(), "down", false, clock.unix_now()});
    return report;
  }

  FakeClock clock;
  RingCoordinator coordinator{ring_settings(), {}};
};

TEST_F(RingCoordinatorTest, WithoutADirectorListNothingActs) {
  const auto evaluation = evaluate();
  EXPECT_EQ(evaluation.role.role, RingRole::isolated);
  EXPECT_NE(evaluation.role.detail.find("no DIRECTOR-LIST read yet"), std::string::npos);
  EXPECT_FALSE(coordinator.report(clock.now()).director_synced);
}

TEST_F(RingCoordinatorTest, ASingleDirectorBehavesAsWithoutARing) {
  coordinator.on_director_list(director_list(kA, {kA}), clock.now());
  const auto evaluation = evaluate({kBackend2});
  EXPECT_EQ(evaluation.role.role, RingRole::alone);
  EXPECT_TRUE(evaluation.role.may_act());
  // The planner keeps the tracker's own verdicts, reasons and all.
  EXPECT_FALSE(evaluation.planner_verdicts);
  EXPECT_EQ(evaluation.verdicts.at(kBackend2).verdict, Verdict::down);
}

TEST_F(RingCoordinatorTest, AFailedDirectorListIsolatesAtOnce) {
  coordinator.on_director_list(director_list(kA, {kA}), clock.now());
  coordinator.on_director_list_failed("connect: Connection refused");
  const auto evaluation = evaluate();
  EXPECT_EQ(evaluation.role.role, RingRole::isolated);
  EXPECT_NE(evaluation.role.detail.find("Connection refused"), std::string::npos);
  EXPECT_FALSE(coordinator.report(clock.now()).director_synced);
  coordinator.on_director_list(director_list(kA, {kA}), clock.now());
  EXPECT_EQ(evaluate().role.role, RingRole::alone);
}

TEST_F(RingCoordinatorTest, AnOldDirectorListIsolates) {
  coordinator.on_director_list(director_list(kA, {kA}), clock.now());
  clock.advance_seconds(20);
  EXPECT_EQ(evaluate().role.role, RingRole::alone);
  clock.advance_seconds(0.001);
  const auto evaluation = evaluate();
  EXPECT_EQ(evaluation.role.role, RingRole::isolated);
  EXPECT_NE(evaluation.role.detail.find("out of date"), std::string::npos);
}

TEST_F(RingCoordinatorTest, MembershipProblemsAreReturnedForTheLog) {
  auto list = director_list(kA, {kA, kB});
  list.directors[0].self = false;
  const auto problems = coordinator.on_director_list(list, clock.now());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no line for this director"), std::string::npos);
  EXPECT_EQ(evaluate().role.reason, RoleReason::no_membership);
}

TEST_F(RingCoordinatorTest, G_ReportsThatMustNotCountAreRefusedAndNotMerged) {
  EXPECT_TRUE(coordinator.on_peer_report(kB, claim_report(kB), clock.now(), 0).refused);
  coordinator.on_director_list(director_list(kA, {kA, kB}), clock.now());
  // From a director that is not in the ring.
  auto outcome = coordinator.on_peer_report(kC, claim_report(kC), clock.now(), clock.unix_now());
  EXPECT_TRUE(outcome.refused);
  // The instance polled at b answers as c.
  outcome = coordinator.on_peer_report(kB, claim_report(kC), clock.now(), clock.unix_now());
  ASSERT_TRUE(outcome.refused);
  EXPECT_FALSE(outcome.ownership.changed);
  EXPECT_FALSE(coordinator.ownership().owns(kBackend2));
  EXPECT_EQ(evaluate().role.reason, RoleReason::no_peer_answers);
  // A good one counts.
  outcome = coordinator.on_peer_report(kB, claim_report(kB), clock.now(), clock.unix_now());
  EXPECT_FALSE(outcome.refused);
  EXPECT_TRUE(outcome.ownership.claims_added);
  EXPECT_TRUE(coordinator.ownership().owns(kBackend2));
}

TEST_F(RingCoordinatorTest, G_GarbageBadAndReplayedRepliesNeverReachTheRing) {
  // Garbage does not decode, so there is nothing to hand on_peer_report.
  for (const std::string body : {"", "<html>", "{\"format\":\"poolwatch-ring-report\"}"})
    EXPECT_FALSE(decode_report(body).report);
  // A replayed message is refused by the exchange's guard before its body is looked at.
  peer::ReplayGuard guard(std::chrono::seconds(30), 64);
  const std::string nonce = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(guard.check(clock.unix_now(), nonce, clock.unix_now()), peer::ReplayVerdict::accepted);
  EXPECT_EQ(guard.check(clock.unix_now(), nonce, clock.unix_now() + 1),
            peer::ReplayVerdict::replayed);
  // (Signatures are the exchange's, tested in peer_auth_test and peer_exchange_test.)
}

TEST_F(RingCoordinatorTest, TheServedReportIsThisInstancesView) {
  coordinator.on_director_list(director_list(kA, {kA, kB}), clock.now());
  coordinator.on_peer_report(kB, peer_report(kB, clock.unix_now()), clock.now(), clock.unix_now());
  coordinator.evaluate(votes({kBackend2, kBackend1}, {kBackend2}, clock.unix_now()), clock.now(),
                       clock.unix_now());
  auto report = coordinator.report(clock.now());
  EXPECT_EQ(report.instance, kA);
  EXPECT_TRUE(report.director_synced);
  EXPECT_EQ(report.role, RingRole::standby);  // warming up
  EXPECT_EQ(report.generated_unix, clock.unix_now());
  ASSERT_EQ(report.backends.size(), 2u);
  EXPECT_EQ(report.backends[0].address, kBackend1);
  // An ownership change between evaluations is served at once.
  coordinator.ownership().apply_planner_change({}, {{kBackend2, clock.unix_now(), "down", true}},
                                               clock.unix_now());
  report = coordinator.report(clock.now());
  ASSERT_EQ(report.ownership.claims.size(), 1u);
  EXPECT_EQ(report.ownership.claims[0].made_by, kA);
  EXPECT_TRUE(decode_report(encode_report(report)).report);
}

TEST_F(RingCoordinatorTest, PeersThatLeaveTheDirectorListStopCounting) {
  coordinator.on_director_list(director_list(kA, {kA, kB, kC}), clock.now());
  coordinator.on_peer_report(kB, peer_report(kB, clock.unix_now()), clock.now(), clock.unix_now());
  EXPECT_EQ(evaluate().role.answering, 2u);
  coordinator.on_director_list(director_list(kA, {kA, kC}), clock.now());
  const auto evaluation = evaluate();
  EXPECT_EQ(evaluation.role.answering, 1u);
  EXPECT_EQ(evaluation.role.reason, RoleReason::no_peer_answers);
}
