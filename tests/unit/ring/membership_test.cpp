#include "poolwatch/ring/membership.hpp"

#include <gtest/gtest.h>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class MembershipTest : public ::testing::Test {
 protected:
  static Membership member(const director::DirectorList& list) {
    auto result = membership_from(list, ring_settings());
    EXPECT_TRUE(result.membership) << result.error;
    return result.membership ? *result.membership : Membership{};
  }
  FakeClock clock;
};

TEST_F(MembershipTest, PeersAreTheOtherListedDirectorsAtThePeerPort) {
  const auto membership = member(director_list(kB, {kA, kB, kC}, {kC}));
  EXPECT_EQ(membership.self, kB);
  EXPECT_TRUE(membership.self_director_synced);
  EXPECT_EQ(membership.listed, 3u);
  EXPECT_FALSE(membership.alone());
  ASSERT_EQ(membership.peers.size(), 2u);
  EXPECT_EQ(membership.peers[0].id, kA);
  EXPECT_EQ(membership.peers[0].address, kA.ip);
  EXPECT_EQ(membership.peers[0].peer_port, 9168);
  EXPECT_TRUE(membership.peers[0].director_connected);
  EXPECT_FALSE(membership.peers[1].director_connected);
}

TEST_F(MembershipTest, FromARealDirectorList) {
  const auto parsed = director::parse_director_list(
      "127.0.0.1\t9090\tself\t0\tring synced\t0\n"
      "127.0.0.21\t9090\tleft\t0\tsynced\t0\t435\t109\t0\t18\t1795392854\t1795392854\n"
      "127.0.0.22\t9090\t\t1795393044\t\n127.0.0.23\t9090\tremoved\t0\t\n\n");
  ASSERT_TRUE(parsed.list) << parsed.error;
  const auto membership = member(*parsed.list);
  EXPECT_EQ(membership.listed, 3u);  // the removed director is not part of the ring
  ASSERT_EQ(membership.peers.size(), 2u);
  EXPECT_TRUE(membership.peers[0].director_connected);
  EXPECT_FALSE(membership.peers[1].director_connected);
}

TEST_F(MembershipTest, ASingleDirectorIsAlone) {
  const auto membership = member(director_list(kA, {kA}));
  EXPECT_TRUE(membership.alone());
  EXPECT_TRUE(membership.peers.empty());
}

TEST_F(MembershipTest, NoMembershipWithoutSelfOrPortOrWhenRemoved) {
  auto list = director_list(kA, {kA, kB});
  list.directors[0].self = false;
  EXPECT_NE(membership_from(list, ring_settings()).error.find("no line for this director"),
            std::string::npos);
  list = director_list(kA, {kA, kB});
  list.directors[0].removed = true;
  EXPECT_NE(membership_from(list, ring_settings()).error.find("removed"), std::string::npos);
  auto settings = ring_settings();
  settings.peer_port = 0;
  EXPECT_NE(membership_from(director_list(kA, {kA, kB}), settings).error.find("peer_port"),
            std::string::npos);
}

TEST_F(MembershipTest, TwoDirectorsOnOneAddressAreAProblemNotACrash) {
  const auto membership = member(director_list(kA, {kA, kB, instance("127.0.0.21", 9091)}));
  EXPECT_EQ(membership.listed, 3u);
  EXPECT_EQ(membership.peers.size(), 1u);
  ASSERT_EQ(membership.problems.size(), 1u);
  EXPECT_NE(membership.problems[0].find("127.0.0.21:9091"), std::string::npos);
}

TEST_F(MembershipTest, DirectorSyncToleratesABriefSync) {
  const auto settings = ring_settings();
  director::RingDirector self;
  self.address = kA.ip;
  self.self = true;
  self.status = director::LinkStatus::synced;
  EXPECT_TRUE(director_in_sync(self, settings));
  self.status = director::LinkStatus::syncing;
  self.last_sync_secs_ago = 3;
  EXPECT_TRUE(director_in_sync(self, settings));
  self.last_sync_secs_ago = 21;  // more than two 10 s intervals: the ring is broken
  EXPECT_FALSE(director_in_sync(self, settings));
  self.status = director::LinkStatus::handshaking;
  self.last_sync_secs_ago.reset();
  EXPECT_FALSE(director_in_sync(self, settings));
}

TEST_F(MembershipTest, PeersAnswerForTwoIntervals) {
  const auto membership = member(director_list(kA, {kA, kB, kC}));
  const auto settings = ring_settings();
  PeerTable table;
  EXPECT_FALSE(table.record(membership, kB, peer_report(kB, clock.unix_now()), clock.now()));
  clock.advance_seconds(10);
  EXPECT_FALSE(table.record(membership, kC, peer_report(kC, clock.unix_now()), clock.now()));
  EXPECT_EQ(table.answering(settings, clock.now()).size(), 2u);
  clock.advance_seconds(10);  // b's report is exactly two intervals old: still answering
  EXPECT_EQ(table.answering(settings, clock.now()).size(), 2u);
  clock.advance_seconds(0.001);
  const auto answering = table.answering(settings, clock.now());
  ASSERT_EQ(answering.size(), 1u);
  EXPECT_EQ(answering[0]->report.instance, kC);
}

TEST_F(MembershipTest, ReportsFromStrangersOrImpostorsAreRefused) {
  const auto membership = member(director_list(kA, {kA, kB}));
  PeerTable table;
  EXPECT_TRUE(table.record(membership, kC, peer_report(kC, clock.unix_now()), clock.now()));
  const auto refused = table.record(membership, kB, peer_report(kC, clock.unix_now()), clock.now());
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("answers as 127.0.0.22:9090"), std::string::npos);
  EXPECT_TRUE(table.answering(ring_settings(), clock.now()).empty());
}

TEST_F(MembershipTest, PeersThatLeaveTheRingAreForgotten) {
  PeerTable table;
  table.record(member(director_list(kA, {kA, kB, kC})), kC, peer_report(kC, 0), clock.now());
  table.retain_members(member(director_list(kA, {kA, kB})));
  EXPECT_EQ(table.last(kC), nullptr);
}
