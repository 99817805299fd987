// The failure cases of issue 12, (a) to (g), stepped by hand on a simulated ring of three
// (and the ring splits), with a real ActionPlanner deciding the director commands.

#include <gtest/gtest.h>

#include <algorithm>

#include "ring_simulation.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;
using director::HostCommand;

class RingScenarioTest : public ::testing::Test {
 protected:
  // Steps, checking after each that no two instances act at once.
  void run(int intervals) {
    for (int i = 0; i < intervals; ++i) {
      ring.step();
      ASSERT_LE(ring.acting().size(), 1u) << "two actors after step " << i;
    }
  }
  // Three directors, their poolwatch settled: a acts.
  void settle() {
    run(4);
    ASSERT_EQ(ring.acting(), std::vector<InstanceId>{kA});
  }
  // Backend 2 fails for every instance and the ring takes it down.
  void backend2_fails() {
    ring.all_see_down(kBackend2, true);
    run(2);
    ASSERT_EQ(ring.sent(HostCommand::down, kBackend2), 1u);
    ASSERT_TRUE(ring.host(kBackend2).down.value_or(false));
  }

  RingSimulation ring{{kA, kB, kC}, {kBackend1, kBackend2, kBackend3}};
};

TEST_F(RingScenarioTest, SettlesOnTheLowestAddressWithoutEverHavingTwoActors) {
  run(3);
  EXPECT_TRUE(ring.acting().empty());  // still warming up
  run(1);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kA});
  EXPECT_EQ(ring.at(kB).last.role.actor, kA);
  EXPECT_EQ(ring.at(kC).last.role.reason, RoleReason::lower_instance_acts);
}

TEST_F(RingScenarioTest, A_BackendKilledGivesExactlyOneDownAndOneFlush) {
  settle();
  ring.all_see_down(kBackend2, true);
  run(1);  // the peers' reports still say up: their verdicts arrive one interval later
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend2), 0u);
  run(1);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend2), 1u);
  EXPECT_EQ(ring.sent(HostCommand::reset_users, kBackend2), 1u);
  run(10);
  EXPECT_EQ(ring.sent_commands().size(), 2u);
  for (const auto& command : ring.sent_commands()) EXPECT_EQ(command.by, kA);
  // Every instance knows the down as the ring's.
  for (const auto& id : {kA, kB, kC}) EXPECT_TRUE(ring.at(id).ring.ownership().owns(kBackend2));
}

TEST_F(RingScenarioTest, B_UnreachableFromOneDirectorOnlyStaysUp) {
  settle();
  ring.at(kC).sees_down.insert(kBackend1);
  run(30);  // five minutes of 10 s intervals
  EXPECT_TRUE(ring.sent_commands().empty());
  EXPECT_FALSE(ring.host(kBackend1).down.value_or(false));
  const auto& seen_by_c = ring.at(kC).last.verdicts.at(kBackend1);
  EXPECT_EQ(seen_by_c.verdict, Verdict::up);
  EXPECT_EQ(seen_by_c.overruled, Overruled::unreachable_from_here_only);
  // The same holds when the one that cannot reach it is the actor.
  ring.at(kC).sees_down.clear();
  run(1);
  ring.at(kA).sees_down.insert(kBackend1);
  run(30);
  EXPECT_TRUE(ring.sent_commands().empty());
  EXPECT_EQ(ring.at(kA).last.verdicts.at(kBackend1).overruled,
            Overruled::unreachable_from_here_only);
}

TEST_F(RingScenarioTest, C_ActorKilledAnotherTakesOverAndBringsTheBackendUp) {
  settle();
  backend2_fails();
  run(1);  // the peers poll a: the down is the ring's
  ring.at(kA).running = false;
  run(2);  // a answered last two intervals ago: b still stands by
  EXPECT_TRUE(ring.acting().empty());
  run(1);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});
  ring.all_see_down(kBackend2, false);
  run(2);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 1u);
  EXPECT_EQ(ring.sent_commands().back().by, kB);
  EXPECT_FALSE(ring.host(kBackend2).down.value_or(true));
  run(1);  // c learns the release from b's next report
  EXPECT_FALSE(ring.at(kC).ring.ownership().owns(kBackend2));
}

