#include "poolwatch/ring/ownership.hpp"

#include <gtest/gtest.h>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class SharedOwnershipTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = FakeClock::kUnixStart;
  static constexpr std::chrono::seconds kRetention{7 * 24 * 3600};

  static OwnedHost owned(const IpAddress& address, std::int64_t since, bool flush_pending = false) {
    return {address, since, "imap:143: refused", flush_pending};
  }
  // The actor took `address` down at `since` (its planner now owns it).
  static void take_down(SharedOwnership& ownership, const IpAddress& address, std::int64_t since) {
    auto before = ownership.owned_hosts();
    auto after = before;
    after.push_back(owned(address, since, true));
    ownership.apply_planner_change(before, after, since);
  }
  static void bring_up(SharedOwnership& ownership, const IpAddress& address, std::int64_t when) {
    auto before = ownership.owned_hosts();
    auto after = before;
    std::erase_if(after, [&](const OwnedHost& host) { return host.address == address; });
    ownership.apply_planner_change(before, after, when);
  }
};

TEST_F(SharedOwnershipTest, TheActorsDownBecomesItsClaim) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend2, kNow);
  const auto state = a.state();
  ASSERT_EQ(state.claims.size(), 1u);
  EXPECT_EQ(state.claims[0].address, kBackend2);
  EXPECT_EQ(state.claims[0].made_by, kA);
  EXPECT_EQ(state.claims[0].since_unix, kNow);
  EXPECT_TRUE(state.claims[0].flush_pending);
  EXPECT_TRUE(a.owns(kBackend2));
}

TEST_F(SharedOwnershipTest, AnotherInstanceMayReleaseADownItDidNotMake) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  take_down(a, kBackend2, kNow);
  const auto learned = b.merge(a.state(), kNow);
  EXPECT_TRUE(learned.changed);
  EXPECT_TRUE(learned.claims_added);  // an acting b would rebuild its planner
  ASSERT_TRUE(b.owns(kBackend2));
  EXPECT_EQ(b.owned_hosts()[0].since, kNow);

  // a is gone for good; b acts and brings the backend up.
  bring_up(b, kBackend2, kNow + 600);
  EXPECT_FALSE(b.owns(kBackend2));
  ASSERT_EQ(b.state().releases.size(), 1u);
  EXPECT_EQ(b.state().releases[0].made_by, kA);
}

TEST_F(SharedOwnershipTest, AReleaseIsNotUndoneByAStaleCopyOfItsClaim) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  SharedOwnership c(kC, kRetention);
  take_down(a, kBackend2, kNow);
  b.merge(a.state(), kNow);
  c.merge(a.state(), kNow);
  bring_up(b, kBackend2, kNow + 600);
  // c still publishes the claim; b must not take it back, and c drops it on b's news,
  // whichever arrives first.
  const auto from_c = b.merge(c.state(), kNow + 610);
  EXPECT_FALSE(from_c.claims_added);
  EXPECT_FALSE(b.owns(kBackend2));
  c.merge(b.state(), kNow + 620);
  EXPECT_FALSE(c.owns(kBackend2));
  EXPECT_EQ(b.state(), c.state());
}

TEST_F(SharedOwnershipTest, ALaterDownOfTheSameHostIsANewClaim) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend2, kNow);
  bring_up(a, kBackend2, kNow + 600);
  take_down(a, kBackend2, kNow + 1200);
  EXPECT_TRUE(a.owns(kBackend2));
  SharedOwnership b(kB, kRetention);
  b.merge(a.state(), kNow + 1210);
  EXPECT_TRUE(b.owns(kBackend2));
  EXPECT_EQ(b.owned_hosts()[0].since, kNow + 1200);
}

TEST_F(SharedOwnershipTest, ADownInTheSameSecondAsTheReleaseStillCounts) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend2, kNow);
  bring_up(a, kBackend2, kNow);
  take_down(a, kBackend2, kNow);
  EXPECT_TRUE(a.owns(kBackend2));
}

TEST_F(SharedOwnershipTest, MergingIsOrderIndependent) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  take_down(a, kBackend1, kNow);
  take_down(b, kBackend2, kNow + 1);
  bring_up(a, kBackend1, kNow + 100);
  SharedOwnership x(kC, kRetention);
  SharedOwnership y(kD, kRetention);
  x.merge(a.state(), kNow + 200);
  x.merge(b.state(), kNow + 200);
  y.merge(b.state(), kNow + 200);
  y.merge(a.state(), kNow + 200);
  EXPECT_EQ(x.state(), y.state());
  EXPECT_FALSE(x.owns(kBackend1));
  EXPECT_TRUE(x.owns(kBackend2));
}

