// Issue 12, cases (c), (d) and (e): the downs poolwatch made belong to the instances
// together. When the actor's poolwatch or its whole director goes, another instance takes
// over and brings the down backend up once it recovers; a restart of every instance at
// once loses no ownership; an administrator's down stays down through all of it. Runs
// only in a network namespace of its own (ctest's e2e.ring.takeover); elsewhere it skips.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/ring_daemons.hpp"

namespace poolwatch::test {
namespace {

using namespace std::chrono_literals;

class RingTakeover : public RingE2ETest {
 protected:
  // After the expected commands: room for a second actor's command.
  static constexpr int kQuietIntervals = 3;

  // (e)'s down by an administrator on `director`, then backend 2 killed and taken down by
  // instance 1 (the actor), until both standbys publish the claim on it: from then on the
  // down is the ring's, whichever instance goes (docs/ring.md, "Known limit").
  void admins_down_and_backend_2_down_by_the_actor(int director) {
    admin_down(director, admins_);
    ASSERT_TRUE(eventually([&] { return every_running_director_says(admins_, "down"); },
                           kPropagationBound));
    const auto killed = Clock::now();
    lab_->backend_fault(2, "kill");
    ASSERT_TRUE(eventually(
        [&] {
          return every_running_director_says(backend_, "down") &&
                 count_ok(daemons_->actions(1), "flush", backend_) == 1;
        },
        kDecisionBound))
        << roles() << "\n"
        << daemons_->describe();
    const double down = seconds_since(killed);
    ASSERT_TRUE(eventually(
        [&] {
          return daemons_->publishes_claim(2, backend_) && daemons_->publishes_claim(3, backend_);
        },
        kDecisionBound))
        << daemons_->describe();
    report(
        "backend 2 down through instance 1 after {:.1f} s; both standbys hold the claim {:.1f} s "
        "after the kill",
        down, seconds_since(killed));
  }

  // Backend 2 started again: the new actor `actor` sends the one HOST-UP. Returns the
  // seconds from the start until every running director shows it up.
  double backend_2_recovers_through(int actor) {
    lab_->backend_fault(2, "start");
    const auto started = Clock::now();
    EXPECT_TRUE(
        eventually([&] { return every_running_director_says(backend_, "up"); }, kDecisionBound))
        << roles() << "\n"
        << daemons_->describe();
    const double up = seconds_since(started);
    std::this_thread::sleep_for(intervals(kQuietIntervals));
    const auto all = daemons_->all_actions();
    EXPECT_EQ(count_ok(all, "HOST-UP", backend_), 1U) << daemons_->describe();
    EXPECT_EQ(count_ok(daemons_->actions(actor), "HOST-UP", backend_), 1U);
    EXPECT_EQ(director_log_lines("doveadm: Host " + backend_ + " changed up"), 1U)
        << "HOST-UPs the directors say they received";
    return up;
  }

  // (e): the administrator's down is still D everywhere and no instance touched it.
  void expect_admins_down_untouched() const {
    EXPECT_TRUE(every_running_director_says(admins_, "down"));
    for (const auto& action : daemons_->all_actions())
      EXPECT_NE(action.backend, admins_) << action.instance << " " << action.action;
  }

