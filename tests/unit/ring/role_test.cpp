#include "poolwatch/ring/role.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class RoleTest : public ::testing::Test {
 protected:
  // self in a ring of `ring`, answering peers as given, eligible for long enough.
  RoleDecision decide(const InstanceId& self, const std::vector<InstanceId>& ring,
                      const std::vector<PeerReport>& answering) {
    const auto membership = membership_from(director_list(self, ring), settings).membership;
    EXPECT_TRUE(membership);
    received.clear();
    std::vector<const ReceivedReport*> peers;
    for (const auto& report : answering) {
      received.push_back({report, clock.now()});
      peers.push_back(&received.back());
    }
    return decide_role(*membership, peers, settings, clock.now(),
                       clock.now() - std::chrono::minutes(5));
  }
  PeerReport synced(const InstanceId& id, RingRole role = RingRole::standby) const {
    return peer_report(id, clock.unix_now(), {}, role);
  }

  RingSettings settings = ring_settings();
  FakeClock clock;
  std::deque<ReceivedReport> received;
};

TEST_F(RoleTest, ASingleDirectorActsAlone) {
  const auto decision = decide(kA, {kA}, {});
  EXPECT_EQ(decision.role, RingRole::alone);
  EXPECT_EQ(decision.reason, RoleReason::single_director);
  EXPECT_TRUE(decision.may_act());
  EXPECT_EQ(decision.actor, kA);
}

TEST_F(RoleTest, TheLowestSyncedInstanceActsTheOthersStandBy) {
  const auto a = decide(kA, {kA, kB, kC}, {synced(kB), synced(kC)});
  EXPECT_EQ(a.role, RingRole::actor);
  EXPECT_EQ(a.reason, RoleReason::lowest_synced);
  EXPECT_EQ(a.answering, 3u);
  const auto b = decide(kB, {kA, kB, kC}, {synced(kA, RingRole::actor), synced(kC)});
  EXPECT_EQ(b.role, RingRole::standby);
  EXPECT_EQ(b.reason, RoleReason::lower_instance_acts);
  EXPECT_EQ(b.actor, kA);
  EXPECT_FALSE(b.may_act());
}

TEST_F(RoleTest, ALowerInstanceWhoseDirectorIsNotSyncedIsPassedOver) {
  auto a = synced(kA);
  a.director_synced = false;
  const auto b = decide(kB, {kA, kB, kC}, {a, synced(kC)});
  EXPECT_EQ(b.role, RingRole::actor);
}

TEST_F(RoleTest, ALowerInstanceThatIsIsolatedIsPassedOver) {
  const auto b = decide(kB, {kA, kB, kC}, {synced(kA, RingRole::isolated), synced(kC)});
  EXPECT_EQ(b.role, RingRole::actor);
}

TEST_F(RoleTest, AnInstanceWhoseDirectorIsNotSyncedDoesNotAct) {
  const auto membership =
      membership_from(director_list(kA, {kA, kB, kC}, {}, director::LinkStatus::handshaking),
                      settings)
          .membership;
  ReceivedReport b{synced(kB), clock.now()};
  const auto decision = decide_role(*membership, {&b}, settings, clock.now(), clock.now());
  EXPECT_EQ(decision.role, RingRole::isolated);
  EXPECT_EQ(decision.reason, RoleReason::director_not_synced);
}

TEST_F(RoleTest, PeersListedButNoneAnswers) {
  const auto decision = decide(kA, {kA, kB, kC}, {});
  EXPECT_EQ(decision.role, RingRole::isolated);
  EXPECT_EQ(decision.reason, RoleReason::no_peer_answers);
  EXPECT_FALSE(decision.may_act());
}

TEST_F(RoleTest, AMinorityOfTheListedRingDoesNotAct) {
  // A ring of four split two and two: neither side is more than half.
  const auto decision = decide(kA, {kA, kB, kC, kD}, {synced(kB)});
  EXPECT_EQ(decision.role, RingRole::isolated);
  EXPECT_EQ(decision.reason, RoleReason::minority_of_ring);
  EXPECT_EQ(decision.listed, 4u);
  EXPECT_EQ(decision.answering, 2u);
  // Three of four is a majority.
  EXPECT_EQ(decide(kA, {kA, kB, kC, kD}, {synced(kB), synced(kC)}).role, RingRole::actor);
}

TEST_F(RoleTest, ATwoDirectorRingNeedsBoth) {
  EXPECT_EQ(decide(kA, {kA, kB}, {synced(kB)}).role, RingRole::actor);
  EXPECT_EQ(decide(kB, {kA, kB}, {}).role, RingRole::isolated);
}

TEST_F(RoleTest, DefersToALowerActorOnlyAPeerHears) {
  // b cannot hear a; c hears a acting 4 s ago.
  auto c = synced(kC);
  c.actor = kA;
  c.actor_heard_ago = std::chrono::seconds(4);
  received.clear();
  const auto decision = decide(kB, {kA, kB, kC}, {c});
  EXPECT_EQ(decision.role, RingRole::standby);
  EXPECT_EQ(decision.reason, RoleReason::lower_actor_heard);
  EXPECT_EQ(decision.actor, kA);
  EXPECT_EQ(decision.actor_heard_ago, std::chrono::seconds(4));
}