TEST_F(SharedOwnershipTest, AFlushDoneAnywhereIsDone) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  take_down(a, kBackend2, kNow);
  b.merge(a.state(), kNow);
  EXPECT_TRUE(b.owned_hosts()[0].flush_pending);
  // a's flush is answered OK.
  a.apply_planner_change(a.owned_hosts(), {owned(kBackend2, kNow, false)}, kNow + 5);
  b.merge(a.state(), kNow + 10);
  EXPECT_FALSE(b.owned_hosts()[0].flush_pending);
  a.merge(b.state(), kNow + 10);
  EXPECT_FALSE(a.owned_hosts()[0].flush_pending);
}

TEST_F(SharedOwnershipTest, ClaimsMergedMeanwhileAreNotReleasedByThePlanner) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  take_down(a, kBackend2, kNow);
  // b acts with a planner that has not adopted a's claim yet; its own change of
  // backend 1 must not release it.
  b.merge(a.state(), kNow);
  b.apply_planner_change({}, {owned(kBackend1, kNow + 5)}, kNow + 5);
  EXPECT_TRUE(b.owns(kBackend2));
  EXPECT_TRUE(b.owns(kBackend1));
}

TEST_F(SharedOwnershipTest, PersistedStateComesBack) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend1, kNow);
  take_down(a, kBackend2, kNow);
  bring_up(a, kBackend1, kNow + 60);
  const SharedOwnership restarted(kA, kRetention, a.state());
  EXPECT_EQ(restarted.state(), a.state());
  EXPECT_TRUE(restarted.owns(kBackend2));
  EXPECT_FALSE(restarted.owns(kBackend1));
}

TEST_F(SharedOwnershipTest, UnconfirmedClaimsExpireAndReleasesOutliveThem) {
  SharedOwnership a(kA, kRetention);
  SharedOwnership b(kB, kRetention);
  take_down(a, kBackend1, kNow);
  take_down(a, kBackend2, kNow);
  bring_up(a, kBackend1, kNow);
  b.merge(a.state(), kNow);
  // No actor confirms the claims for a whole retention: they are void.
  const auto later = kNow + kRetention.count() + kRetention.count() / 8 + 1;
  const auto expired = b.expire(later);
  EXPECT_TRUE(expired.changed);
  EXPECT_FALSE(expired.problems.empty());
  EXPECT_FALSE(b.owns(kBackend2));
  // The release is still there, so an old copy of its claim cannot come back...
  EXPECT_EQ(b.state().releases.size(), 1u);
  // ...and neither can a stale claim.
  b.merge(a.state(), later);
  EXPECT_FALSE(b.owns(kBackend2));
  b.expire(kNow + 3 * kRetention.count());
  EXPECT_TRUE(b.state().releases.empty());
}

TEST_F(SharedOwnershipTest, TheActorsConfirmationKeepsClaimsAlive) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend2, kNow);
  for (std::int64_t day = 1; day <= 30; ++day) {
    const auto now = kNow + day * 24 * 3600;
    a.apply_planner_change(a.owned_hosts(), a.owned_hosts(), now);
    a.expire(now);
  }
  EXPECT_TRUE(a.owns(kBackend2));
}

TEST_F(SharedOwnershipTest, ConfirmingEveryScanSavesOnlyNowAndThen) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend2, kNow);
  int saves = 0;
  for (int scan = 1; scan <= 8640; ++scan) {  // one day at 10 s
    const auto now = kNow + scan * 10;
    if (a.apply_planner_change(a.owned_hosts(), a.owned_hosts(), now).changed) ++saves;
  }
  EXPECT_LE(saves, 2);
}

TEST_F(SharedOwnershipTest, HeldDownCountsClaimedHostsTheDirectorLists) {
  SharedOwnership a(kA, kRetention);
  take_down(a, kBackend1, kNow);
  take_down(a, kBackend3, kNow);
  PoolSnapshot pool;
  pool.hosts.push_back({kBackend1, 100, 0, "", true, kNow});
  pool.hosts.push_back({kBackend2, 100, 0, "", true, kNow});  // an admin's
  EXPECT_EQ(a.held_down(pool), 1u);                           // backend 3 is not listed
}

TEST_F(SharedOwnershipTest, CapsKeepGarbageOut) {
  OwnershipState huge;
  for (std::size_t i = 0; i < kMaxClaims + 5; ++i)
    huge.claims.push_back(
        {IpAddress::v4({10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                        static_cast<std::uint8_t>(i)}),
         kB, kNow, "", false, kNow});
  SharedOwnership a(kA, kRetention);
  const auto change = a.merge(huge, kNow);
  EXPECT_EQ(a.state().claims.size(), kMaxClaims);
  ASSERT_EQ(change.problems.size(), 1u);
  EXPECT_NE(change.problems[0].find("5 ownership claims not taken"), std::string::npos);
}
