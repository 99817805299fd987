// PoolSnapshot::find looks hosts up by an index built on first use: it must give the
// same answers as a walk whatever the order of the hosts, and notice a refilled list.
#include "poolwatch/director/pool.hpp"

#include <gtest/gtest.h>

namespace poolwatch {
namespace {

TEST(PoolSnapshot, FindsEveryHostInAnyOrderAndNoOther) {
  PoolSnapshot pool;
  for (const char* ip : {"10.0.0.3", "::1", "10.0.0.1", "10.0.0.20", "10.0.0.2"})
    pool.hosts.push_back(HostEntry{make_ip_address(ip), 1, 0, ip, false, 0});
  for (const auto& h : pool.hosts) {
    const auto* found = pool.find(h.address);
    ASSERT_NE(found, nullptr) << h.tag;
    EXPECT_EQ(found, &h);
  }
  EXPECT_EQ(pool.find(make_ip_address("10.0.0.4")), nullptr);
  EXPECT_EQ(pool.find(make_ip_address("::2")), nullptr);
  EXPECT_EQ(PoolSnapshot{}.find(make_ip_address("10.0.0.1")), nullptr);
}

TEST(PoolSnapshot, FindFollowsHostsAddedOrReplacedAfterALookup) {
  PoolSnapshot pool;
  pool.hosts.push_back(HostEntry{make_ip_address("10.0.0.1"), 1, 0, "", false, 0});
  ASSERT_NE(pool.find(make_ip_address("10.0.0.1")), nullptr);
  pool.hosts.push_back(HostEntry{make_ip_address("10.0.0.2"), 1, 0, "", false, 0});
  EXPECT_NE(pool.find(make_ip_address("10.0.0.2")), nullptr);
  pool.hosts = {HostEntry{make_ip_address("10.0.0.9"), 1, 0, "", false, 0}};
  EXPECT_EQ(pool.find(make_ip_address("10.0.0.1")), nullptr);
  EXPECT_NE(pool.find(make_ip_address("10.0.0.9")), nullptr);

  PoolSnapshot copy = pool;  // its own index, into its own hosts
  const auto* found = copy.find(make_ip_address("10.0.0.9"));
  EXPECT_EQ(found, copy.hosts.data());
  PoolSnapshot moved = std::move(copy);
  EXPECT_EQ(moved.find(make_ip_address("10.0.0.9")), moved.hosts.data());
}

}  // namespace
}  // namespace poolwatch