TEST_F(RoleTest, TheDeferralEndsWhenThePeersViewWouldHaveEnded) {
  auto c = synced(kC);
  c.actor = kA;
  c.actor_heard_ago = std::chrono::seconds(15);
  const auto membership = membership_from(director_list(kB, {kA, kB, kC}), settings).membership;
  ReceivedReport from_c{c, clock.now()};
  const auto eligible = clock.now() - std::chrono::minutes(5);
  clock.advance_seconds(5);  // 15 + 5 = 20 s: still within two intervals
  EXPECT_EQ(decide_role(*membership, {&from_c}, settings, clock.now(), eligible).role,
            RingRole::standby);
  clock.advance_seconds(0.001);
  EXPECT_EQ(decide_role(*membership, {&from_c}, settings, clock.now(), eligible).role,
            RingRole::actor);
}

TEST_F(RoleTest, ANewlyEligibleInstanceWaitsTwoIntervalsBeforeActing) {
  const auto membership = membership_from(director_list(kA, {kA, kB, kC}), settings).membership;
  ReceivedReport b{synced(kB), clock.now()};
  const auto since = clock.now();
  auto decision = decide_role(*membership, {&b}, settings, clock.now(), std::nullopt);
  EXPECT_EQ(decision.role, RingRole::standby);
  EXPECT_EQ(decision.reason, RoleReason::warming_up);
  EXPECT_FALSE(decision.actor);
  clock.advance_seconds(19.9);
  b.received = clock.now();
  EXPECT_EQ(decide_role(*membership, {&b}, settings, clock.now(), since).reason,
            RoleReason::warming_up);
  clock.advance_seconds(0.1);
  b.received = clock.now();
  EXPECT_EQ(decide_role(*membership, {&b}, settings, clock.now(), since).role, RingRole::actor);
}

TEST_F(RoleTest, WithoutMembershipNothingActs) {
  const auto decision = isolated_without_membership("DIRECTOR-LIST failed: connection refused");
  EXPECT_EQ(decision.role, RingRole::isolated);
  EXPECT_EQ(decision.reason, RoleReason::no_membership);
  EXPECT_NE(decision.detail.find("connection refused"), std::string::npos);
}

TEST_F(RoleTest, EveryInstanceAgreesOnOneActor) {
  // Three instances that all hear each other, in every order of the reports.
  const std::vector<InstanceId> ring{kC, kA, kB};
  int actors = 0;
  for (const auto& self : ring) {
    std::vector<PeerReport> others;
    for (const auto& id : ring)
      if (id != self) others.push_back(synced(id));
    const auto decision = decide(self, ring, others);
    if (decision.role == RingRole::actor) ++actors;
    if (decision.role == RingRole::standby) {
      EXPECT_EQ(decision.actor, kA);
    }
  }
  EXPECT_EQ(actors, 1);
}

// b deferred to a, which stopped answering 2.5 intervals ago (interval 10 s): a may still
// act behind a one-way cut, so b names it and waits until three intervals have passed.
TEST_F(RoleTest, TheNextInstanceWaitsThreeIntervalsForASilentActor) {
  const auto membership = membership_from(director_list(kB, {kA, kB, kC}), settings).membership;
  ReceivedReport c{synced(kC), clock.now()};
  const auto eligible = clock.now() - std::chrono::minutes(5);
  const DeferredActor a_heard{kA, clock.now() - std::chrono::seconds(25)};
  const auto waiting = decide_role(*membership, {&c}, settings, clock.now(), eligible, a_heard);
  EXPECT_EQ(waiting.role, RingRole::standby);
  EXPECT_EQ(waiting.reason, RoleReason::takeover_pending);
  EXPECT_EQ(waiting.actor, kA);
  EXPECT_EQ(waiting.actor_heard_ago, std::chrono::seconds(25));
  clock.advance_seconds(4.9);
  c.received = clock.now();
  EXPECT_EQ(decide_role(*membership, {&c}, settings, clock.now(), eligible, a_heard).reason,
            RoleReason::takeover_pending);
  clock.advance_seconds(0.1);
  c.received = clock.now();
  EXPECT_EQ(decide_role(*membership, {&c}, settings, clock.now(), eligible, a_heard).role,
            RingRole::actor);
}

// An actor that still answers says itself whether it acts: reporting itself isolated (its
// director stopped), it is passed over at once, not waited for.
TEST_F(RoleTest, AnAnsweringActorThatStepsBackIsNotWaitedFor) {
  const auto membership = membership_from(director_list(kB, {kA, kB, kC}), settings).membership;
  ReceivedReport a{synced(kA, RingRole::isolated), clock.now()};
  ReceivedReport c{synced(kC), clock.now()};
  const DeferredActor a_heard{kA, clock.now()};
  const auto b = decide_role(*membership, {&a, &c}, settings, clock.now(),
                             clock.now() - std::chrono::minutes(5), a_heard);
  EXPECT_EQ(b.role, RingRole::actor);
}