TEST_F(RingScenarioTest, D_ActorsDirectorStoppedAnotherTakesOver) {
  settle();
  backend2_fails();
  ring.at(kA).director_up = false;
  run(1);
  EXPECT_EQ(ring.at(kA).last.role.role, RingRole::isolated);
  run(1);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});
  ring.all_see_down(kBackend2, false);
  run(2);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 1u);
  EXPECT_EQ(ring.sent_commands().back().by, kB);
}

TEST_F(RingScenarioTest, D_ActorsWholeMachineStopped) {
  settle();
  backend2_fails();
  run(1);
  ring.at(kA).running = false;
  ring.at(kA).director_up = false;
  run(3);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});  // 2 of 3 directors: a majority
  ring.all_see_down(kBackend2, false);
  run(2);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 1u);
}

TEST_F(RingScenarioTest, E_AnAdminsDownStaysDownThroughEverything) {
  ring.host(kBackend3).down = true;
  settle();
  backend2_fails();
  run(1);
  ring.at(kA).running = false;
  run(3);
  ring.all_see_down(kBackend2, false);
  run(2);
  ring.restart_all();
  run(6);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend3), 0u);
  EXPECT_TRUE(ring.host(kBackend3).down.value_or(false));
  for (const auto& id : {kA, kB, kC}) EXPECT_FALSE(ring.at(id).ring.ownership().owns(kBackend3));
}

TEST_F(RingScenarioTest, F_AnInstanceCutOffFromItsPeersSendsNothing) {
  settle();
  ring.cut_both(kA, kB);
  ring.cut_both(kA, kC);
  ring.at(kA).sees_down.insert(kBackend1);  // only a, cut off, sees it down
  ring.all_see_down(kBackend2, true);       // every instance sees it down
  run(6);
  EXPECT_EQ(ring.at(kA).last.role.role, RingRole::isolated);
  EXPECT_EQ(ring.at(kA).last.role.reason, RoleReason::no_peer_answers);
  for (const auto& command : ring.sent_commands()) EXPECT_NE(command.by, kA);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend1), 0u);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend2), 1u);  // b and c are the majority
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});
}

// A one-way cut: nobody reaches a's report, a still polls b and c. b and c take b for
// the actor; a must not act beside it, though it is the lowest: it steps back when its
// peers stop hearing it (before b takes over), and stays back while b says it acts.
TEST_F(RingScenarioTest, OneWayCutLeavesOneActor) {
  settle();
  ring.cut(kB, kA);
  ring.cut(kC, kA);
  ring.all_see_down(kBackend2, true);
  run(8);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});
  EXPECT_EQ(ring.at(kA).last.role.role, RingRole::standby);
  EXPECT_EQ(ring.at(kA).last.role.reason, RoleReason::other_actor_heard);
  EXPECT_EQ(ring.at(kA).last.role.actor, kB);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend2), 1u);
  // Healed, a acts again once b has stepped back, and never beside it.
  ring.heal();
  run(6);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kA});
}

// The same cut with each daemon on its own timer: a polls b 0.3 interval after b's
// rounds, and b's and c's rounds run 1 % late, so b's view of a runs out a moment past two
// intervals while a last looked at 1.3. b must not act before a has seen b stop hearing
// it; at no moment may two instances act.
TEST_F(RingScenarioTest, OneWayCutLeavesOneActorWhateverThePhaseOfThePolls) {
  using std::chrono::milliseconds;
  const auto interval = std::chrono::duration_cast<milliseconds>(ring.settings.interval);
  for (const double phase : {0.1, 0.3, 0.45, 0.6, 0.9}) {
    SCOPED_TRACE(::testing::Message() << "a's rounds " << phase << " interval after b's");
    ring = RingSimulation{{kA, kB, kC}, {kBackend1, kBackend2, kBackend3}};
    settle();
    ring.cut(kB, kA);
    ring.cut(kC, kA);
    const auto late = interval + interval / 100;
    const auto a_offset =
        milliseconds(static_cast<long>(phase * static_cast<double>(interval.count())));
    const std::size_t most = ring.run_timed(
        12 * interval,
        {{kA, {a_offset, interval}}, {kB, {late, late}}, {kC, {late + interval / 50, late}}});
    EXPECT_EQ(most, 1u);
    EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kB});
    EXPECT_EQ(ring.at(kA).last.role.reason, RoleReason::other_actor_heard);
  }
}

