// The plan made in turns (begin_plan, compare_some a few hosts at a time, finish_plan),
// as the daemon makes it for a large pool, is the plan made in one go.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "poolwatch/health/action_planner.hpp"

using namespace poolwatch;
using director::HostCommand;

namespace planner_turns_test {

constexpr std::int64_t kSceneNow = 1'700'000'000;

IpAddress address_of(int i) {
  return make_ip_address("10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1));
}

// Every kind of host the comparison tells apart: healthy, failing, unknown, down by an
// admin, held down by poolwatch (still failing, healthy again, lost by the director,
// listed up and healthy),
// and one address listed twice.
struct Scene {
  PoolSnapshot pool;
  std::map<IpAddress, BackendVerdict> verdicts;
  std::vector<OwnedHost> owned;

  Scene() {
    for (int i = 0; i < 40; ++i) {
      HostEntry host;
      host.address = address_of(i);
      host.vhost_count = 100;
      const int kind = i % 8;
      host.down = kind == 3 || kind == 4 || kind == 5;
      pool.hosts.push_back(host);
      if (kind == 2) continue;  // no verdict yet
      const bool failing = kind == 1 || kind == 4 || kind == 6;
      verdicts[host.address] = {failing ? Verdict::down : Verdict::up, kSceneNow - 100 + i,
                                failing ? "imap:143: refused" : "imap:143: ok"};
      if (kind >= 4) owned.push_back({host.address, kSceneNow - 500, "refused", kind == 4});
    }
    pool.hosts.push_back(pool.hosts[9]);  // a repeat counts once
  }
};

std::string describe(const ActionPlan& plan) {
  std::string out;
  for (const auto& c : plan.commands)
    out += std::string(director::command_name(c.kind)) + " " + c.address.to_string() + ": " +
           c.reason + "\n";
  for (const auto& s : plan.suppressed)
    out += "suppressed " + s.address.to_string() + ": " + s.reason + "\n";
  for (const auto& r : plan.released)
    out += "released " + r.host.address.to_string() + ": " + r.reason + "\n";
  out += "blocked " + std::to_string(plan.guard.blocked.size()) + ", allowed " +
         std::to_string(plan.guard.allowed.size()) +
         (plan.ownership_changed ? ", ownership changed" : "");
  return out;
}

ActionConfig config() {
  ActionConfig c;
  c.max_down_percent = 60;
  c.max_actions_per_scan = 12;
  return c;
}

TEST(ActionPlannerTurns, APlanMadeAFewHostsAtATimeIsThePlanMadeInOneGo) {
  const Scene scene;
  ActionPlanner whole(config(), false, scene.owned);
  const auto expected = describe(whole.plan(scene.pool, scene.verdicts));
  ASSERT_NE(expected.find("HOST-DOWN"), std::string::npos) << expected;
  ASSERT_NE(expected.find("HOST-UP"), std::string::npos) << expected;
  ASSERT_NE(expected.find("released"), std::string::npos) << expected;
  ASSERT_NE(expected.find("suppressed"), std::string::npos) << expected;

  const ActionPlanner::VerdictLookup verdict_of = [&](const IpAddress& a) -> const BackendVerdict* {
    const auto found = scene.verdicts.find(a);
    return found == scene.verdicts.end() ? nullptr : &found->second;
  };
  for (const std::size_t turn : {1u, 3u, 7u, 100u}) {
    ActionPlanner in_turns(config(), false, scene.owned);
    auto progress = in_turns.begin_plan(scene.pool);
    std::size_t turns = 1;
    while (!in_turns.compare_some(progress, scene.pool, verdict_of, turn)) ++turns;
    EXPECT_EQ(turns, (scene.pool.hosts.size() + turn - 1) / turn);
    EXPECT_EQ(describe(in_turns.finish_plan(std::move(progress), scene.pool, verdict_of)), expected)
        << "turns of " << turn;
    EXPECT_EQ(in_turns.owned(), whole.owned()) << "turns of " << turn;
  }
}

}  // namespace planner_turns_test
