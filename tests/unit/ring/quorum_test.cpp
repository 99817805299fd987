#include "poolwatch/ring/quorum.hpp"

#include <gtest/gtest.h>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class QuorumTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = FakeClock::kUnixStart;

  // Each instance's list of backends it sees down; all see backends 1 to 3.
  RingVerdict verdict_of(const IpAddress& backend, const std::vector<IpAddress>& self_down,
                         const std::vector<std::vector<IpAddress>>& peers_down) {
    const std::vector<IpAddress> all{kBackend1, kBackend2, kBackend3};
    const auto self = peer_report(kA, kNow, votes(all, self_down, kNow));
    std::vector<PeerReport> peers;
    const InstanceId ids[] = {kB, kC, kD, kE};
    for (std::size_t i = 0; i < peers_down.size(); ++i)
      peers.push_back(peer_report(ids[i], kNow, votes(all, peers_down[i], kNow)));
    std::vector<const PeerReport*> pointers;
    for (const auto& peer : peers) pointers.push_back(&peer);
    return ring_verdicts(self, pointers, settings).at(backend);
  }

  RingSettings settings = ring_settings();
};

TEST_F(QuorumTest, DefaultQuorumIsAMajorityOfTheAnswering) {
  EXPECT_EQ(effective_quorum(settings, 1), 1u);
  EXPECT_EQ(effective_quorum(settings, 2), 2u);
  EXPECT_EQ(effective_quorum(settings, 3), 2u);
  EXPECT_EQ(effective_quorum(settings, 4), 3u);
  EXPECT_EQ(effective_quorum(settings, 5), 3u);
  settings.quorum = 3;
  EXPECT_EQ(effective_quorum(settings, 5), 3u);
  settings.quorum = 0;
  EXPECT_EQ(effective_quorum(settings, 5), 1u);
}

TEST_F(QuorumTest, DownWhenTheQuorumSeesItDown) {
  const auto ring = verdict_of(kBackend2, {kBackend2}, {{kBackend2}, {}});
  EXPECT_EQ(ring.verdict, Verdict::down);
  EXPECT_EQ(ring.votes_down, 2u);
  EXPECT_EQ(ring.votes_up, 1u);
  EXPECT_EQ(ring.quorum, 2u);
  EXPECT_EQ(ring.down_voters, (std::vector<InstanceId>{kA, kB}));
  EXPECT_EQ(ring.overruled, Overruled::no);
  EXPECT_NE(ring.reason.find("2 down, 1 up of 3 instances (quorum 2)"), std::string::npos);
  EXPECT_NE(ring.reason.find("127.0.0.21:9090: imap:143 connect_refused"), std::string::npos);
}

TEST_F(QuorumTest, UnreachableFromThisDirectorOnlyStaysUp) {
  const auto ring = verdict_of(kBackend1, {kBackend1}, {{}, {}});
  EXPECT_EQ(ring.verdict, Verdict::up);
  EXPECT_EQ(ring.local, Verdict::down);
  EXPECT_EQ(ring.overruled, Overruled::unreachable_from_here_only);
  EXPECT_EQ(to_string(ring.overruled), "unreachable_from_this_director_only");
}

TEST_F(QuorumTest, DownForAMinorityStaysUp) {
  // Four instances, two see it down, two up: neither reaches the quorum of 3, so the
  // director's U stays.
  const auto ring = verdict_of(kBackend1, {kBackend1}, {{kBackend1}, {}, {}});
  EXPECT_EQ(ring.voters, 4u);
  EXPECT_EQ(ring.quorum, 3u);
  EXPECT_EQ(ring.verdict, Verdict::unknown);
  EXPECT_EQ(ring.overruled, Overruled::no_quorum);
  // Five instances, this one and one other see it down, the three others keep it up.
  const auto minority = verdict_of(kBackend1, {kBackend1}, {{kBackend1}, {}, {}, {}});
  EXPECT_EQ(minority.verdict, Verdict::up);
  EXPECT_EQ(minority.overruled, Overruled::down_for_a_minority);
  EXPECT_EQ(minority.down_voters, (std::vector<InstanceId>{kA, kB}));
}

TEST_F(QuorumTest, AnotherInstancesMinorityViewDoesNotOverruleThisOne) {
  const auto ring = verdict_of(kBackend1, {}, {{kBackend1}, {}});
  EXPECT_EQ(ring.verdict, Verdict::up);
  EXPECT_EQ(ring.overruled, Overruled::no);
}

TEST_F(QuorumTest, UpIsSymmetric) {
  // Only this instance still reaches backend 3; the quorum sees it down.
  const auto ring = verdict_of(kBackend3, {}, {{kBackend3}, {kBackend3}});
  EXPECT_EQ(ring.verdict, Verdict::down);
  EXPECT_EQ(ring.overruled, Overruled::up_for_a_minority);
}

TEST_F(QuorumTest, StaleOrUnknownVerdictsAreNoVotes) {
  const std::vector<IpAddress> all{kBackend1};
  const auto self = peer_report(kA, kNow, votes(all, {kBackend1}, kNow));
  // b probed 121 s before its report: no vote; c has no verdict yet.
  const auto b = peer_report(kB, kNow, votes(all, {kBackend1}, kNow - 121));
  const auto c = peer_report(kC, kNow, {backend_vote(kBackend1, Verdict::unknown, kNow)});
  const auto ring = ring_verdicts(self, {&b, &c}, settings).at(kBackend1);
  EXPECT_EQ(ring.votes_down, 1u);
  EXPECT_EQ(ring.voters, 3u);
  EXPECT_EQ(ring.verdict, Verdict::unknown);
}

TEST_F(QuorumTest, ProbeAgeIsTakenByTheVotersOwnClock) {
  const std::vector<IpAddress> all{kBackend1};
  const auto self = peer_report(kA, kNow, votes(all, {kBackend1}, kNow));
  // b's clock is an hour ahead; its probe is 5 s old by its own clock.
  const auto b = peer_report(kB, kNow + 3600, votes(all, {kBackend1}, kNow + 3595));
  EXPECT_EQ(ring_verdicts(self, {&b}, settings).at(kBackend1).verdict, Verdict::down);
}

TEST_F(QuorumTest, AConfiguredQuorumBelowAMajorityWithConflictingViewsDoesNothing) {
  settings.quorum = 1;
  const auto ring = verdict_of(kBackend1, {kBackend1}, {{}, {}});
  EXPECT_EQ(ring.verdict, Verdict::unknown);
}

TEST_F(QuorumTest, AloneTheOwnVerdictIsTheRings) {
  const std::vector<IpAddress> all{kBackend1, kBackend2};
  const auto self = peer_report(kA, kNow, votes(all, {kBackend2}, kNow));
  const auto verdicts = ring_verdicts(self, {}, settings);
  EXPECT_EQ(verdicts.at(kBackend1).verdict, Verdict::up);
  EXPECT_EQ(verdicts.at(kBackend2).verdict, Verdict::down);
}

TEST_F(QuorumTest, PlannerVerdictsCarryTheRingsWord) {
  const auto ring = verdict_of(kBackend2, {kBackend2}, {{kBackend2}, {}});
  const auto planner = planner_verdicts({{kBackend2, ring}});
  EXPECT_EQ(planner.at(kBackend2).verdict, Verdict::down);
  EXPECT_EQ(planner.at(kBackend2).since_unix, kNow - 30);
  EXPECT_EQ(planner.at(kBackend2).reason, ring.reason);
}
