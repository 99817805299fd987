// The reconcile rules of the action planner, scan by scan, with the director's answers
// fed back through on_command_result.

#include "poolwatch/health/action_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace poolwatch;
using director::HostCommand;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr auto kOk = DirectorReplyStatus::ok;
constexpr auto kFail = DirectorReplyStatus::error;
constexpr auto kRingSyncTimeout = DirectorReplyStatus::ring_sync_timeout;

IpAddress addr(int last) {
  return make_ip_address("10.0.0." + std::to_string(last));
}

// HOST-LIST: hosts 1..n; those in `down` carry the D flag.
PoolSnapshot pool(int n, std::vector<int> down = {}) {
  PoolSnapshot snapshot;
  for (int i = 1; i <= n; ++i) {
    HostEntry host;
    host.address = addr(i);
    host.vhost_count = 100;
    host.down = std::find(down.begin(), down.end(), i) != down.end();
    snapshot.hosts.push_back(host);
  }
  return snapshot;
}

using Verdicts = std::map<IpAddress, BackendVerdict>;

// Every host 1..n up, except those listed as down (failing since kNow - 100 + host).
Verdicts verdicts(int n, std::vector<int> down = {}) {
  Verdicts result;
  for (int i = 1; i <= n; ++i) {
    const bool is_down = std::find(down.begin(), down.end(), i) != down.end();
    result[addr(i)] =
        is_down ? BackendVerdict{Verdict::down, kNow - 100 + i, "imap:143: 8/10 rapid polls failed"}
                : BackendVerdict{Verdict::up, kNow - 1000, "imap:143: first probe succeeded"};
  }
  return result;
}

// The commands as the director would receive them, without the LF.
std::vector<std::string> lines(const ActionPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.commands) {
    auto line = director::format_host_command(c.kind, c.address);
    line.pop_back();
    out.push_back(std::move(line));
  }
  return out;
}

void all_ok(ActionPlanner& planner, const ActionPlan& plan) {
  for (const auto& c : plan.commands) planner.on_command_result(c, kOk, kNow);
}

ActionConfig unguarded() {
  ActionConfig config;
  config.max_down_percent = 100;
  return config;
}

}  // namespace

TEST(ActionPlanner, FailingHostGoesDownWithResetUsers) {
  ActionPlanner planner(ActionConfig{}, false);
  const auto plan = planner.plan(pool(4), verdicts(4, {2}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));
  EXPECT_FALSE(plan.commands[0].follows_down);
  EXPECT_TRUE(plan.commands[1].follows_down);
  EXPECT_EQ(plan.commands[0].reason, "imap:143: 8/10 rapid polls failed");
  EXPECT_TRUE(plan.suppressed.empty());
  EXPECT_FALSE(plan.ownership_changed);
}