  const std::string backend_ = "127.0.1.2";
  const std::string admins_ = "127.0.1.3";
};

// (c) with (e).
TEST_F(RingTakeover, ActorKilledWhileABackendIsDownTheNextBringsItUp) {
  admins_down_and_backend_2_down_by_the_actor(2);
  if (HasFatalFailure()) return;

  daemons_->kill(1);
  const auto killed = Clock::now();
  ASSERT_TRUE(eventually([&] { return daemons_->role(2) == "actor"; }, kDecisionBound))
      << roles() << "\n"
      << daemons_->describe();
  const double takeover = seconds_since(killed);
  EXPECT_TRUE(eventually([&] { return daemons_->role(3) == "standby"; }, kPropagationBound))
      << roles();

  const double up = backend_2_recovers_through(2);
  EXPECT_TRUE(daemons_->actions(3).empty()) << daemons_->describe();
  EXPECT_EQ(daemons_->actions(1).size(), 2U) << "the killed actor's down and flush only";
  expect_admins_down_untouched();
  report(
      "actor's poolwatch SIGKILLed: instance 2 acts {:.1f} s later ({:.0f} intervals; docs: at "
      "most 3 after its last answer); backend 2 started: U on every director {:.1f} s later, "
      "1 HOST-UP from instance 2, 0 from instance 3; admin's down still D",
      takeover, takeover / interval_seconds(), up);
}

// (d) with (e): the actor's whole director stopped; instance 1 keeps running.
TEST_F(RingTakeover, ActorsDirectorStoppedTheNextTakesOverThroughMembership) {
  admins_down_and_backend_2_down_by_the_actor(3);
  if (HasFatalFailure()) return;

  const auto stopping = Clock::now();
  lab_->director_fault(1, "stop");
  const double stopped = seconds_since(stopping);
  ASSERT_TRUE(eventually([&] { return daemons_->role(1) == "isolated"; }, kDecisionBound))
      << roles() << "\n"
      << daemons_->describe();
  const double isolated = seconds_since(stopping);
  ASSERT_TRUE(eventually([&] { return daemons_->role(2) == "actor"; }, kDecisionBound))
      << roles() << "\n"
      << daemons_->describe();
  const double takeover = seconds_since(stopping);
  EXPECT_TRUE(eventually([&] { return daemons_->role(3) == "standby"; }, kPropagationBound))
      << roles();

  const double up = backend_2_recovers_through(2);
  EXPECT_TRUE(daemons_->actions(3).empty()) << daemons_->describe();
  EXPECT_EQ(daemons_->actions(1).size(), 2U) << "nothing from the isolated instance";
  EXPECT_EQ(daemons_->role(1), "isolated");
  expect_admins_down_untouched();

  // Its director back: it rejoins with the ring's hosts, and instance 1 acts again
  // without a command (there is nothing to do).
  const auto starting = Clock::now();
  lab_->director_fault(1, "start");
  lab_->wait_ring_synced(kRingSyncBound);
  EXPECT_TRUE(wait_settled(1, kSettleBound)) << roles();
  const double settled = seconds_since(starting);
  std::this_thread::sleep_for(intervals(kQuietIntervals));
  EXPECT_EQ(lab_->host_states(1)[backend_], "up");
  EXPECT_EQ(daemons_->all_actions().size(), 3U) << daemons_->describe();
  expect_admins_down_untouched();
  report(
      "actor's director stopped (in {:.1f} s): instance 1 isolated {:.1f} s and instance 2 "
      "acting {:.1f} s after the stop began; backend 2 started: U on directors 2 and 3 {:.1f} s "
      "later, 1 HOST-UP from instance 2; director 1 back: instance 1 acts again {:.1f} s after "
      "its start, {} commands in all; admin's down still D",
      stopped, isolated, takeover, up, settled, daemons_->all_actions().size());
}

// (e) and persisted ownership: every instance stopped at once while the ring's down and
// the administrator's are both D, and only the two that did not make the down come back.
// What they knew of it is in their own state files: when both backends are healthy, the
// ring's down comes up and the administrator's stays.
TEST_F(RingTakeover, RestartOfEveryInstanceLosesNoOwnership) {
  admins_down_and_backend_2_down_by_the_actor(1);
  if (HasFatalFailure()) return;

  for (int k = 1; k <= 3; ++k) EXPECT_EQ(daemons_->stop(k), 0) << k;
  const auto restarted = Clock::now();
  daemons_->start(2);
  daemons_->start(3);
  ASSERT_TRUE(wait_settled(2, kSettleBound)) << roles() << "\n" << daemons_->describe();
  const double settled = seconds_since(restarted);
  const double up = backend_2_recovers_through(2);
  EXPECT_TRUE(daemons_->actions(3).empty()) << daemons_->describe();
  expect_admins_down_untouched();
  report(
      "all three instances stopped, 2 and 3 started again: instance 2 acts {:.1f} s after the "
      "start; backend 2 started: U on every director {:.1f} s later, 1 HOST-UP (from instance "
      "2, for instance 1's down); admin's down still D",
      settled, up);
}

}  // namespace
}  // namespace poolwatch::test
