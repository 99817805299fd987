// Allow-list entries: parsing and membership, IPv4-mapped peers included.

#include "poolwatch/common/ip_network.hpp"

#include <gtest/gtest.h>

#include "poolwatch/common/token_bucket.hpp"

using namespace poolwatch;

TEST(IpNetworkParse, AcceptsBlocksAndSingleAddresses) {
  for (const char* text : {"127.0.0.0/8", "10.1.2.3", "0.0.0.0/0", "::1/128", "fd00::/8", "::1"})
    EXPECT_TRUE(IpNetwork::parse(text)) << text;
  EXPECT_EQ(IpNetwork::parse("10.1.2.3")->to_string(), "10.1.2.3/32");
}

TEST(IpNetworkParse, RefusesHostBitsPrefixesPastTheWidthAndNames) {
  for (const char* text : {"127.0.0.1/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
                           "10.0.0.0/8x", "localhost", "", "/8", "fe80::1%1/128", "10.0.0.0/0008"})
    EXPECT_FALSE(IpNetwork::parse(text)) << text;
}

TEST(IpNetworkContains, MatchesByPrefix) {
  const auto loopback = *IpNetwork::parse("127.0.0.0/8");
  EXPECT_TRUE(loopback.contains(make_ip_address("127.0.1.2")));
  EXPECT_FALSE(loopback.contains(make_ip_address("128.0.0.1")));
  EXPECT_TRUE(loopback.contains(make_ip_address("::ffff:127.0.0.1")));  // dual-stack peer
  EXPECT_FALSE(loopback.contains(make_ip_address("::1")));
  const auto odd = *IpNetwork::parse("10.0.0.128/25");
  EXPECT_TRUE(odd.contains(make_ip_address("10.0.0.200")));
  EXPECT_FALSE(odd.contains(make_ip_address("10.0.0.127")));
  const auto v6 = *IpNetwork::parse("::1/128");
  EXPECT_TRUE(v6.contains(make_ip_address("::1")));
  EXPECT_FALSE(v6.contains(make_ip_address("127.0.0.1")));
  EXPECT_TRUE(any_contains({loopback, v6}, make_ip_address("::1")));
  EXPECT_FALSE(any_contains({}, make_ip_address("::1")));
}

TEST(TokenBucketRate, CapsABurstAndRefillsWithTime) {
  TokenBucket bucket(10, 10);
  const auto t0 = TokenBucket::Clock::time_point{} + std::chrono::seconds(100);
  int taken = 0;
  for (int i = 0; i < 100; ++i) taken += bucket.try_take(t0) ? 1 : 0;
  EXPECT_EQ(taken, 10);
  EXPECT_FALSE(bucket.try_take(t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(bucket.try_take(t0 + std::chrono::milliseconds(100)));
  taken = 0;
  for (int i = 0; i < 100; ++i) taken += bucket.try_take(t0 + std::chrono::seconds(60)) ? 1 : 0;
  EXPECT_EQ(taken, 10);  // never more than the burst, however long it rested
}