TEST(ActionPlanner, FlushModeVariants) {
  ActionConfig flush;
  flush.flush_mode = FlushMode::flush;
  EXPECT_EQ(lines(ActionPlanner(flush, false).plan(pool(2), verdicts(2, {1}))),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.1", "HOST-FLUSH\t10.0.0.1"}));
  ActionConfig none;
  none.flush_mode = FlushMode::none;
  EXPECT_EQ(lines(ActionPlanner(none, false).plan(pool(2), verdicts(2, {1}))),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.1"}));
}

TEST(ActionPlanner, OwnershipOnlyAfterTheDirectorSaidOk) {
  ActionPlanner planner(ActionConfig{}, false);
  const auto plan = planner.plan(pool(4), verdicts(4, {2}));
  EXPECT_FALSE(planner.owns(addr(2)));
  EXPECT_FALSE(planner.on_command_result(plan.commands[0], kFail, kNow));
  EXPECT_FALSE(planner.owns(addr(2)));
  // Not taken down: the next scan tries again.
  const auto retry = planner.plan(pool(4), verdicts(4, {2}));
  ASSERT_EQ(retry.commands.size(), 2u);
  EXPECT_TRUE(planner.on_command_result(retry.commands[0], kOk, kNow + 10));
  EXPECT_EQ(
      planner.owned(),
      (std::vector<OwnedHost>{{addr(2), kNow + 10, "imap:143: 8/10 rapid polls failed", true}}));
  // The flush's OK is saved too: a restart must not send it again.
  EXPECT_TRUE(planner.on_command_result(retry.commands[1], kOk, kNow + 10));
  EXPECT_EQ(planner.owned(),
            (std::vector<OwnedHost>{{addr(2), kNow + 10, "imap:143: 8/10 rapid polls failed"}}));
  EXPECT_FALSE(planner.on_command_result(retry.commands[1], kOk, kNow + 10));  // nothing new
}

TEST(ActionPlanner, RefusedHostDownIsNotOwned) {
  for (const auto reply : {DirectorReplyStatus::error, DirectorReplyStatus::not_found,
                           DirectorReplyStatus::try_again, DirectorReplyStatus::no_reply}) {
    ActionPlanner planner(ActionConfig{}, false);
    const auto plan = planner.plan(pool(4), verdicts(4, {2}));
    EXPECT_FALSE(planner.on_command_result(plan.commands[0], reply, kNow)) << to_string(reply);
    EXPECT_TRUE(planner.owned().empty()) << to_string(reply);
  }
}

// "Ring sync timed out": the HOST-DOWN may have taken effect. Owned, so that the next
// scan either sends it again (still listed up) or only the flush (listed down).
TEST(ActionPlanner, HostDownAnsweredRingSyncTimeoutIsOwned) {
  ActionPlanner planner(ActionConfig{}, false);
  const auto plan = planner.plan(pool(4), verdicts(4, {2}));
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kRingSyncTimeout, kNow));
  EXPECT_EQ(planner.owned(),
            (std::vector<OwnedHost>{{addr(2), kNow, "imap:143: 8/10 rapid polls failed", true}}));
  // The next scan: listed down, it did apply (this leaves the planner as it was) ...
  EXPECT_EQ(lines(planner.plan(pool(4, {2}), verdicts(4, {2}))),
            (std::vector<std::string>{"HOST-RESET-USERS\t10.0.0.2"}));
  // ... or listed up, it did not.
  EXPECT_EQ(lines(planner.plan(pool(4), verdicts(4, {2}))),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));
}

// A HOST-UP that may not have taken effect keeps the host owned: sent again while the
// director lists it down, released once it lists it up. Given up, the host would count
// as an admin's down and stay down for good.
TEST(ActionPlanner, HostUpAnsweredRingSyncTimeoutKeepsOwnership) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(3), kNow - 500, "x"}});
  const auto plan = planner.plan(pool(4, {3}), verdicts(4));
  ASSERT_EQ(lines(plan), (std::vector<std::string>{"HOST-UP\t10.0.0.3"}));
  EXPECT_FALSE(planner.on_command_result(plan.commands[0], kRingSyncTimeout, kNow));
  EXPECT_TRUE(planner.owns(addr(3)));
  EXPECT_EQ(lines(planner.plan(pool(4, {3}), verdicts(4))),
            (std::vector<std::string>{"HOST-UP\t10.0.0.3"}));
  const auto applied = planner.plan(pool(4), verdicts(4));
  EXPECT_TRUE(applied.commands.empty());
  ASSERT_EQ(applied.released.size(), 1u);
  EXPECT_FALSE(planner.owns(addr(3)));
}

// A flush that may not have taken effect stays pending and is sent again: flushing a
// down host twice is harmless, never flushing it pins its users to a dead backend.
TEST(ActionPlanner, FlushAnsweredRingSyncTimeoutStaysPending) {
  ActionConfig config;
  config.flush_mode = FlushMode::flush;
  ActionPlanner planner(config, false);
  const auto plan = planner.plan(pool(4), verdicts(4, {2}));
  ASSERT_EQ(plan.commands.size(), 2u);
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_FALSE(planner.on_command_result(plan.commands[1], kRingSyncTimeout, kNow));
  EXPECT_TRUE(planner.owned().at(0).flush_pending);
  EXPECT_EQ(lines(planner.plan(pool(4, {2}), verdicts(4, {2}))),
            (std::vector<std::string>{"HOST-FLUSH\t10.0.0.2"}));
}

TEST(ActionPlanner, FlushModeNoneLeavesNoFlushPending) {
  ActionConfig none;
  none.flush_mode = FlushMode::none;
  ActionPlanner planner(none, false);
  const auto plan = planner.plan(pool(2), verdicts(2, {1}));
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_FALSE(planner.owned().at(0).flush_pending);
}