// The known limit: a down is the ring's once a peer has polled the actor after it (within
// an interval). An actor gone for good before that leaves it to look like an admin's.
TEST_F(RingScenarioTest, AnActorGoneBeforeAnyPeerPolledItLeavesItsDownUnshared) {
  settle();
  backend2_fails();
  ring.at(kA).running = false;
  run(3);
  ring.all_see_down(kBackend2, false);
  run(3);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 0u);
  EXPECT_TRUE(ring.host(kBackend2).down.value_or(false));
  // Its state file has it: when it comes back, the down is the ring's again.
  ring.at(kA).running = true;
  run(6);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 1u);
}

TEST_F(RingScenarioTest, RestartOfEveryInstanceLosesNoOwnership) {
  settle();
  backend2_fails();
  run(1);  // b and c learn of a's down
  ring.restart_all();
  for (const auto& id : {kA, kB, kC}) EXPECT_TRUE(ring.at(id).ring.ownership().owns(kBackend2));
  run(4);
  ring.all_see_down(kBackend2, false);
  run(2);
  EXPECT_EQ(ring.sent(HostCommand::up, kBackend2), 1u);
}

class RingSplitTest : public ::testing::Test {
 protected:
  std::size_t sent_by(const RingSimulation& ring, const std::vector<InstanceId>& side) {
    std::size_t count = 0;
    for (const auto& command : ring.sent_commands())
      if (std::find(side.begin(), side.end(), command.by) != side.end()) ++count;
    return count;
  }
};

TEST_F(RingSplitTest, EvenSplitNeitherSideActs) {
  RingSimulation ring({kA, kB, kC, kD}, {kBackend1});
  ring.steps(4);
  ASSERT_EQ(ring.acting(), std::vector<InstanceId>{kA});
  for (const auto& left : {kA, kB})
    for (const auto& right : {kC, kD}) ring.cut_both(left, right);
  // Each side sees the backend the other way.
  ring.at(kA).sees_down.insert(kBackend1);
  ring.at(kB).sees_down.insert(kBackend1);
  ring.steps(10);
  EXPECT_TRUE(ring.acting().empty());
  EXPECT_TRUE(ring.sent_commands().empty());
  EXPECT_EQ(ring.at(kA).last.role.reason, RoleReason::minority_of_ring);
}

TEST_F(RingSplitTest, OnlyTheMajoritySideActs) {
  const InstanceId e = instance("127.0.0.24");
  RingSimulation ring({kA, kB, kC, kD, e}, {kBackend1, kBackend2});
  ring.steps(4);
  for (const auto& left : {kA, kB})
    for (const auto& right : {kC, kD, e}) ring.cut_both(left, right);
  ring.at(kA).sees_down.insert(kBackend1);  // the minority sees backend 1 down
  ring.at(kB).sees_down.insert(kBackend1);
  for (const auto& id : {kC, kD, e}) ring.at(id).sees_down.insert(kBackend2);
  ring.steps(6);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kC});
  EXPECT_EQ(sent_by(ring, {kA, kB}), 0u);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend1), 0u);
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend2), 1u);
  ring.heal();
  ring.steps(6);
  EXPECT_EQ(ring.acting(), std::vector<InstanceId>{kA});
  EXPECT_EQ(ring.sent(HostCommand::down, kBackend1), 0u);  // 2 of 5 is no quorum
}
