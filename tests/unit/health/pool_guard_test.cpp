#include "poolwatch/health/pool_guard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace poolwatch;

namespace {

GuardCandidate candidate(const std::string& address, std::int64_t since) {
  return {make_ip_address(address), since, "imap:143: 8/10 rapid polls failed"};
}

std::vector<std::string> addresses(const std::vector<GuardCandidate>& list) {
  std::vector<std::string> out;
  for (const auto& c : list) out.push_back(c.address.to_string());
  return out;
}

}  // namespace

TEST(PoolGuard, LimitIsTheFloorOfTheShare) {
  EXPECT_EQ(guard_limit(10, 50), 5u);
  EXPECT_EQ(guard_limit(3, 50), 1u);
  EXPECT_EQ(guard_limit(1, 50), 0u);
  EXPECT_EQ(guard_limit(10, 30), 3u);
  EXPECT_EQ(guard_limit(3, 33.4), 1u);
  EXPECT_EQ(guard_limit(3, 66.7), 2u);
  EXPECT_EQ(guard_limit(4, 100), 4u);
  EXPECT_EQ(guard_limit(7, 0), 0u);
  EXPECT_EQ(guard_limit(0, 50), 0u);
  EXPECT_EQ(guard_limit(5, 250), 5u);  // never more than the pool
  EXPECT_EQ(guard_limit(5, -10), 0u);
}

TEST(PoolGuard, ExactlyAtTheLimitEverythingIsAllowed) {
  // 10 hosts at 50 %: 5 may be down; 2 already are, so 3 more may go.
  const auto decision = apply_pool_guard(
      10, 2, 50,
      {candidate("10.0.0.3", 100), candidate("10.0.0.4", 100), candidate("10.0.0.5", 100)});
  EXPECT_EQ(decision.limit, 5u);
  EXPECT_EQ(decision.held_down, 2u);
  EXPECT_EQ(decision.allowed.size(), 3u);
  EXPECT_TRUE(decision.blocked.empty());
}

TEST(PoolGuard, OneOverTheLimitBlocksTheNewestFailure) {
  const auto decision = apply_pool_guard(10, 2, 50,
                                         {candidate("10.0.0.6", 300), candidate("10.0.0.3", 100),
                                          candidate("10.0.0.5", 200), candidate("10.0.0.4", 100)});
  EXPECT_EQ(addresses(decision.allowed),
            (std::vector<std::string>{"10.0.0.3", "10.0.0.4", "10.0.0.5"}));
  ASSERT_EQ(decision.blocked.size(), 1u);
  EXPECT_EQ(decision.blocked[0].candidate.address.to_string(), "10.0.0.6");
  EXPECT_EQ(decision.blocked[0].reason,
            "pool guard: 2 of 10 hosts already down by poolwatch and 3 more going down this "
            "scan; max_down_percent 50 allows 5");
}

TEST(PoolGuard, OrderIsLongestFailingFirstThenAddress) {
  const auto decision = apply_pool_guard(4, 0, 50,
                                         {candidate("10.0.0.9", 50), candidate("10.0.0.2", 70),
                                          candidate("10.0.0.1", 70), candidate("10.0.0.3", 60)});
  EXPECT_EQ(addresses(decision.allowed), (std::vector<std::string>{"10.0.0.9", "10.0.0.3"}));
  EXPECT_EQ(addresses({decision.blocked[0].candidate, decision.blocked[1].candidate}),
            (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
}

TEST(PoolGuard, HeldDownAboveTheLimitBlocksEverything) {
  const auto decision = apply_pool_guard(4, 3, 50, {candidate("10.0.0.1", 1)});
  EXPECT_TRUE(decision.allowed.empty());
  ASSERT_EQ(decision.blocked.size(), 1u);
}

TEST(PoolGuard, SingleHostPoolCanNeverBeTakenDownBelowFullShare) {
  EXPECT_EQ(apply_pool_guard(1, 0, 50, {candidate("10.0.0.1", 1)}).blocked.size(), 1u);
  EXPECT_EQ(apply_pool_guard(1, 0, 100, {candidate("10.0.0.1", 1)}).allowed.size(), 1u);
}

TEST(PoolGuard, TheReasonSaysWhatCountsAsDown) {
  const auto own = apply_pool_guard(4, 1, 50, {candidate("10.0.0.1", 1), candidate("10.0.0.2", 2)});
  EXPECT_EQ(guard_limit_reason(own),
            "1 of 4 hosts already down by poolwatch and 1 more going down this scan; "
            "max_down_percent 50 allows 2");
  const auto all = apply_pool_guard(4, 2, 50, {candidate("10.0.0.1", 1)}, GuardCounts::all);
  EXPECT_EQ(all.blocked.at(0).reason,
            "pool guard: 2 of 4 hosts already down in the director (max_down_counts: all) and 0 "
            "more going down this scan; max_down_percent 50 allows 2");
}