TEST(ActionPlanner, PendingFlushFromTheStateFileIsSentOnTheFirstScan) {
  ActionPlanner planner(ActionConfig{}, false,
                        {{addr(2), kNow - 500, "x", true}, {addr(3), kNow - 500, "y", false}});
  const auto plan = planner.plan(pool(4, {2, 3}), verdicts(4, {2, 3}));
  EXPECT_EQ(lines(plan), std::vector<std::string>{"HOST-RESET-USERS\t10.0.0.2"});
  EXPECT_FALSE(plan.commands[0].follows_down);
  // Refused: still pending, nothing to save; then OK: saved as done.
  EXPECT_FALSE(planner.on_command_result(plan.commands[0], kFail, kNow));
  EXPECT_TRUE(planner.owned().at(0).flush_pending);
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_EQ(planner.owned(),
            (std::vector<OwnedHost>{{addr(2), kNow - 500, "x"}, {addr(3), kNow - 500, "y"}}));
  EXPECT_TRUE(planner.plan(pool(4, {2, 3}), verdicts(4, {2, 3})).commands.empty());
}

TEST(ActionPlanner, DroppingAPendingFlushIsSaved) {
  // Healthy again and the director lists it up: released, and its flush with it.
  ActionPlanner planner(ActionConfig{}, false, {{addr(2), kNow, "x", true}});
  const auto released = planner.plan(pool(4), verdicts(4));
  EXPECT_TRUE(released.commands.empty());
  EXPECT_TRUE(released.ownership_changed);
  EXPECT_TRUE(planner.owned().empty());

  // flush_mode none after a reload: still owned, no flush pending any more.
  ActionPlanner reloaded(ActionConfig{}, false, {{addr(2), kNow, "x", true}});
  ActionConfig none;
  none.flush_mode = FlushMode::none;
  reloaded.set_config(none, false);
  const auto plan = reloaded.plan(pool(4, {2}), verdicts(4, {2}));
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.ownership_changed);
  EXPECT_EQ(reloaded.owned(), (std::vector<OwnedHost>{{addr(2), kNow, "x"}}));
  EXPECT_FALSE(reloaded.plan(pool(4, {2}), verdicts(4, {2})).ownership_changed);
}

TEST(ActionPlanner, PendingFlushIsNotSentInDryRun) {
  ActionPlanner planner(ActionConfig{}, true, {{addr(2), kNow, "x", true}});
  EXPECT_TRUE(planner.plan(pool(4, {2}), verdicts(4, {2})).commands.empty());
  EXPECT_TRUE(planner.owned().at(0).flush_pending);  // kept for a run that sends
}

TEST(ActionPlanner, RefusedFlushIsSentAgainWhileTheHostStaysDown) {
  ActionPlanner planner(ActionConfig{}, false);
  const auto first = planner.plan(pool(4), verdicts(4, {2}));
  ASSERT_EQ(first.commands.size(), 2u);
  planner.on_command_result(first.commands[0], kOk, kNow);    // HOST-DOWN OK
  planner.on_command_result(first.commands[1], kFail, kNow);  // HOST-RESET-USERS FAIL

  const auto retry = planner.plan(pool(4, {2}), verdicts(4, {2}));
  EXPECT_EQ(lines(retry), std::vector<std::string>{"HOST-RESET-USERS\t10.0.0.2"});
  ASSERT_EQ(retry.commands.size(), 1u);
  EXPECT_FALSE(retry.commands[0].follows_down);  // its HOST-DOWN is long answered
  planner.on_command_result(retry.commands[0], kOk, kNow);
  EXPECT_TRUE(planner.plan(pool(4, {2}), verdicts(4, {2})).commands.empty());
}

TEST(ActionPlanner, FlushUnsentAfterALostConnectionIsSentNextScan) {
  ActionConfig config;
  config.flush_mode = FlushMode::flush;
  ActionPlanner planner(config, false);
  const auto first = planner.plan(pool(4), verdicts(4, {2}));
  planner.on_command_result(first.commands[0], kOk, kNow);  // then the connection dropped
  EXPECT_EQ(lines(planner.plan(pool(4, {2}), verdicts(4, {2}))),
            std::vector<std::string>{"HOST-FLUSH\t10.0.0.2"});
}

