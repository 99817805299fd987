// What the pool guard counts as down (actions.max_down_counts): poolwatch's own downs
// only, or every host the director lists down, an administrator's included.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "poolwatch/health/action_planner.hpp"

using namespace poolwatch;

class PlannerGuardCounts : public ::testing::Test {
 protected:
  static constexpr std::int64_t kStart = 1'700'000'000;

  static IpAddress host(int last) { return make_ip_address("10.0.2." + std::to_string(last)); }

  // Hosts 1..4; those in `listed_down` carry the director's D flag.
  static PoolSnapshot four_hosts(const std::vector<int>& listed_down) {
    PoolSnapshot snapshot;
    for (int i = 1; i <= 4; ++i) {
      HostEntry entry;
      entry.address = host(i);
      entry.vhost_count = 100;
      entry.down = std::find(listed_down.begin(), listed_down.end(), i) != listed_down.end();
      snapshot.hosts.push_back(entry);
    }
    return snapshot;
  }

  // Hosts 1..4 failing if listed in `failing` (the lower the longer), healthy otherwise.
  static std::map<IpAddress, BackendVerdict> failing(const std::vector<int>& failing) {
    std::map<IpAddress, BackendVerdict> result;
    for (int i = 1; i <= 4; ++i) {
      const bool fails = std::find(failing.begin(), failing.end(), i) != failing.end();
      result[host(i)] = fails ? BackendVerdict{Verdict::down, kStart + i, "refused"}
                              : BackendVerdict{Verdict::up, kStart - 1000, "ok"};
    }
    return result;
  }

  static std::vector<IpAddress> downs(const ActionPlan& plan) {
    std::vector<IpAddress> out;
    for (const auto& c : plan.commands)
      if (c.kind == director::HostCommand::down) out.push_back(c.address);
    return out;
  }

  static ActionConfig counting(GuardCounts counts) {
    ActionConfig config;  // max_down_percent 50: 2 of 4 hosts
    config.max_down_counts = counts;
    return config;
  }
};

// The default, and the behaviour before the option: an admin's down is not counted, so
// with host 4 down by an admin, 2 more go down and 3 of 4 are out.
TEST_F(PlannerGuardCounts, OwnCountsOnlyPoolwatchsDowns) {
  ActionPlanner planner(counting(GuardCounts::own), false);
  const auto plan = planner.plan(four_hosts({4}), failing({1, 2, 4}));
  EXPECT_EQ(downs(plan), (std::vector<IpAddress>{host(1), host(2)}));
  EXPECT_TRUE(plan.guard.blocked.empty());
  EXPECT_EQ(plan.guard.held_down, 0u);
}

TEST_F(PlannerGuardCounts, AllCountsAnAdminsDown) {
  ActionPlanner planner(counting(GuardCounts::all), false);
  const auto plan = planner.plan(four_hosts({4}), failing({1, 2, 4}));
  EXPECT_EQ(downs(plan), (std::vector<IpAddress>{host(1)}));
  ASSERT_EQ(plan.suppressed.size(), 1u);
  EXPECT_EQ(plan.suppressed[0].address, host(2));
  EXPECT_EQ(plan.suppressed[0].because, SuppressedBecause::pool_guard);
  EXPECT_NE(plan.suppressed[0].reason.find(
                "1 of 4 hosts already down in the director (max_down_counts: all) and 1 more "
                "going down this scan; max_down_percent 50 allows 2"),
            std::string::npos)
      << plan.suppressed[0].reason;
}

TEST_F(PlannerGuardCounts, AllCountsADownOfPoolwatchsOnce) {
  ActionPlanner planner(counting(GuardCounts::all), false, {{host(3), kStart, "refused"}});
  // Host 3 is ours and listed down, host 4 an admin's: 2 down already, nothing more goes.
  const auto plan = planner.plan(four_hosts({3, 4}), failing({1, 3}));
  EXPECT_TRUE(downs(plan).empty());
  EXPECT_EQ(plan.guard.held_down, 2u);
  ASSERT_EQ(plan.guard.blocked.size(), 1u);
  EXPECT_EQ(plan.guard.blocked[0].candidate.address, host(1));
}

TEST_F(PlannerGuardCounts, AReloadSwitchesTheCount) {
  ActionPlanner planner(counting(GuardCounts::own), false);
  planner.set_config(counting(GuardCounts::all), false);
  EXPECT_EQ(downs(planner.plan(four_hosts({4}), failing({1, 2}))),
            (std::vector<IpAddress>{host(1)}));
}