TEST(ActionPlanner, PendingFlushIsDroppedWhenItNoLongerHelps) {
  ActionPlanner planner(ActionConfig{}, false);
  const auto first = planner.plan(pool(4), verdicts(4, {2}));
  planner.on_command_result(first.commands[0], kOk, kNow);
  // Healthy again: HOST-UP, no flush.
  const auto up = planner.plan(pool(4, {2}), verdicts(4));
  EXPECT_EQ(lines(up), std::vector<std::string>{"HOST-UP\t10.0.0.2"});
  all_ok(planner, up);
  EXPECT_TRUE(planner.plan(pool(4), verdicts(4)).commands.empty());

  // The director lost the down: HOST-DOWN with its own flush, not a second one.
  ActionPlanner lost(ActionConfig{}, false);
  const auto down = lost.plan(pool(4), verdicts(4, {2}));
  lost.on_command_result(down.commands[0], kOk, kNow);
  EXPECT_EQ(lines(lost.plan(pool(4), verdicts(4, {2}))),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));

  // flush_mode none after a reload: nothing left to send.
  ActionPlanner reloaded(ActionConfig{}, false);
  const auto before = reloaded.plan(pool(4), verdicts(4, {2}));
  reloaded.on_command_result(before.commands[0], kOk, kNow);
  ActionConfig none;
  none.flush_mode = FlushMode::none;
  reloaded.set_config(none, false);
  EXPECT_TRUE(reloaded.plan(pool(4, {2}), verdicts(4, {2})).commands.empty());
}

TEST(ActionPlanner, OwnedHostThatTheDirectorListsDownNeedsNothing) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(2), kNow, "x"}});
  const auto plan = planner.plan(pool(4, {2}), verdicts(4, {2}));
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.suppressed.empty());
  EXPECT_TRUE(planner.owns(addr(2)));
}

TEST(ActionPlanner, ResendsALostHostDownAfterADirectorRestart) {
  ActionConfig config;
  config.max_down_percent = 0;  // the guard is for new downs, not for keeping ours down
  ActionPlanner planner(config, false, {{addr(2), kNow - 500, "old reason"}});
  const auto plan = planner.plan(pool(4), verdicts(4, {2}));  // HOST-LIST shows U again
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));
  EXPECT_NE(plan.commands[0].reason.find("lists it up again although poolwatch took it down"),
            std::string::npos);
  // Owned already, but its flush is pending again: saved.
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_EQ(planner.owned().at(0).since, kNow - 500);  // the outage did not start anew
  EXPECT_TRUE(planner.owned().at(0).flush_pending);
}

TEST(ActionPlanner, OwnedHostHealthyAgainIsBroughtUp) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(3), kNow - 500, "x"}});
  const auto plan = planner.plan(pool(4, {3}), verdicts(4));
  EXPECT_EQ(lines(plan), (std::vector<std::string>{"HOST-UP\t10.0.0.3"}));
  EXPECT_EQ(plan.commands[0].reason, "healthy again: imap:143: first probe succeeded");
  EXPECT_TRUE(planner.owns(addr(3)));
  EXPECT_TRUE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_FALSE(planner.owns(addr(3)));
}

TEST(ActionPlanner, ManualDownIsNeverBroughtUp) {
  ActionPlanner planner(ActionConfig{}, false);
  for (int scan = 0; scan < 5; ++scan) {
    const auto plan = planner.plan(pool(4, {3}), verdicts(4));
    EXPECT_TRUE(plan.commands.empty());
    ASSERT_EQ(plan.suppressed.size(), 1u);
    EXPECT_EQ(plan.suppressed[0].because, SuppressedBecause::manual_down);
    EXPECT_EQ(plan.suppressed[0].kind, HostCommand::up);
    EXPECT_EQ(plan.suppressed[0].address, addr(3));
    EXPECT_EQ(plan.suppressed[0].first_report, scan == 0);
  }
  EXPECT_FALSE(planner.owns(addr(3)));
}

TEST(ActionPlanner, UpManualDownsBringsThemUpWithoutOwningThem) {
  ActionConfig config;
  config.up_manual_downs = true;
  ActionPlanner planner(config, false);
  const auto plan = planner.plan(pool(4, {3}), verdicts(4));
  EXPECT_EQ(lines(plan), (std::vector<std::string>{"HOST-UP\t10.0.0.3"}));
  EXPECT_FALSE(planner.on_command_result(plan.commands[0], kOk, kNow));
  EXPECT_TRUE(planner.owned().empty());
}

TEST(ActionPlanner, FailingHostThatSomeoneElseTookDownIsLeftAndNotOwned) {
  ActionPlanner planner(ActionConfig{}, false);
  for (int scan = 0; scan < 3; ++scan) {
    const auto plan = planner.plan(pool(4, {1}), verdicts(4, {1}));
    EXPECT_TRUE(plan.commands.empty());
    EXPECT_TRUE(plan.suppressed.empty());
  }
  EXPECT_FALSE(planner.owns(addr(1)));
  // When it recovers it stays down: an admin's call.
  EXPECT_TRUE(planner.plan(pool(4, {1}), verdicts(4)).commands.empty());
}

TEST(ActionPlanner, OwnershipDroppedWhenTheDirectorListsItUpAndItIsHealthy) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(1), kNow, "x"}});
  const auto plan = planner.plan(pool(4), verdicts(4));
  EXPECT_TRUE(plan.commands.empty());
  ASSERT_EQ(plan.released.size(), 1u);
  EXPECT_EQ(plan.released[0].host.address, addr(1));
  EXPECT_EQ(plan.released[0].reason, "the director lists it up and it is healthy");
  EXPECT_TRUE(plan.ownership_changed);
  EXPECT_FALSE(planner.owns(addr(1)));
}

TEST(ActionPlanner, HostGoneFromHostListIsForgotten) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(9), kNow, "x"}, {addr(1), kNow, "y"}});
  const auto plan = planner.plan(pool(4, {1}), verdicts(4, {1}));
  ASSERT_EQ(plan.released.size(), 1u);
  EXPECT_EQ(plan.released[0].host.address, addr(9));
  EXPECT_EQ(plan.released[0].reason, "gone from HOST-LIST, forgotten");
  EXPECT_TRUE(plan.ownership_changed);
  EXPECT_EQ(planner.owned().size(), 1u);
}

TEST(ActionPlanner, UnknownVerdictTakesNoAction) {
  ActionPlanner planner(ActionConfig{}, false, {{addr(2), kNow, "x"}});
  Verdicts unknown;
  unknown[addr(1)] = {};
  const auto plan = planner.plan(pool(3, {3}), unknown);  // 2 owned and U, 3 D: no verdict
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.suppressed.empty());
  EXPECT_TRUE(plan.released.empty());
  EXPECT_TRUE(planner.owns(addr(2)));
}

TEST(ActionPlanner, MissingUpDownFlagCountsAsUp) {
  ActionPlanner planner(ActionConfig{}, false);
  auto snapshot = pool(2);
  snapshot.hosts[0].down.reset();
  EXPECT_EQ(lines(planner.plan(snapshot, verdicts(2, {1}))).at(0), "HOST-DOWN\t10.0.0.1");
}

TEST(ActionPlanner, PoolGuardBlocksAndCountsHostsAlreadyHeldDown) {
  // 4 hosts at 50 %: 2 may be down; 1 is ours already, so only the longest-failing of 3 goes.
  ActionPlanner planner(ActionConfig{}, false, {{addr(4), kNow, "x"}});
  const auto plan = planner.plan(pool(4, {4}), verdicts(4, {1, 2, 3, 4}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.1", "HOST-RESET-USERS\t10.0.0.1"}));
  ASSERT_EQ(plan.suppressed.size(), 2u);
  for (const auto& s : plan.suppressed) {
    EXPECT_EQ(s.because, SuppressedBecause::pool_guard);
    EXPECT_NE(s.reason.find("max_down_percent 50 allows 2"), std::string::npos) << s.reason;
  }
  EXPECT_EQ(plan.suppressed[0].address, addr(2));
  EXPECT_EQ(plan.suppressed[1].address, addr(3));
  // Still blocked next scan: reported again, but no longer as new.
  all_ok(planner, plan);
  const auto next = planner.plan(pool(4, {1, 4}), verdicts(4, {1, 2, 3, 4}));
  EXPECT_TRUE(next.commands.empty());
  ASSERT_EQ(next.suppressed.size(), 2u);
  EXPECT_FALSE(next.suppressed[0].first_report);
}

// Issue 13 item 4: the guard counts distinct hosts, not HOST-LIST lines.
TEST(ActionPlanner, AHostListedFourTimesCountsOnceForTheGuard) {
  // 3 distinct hosts at 50 %: 1 may go down. Listed as 6 lines, the guard allowed 3.
  auto listed = pool(3);
  for (int i = 0; i < 3; ++i) listed.hosts.push_back(listed.hosts[2]);
  ActionPlanner planner(ActionConfig{}, false);
  const auto plan = planner.plan(listed, verdicts(3, {1, 2, 3}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.1", "HOST-RESET-USERS\t10.0.0.1"}));
  ASSERT_EQ(plan.suppressed.size(), 2u);
  EXPECT_NE(plan.suppressed[0].reason.find("of 3 hosts"), std::string::npos)
      << plan.suppressed[0].reason;
}

TEST(ActionPlanner, ADuplicatedDeadHostGetsOneDownAndOneFlushPerScan) {
  auto listed = pool(4);
  listed.hosts.push_back(listed.hosts[1]);
  ActionPlanner planner(ActionConfig{}, false);
  const auto plan = planner.plan(listed, verdicts(4, {2}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));
}

TEST(ActionPlanner, PerScanCapDefersTheRest) {
  ActionConfig config = unguarded();
  config.max_actions_per_scan = 2;
  ActionPlanner planner(config, false, {{addr(5), kNow, "x"}});
  // Three downs and one up wanted; downs come first, longest failing first.
  const auto plan = planner.plan(pool(5, {5}), verdicts(5, {1, 2, 3}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.1", "HOST-RESET-USERS\t10.0.0.1",
                                      "HOST-DOWN\t10.0.0.2", "HOST-RESET-USERS\t10.0.0.2"}));
  ASSERT_EQ(plan.suppressed.size(), 2u);
  EXPECT_EQ(plan.suppressed[0].because, SuppressedBecause::scan_cap);
  EXPECT_EQ(plan.suppressed[0].address, addr(3));
  EXPECT_EQ(plan.suppressed[1].kind, HostCommand::up);
  EXPECT_EQ(plan.suppressed[1].address, addr(5));
  all_ok(planner, plan);
  const auto next = planner.plan(pool(5, {1, 2, 5}), verdicts(5, {1, 2, 3}));
  EXPECT_EQ(lines(next),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.3", "HOST-RESET-USERS\t10.0.0.3",
                                      "HOST-UP\t10.0.0.5"}));
}

TEST(ActionPlanner, ResendsComeFirstThenNewDownsThenUps) {
  ActionPlanner planner(unguarded(), false, {{addr(3), kNow, "x"}, {addr(4), kNow, "y"}});
  const auto plan = planner.plan(pool(4, {4}), verdicts(4, {1, 3}));
  EXPECT_EQ(lines(plan),
            (std::vector<std::string>{"HOST-DOWN\t10.0.0.3", "HOST-RESET-USERS\t10.0.0.3",
                                      "HOST-DOWN\t10.0.0.1", "HOST-RESET-USERS\t10.0.0.1",
                                      "HOST-UP\t10.0.0.4"}));
}

TEST(ActionPlanner, DryRunReportsEachWouldBeActionOncePerTransition) {
  ActionPlanner planner(ActionConfig{}, true, {{addr(3), kNow, "from state file"}});
  const auto first = planner.plan(pool(4, {3}), verdicts(4, {1}));
  EXPECT_TRUE(first.commands.empty());
  ASSERT_EQ(first.suppressed.size(), 2u);
  EXPECT_EQ(first.suppressed[0].because, SuppressedBecause::dry_run);
  EXPECT_EQ(first.suppressed[0].kind, HostCommand::down);
  EXPECT_EQ(first.suppressed[0].address, addr(1));
  EXPECT_EQ(first.suppressed[1].kind, HostCommand::up);
  EXPECT_EQ(first.suppressed[1].address, addr(3));
  // Same situation next scan: nothing new to report.
  EXPECT_TRUE(planner.plan(pool(4, {3}), verdicts(4, {1})).suppressed.empty());
  // Host 1 recovers, then fails again: a new transition, reported again.
  EXPECT_TRUE(planner.plan(pool(4, {3}), verdicts(4)).suppressed.empty());
  const auto again = planner.plan(pool(4, {3}), verdicts(4, {1}));
  ASSERT_EQ(again.suppressed.size(), 1u);
  EXPECT_EQ(again.suppressed[0].address, addr(1));
  // Nothing changes ownership in dry-run, not even a vanished host.
  EXPECT_FALSE(planner.on_command_result({HostCommand::down, addr(1), "", false}, kOk, kNow));
  const auto vanished = planner.plan(pool(2), verdicts(2));
  EXPECT_TRUE(vanished.released.empty());
  EXPECT_EQ(planner.owned(), (std::vector<OwnedHost>{{addr(3), kNow, "from state file"}}));
}

TEST(ActionPlanner, DryRunStillAppliesTheGuard) {
  ActionPlanner planner(ActionConfig{}, true);
  const auto plan = planner.plan(pool(2), verdicts(2, {1, 2}));
  ASSERT_EQ(plan.suppressed.size(), 2u);
  EXPECT_EQ(plan.suppressed[0].because, SuppressedBecause::pool_guard);
  EXPECT_EQ(plan.suppressed[0].address, addr(2));
  EXPECT_EQ(plan.suppressed[1].because, SuppressedBecause::dry_run);
  EXPECT_EQ(plan.suppressed[1].address, addr(1));
}
