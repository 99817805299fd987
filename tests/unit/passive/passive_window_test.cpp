// The passive policy: passive.failures backend faults within passive.window, with no
// success in between, raise one suspicion; stepped with a hand-held clock.

#include "poolwatch/passive/passive_window.hpp"

#include <gtest/gtest.h>

using namespace poolwatch;
using namespace poolwatch::passive;
using namespace std::chrono_literals;

class PassiveWindowPolicy : public ::testing::Test {
 protected:
  const IpAddress backend = make_ip_address("10.0.3.1");
  const IpAddress other = make_ip_address("10.0.3.2");
  const SteadyTime t0 = SteadyTime{} + 1000s;
  PassiveWindow window{WindowPolicy{3, 10s}};

  std::optional<Suspicion> fault(SteadyTime at, const IpAddress* which = nullptr) {
    return window.record(which ? *which : backend, EventClass::backend_fault, at);
  }
};

TEST_F(PassiveWindowPolicy, ThreeFaultsWithinTheWindowRaiseOneSuspicion) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0 + 1s));
  const auto suspicion = fault(t0 + 2s);
  ASSERT_TRUE(suspicion);
  EXPECT_EQ(suspicion->faults, 3);
  EXPECT_EQ(suspicion->first_fault, t0);
  EXPECT_EQ(suspicion->last_fault, t0 + 2s);
  // The count starts again: the next fault alone raises nothing.
  EXPECT_FALSE(fault(t0 + 3s));
  EXPECT_FALSE(fault(t0 + 4s));
  EXPECT_TRUE(fault(t0 + 5s));
}

TEST_F(PassiveWindowPolicy, FaultsSpreadWiderThanTheWindowRaiseNothing) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0 + 6s));
  EXPECT_FALSE(fault(t0 + 12s));  // the first one is 12 s old: out of the window
  EXPECT_FALSE(fault(t0 + 19s));  // t0 + 6 s is 13 s old
  EXPECT_TRUE(fault(t0 + 20s));   // 12, 19, 20: within 10 s
}

TEST_F(PassiveWindowPolicy, ExactlyTheWindowApartStillCounts) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0 + 5s));
  EXPECT_TRUE(fault(t0 + 10s));
}

TEST_F(PassiveWindowPolicy, ASuccessInBetweenStartsTheCountAgain) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0 + 1s));
  EXPECT_FALSE(window.record(backend, EventClass::success, t0 + 1500ms));
  EXPECT_FALSE(fault(t0 + 2s));
  EXPECT_FALSE(fault(t0 + 3s));
  EXPECT_TRUE(fault(t0 + 4s));
}

TEST_F(PassiveWindowPolicy, UserFaultsAndIgnoredEventsNeitherCountNorClear) {
  for (int i = 0; i < 50; ++i)
    EXPECT_FALSE(window.record(backend, EventClass::user_fault, t0 + i * 10ms));
  EXPECT_EQ(window.tracked(), 0u);
  EXPECT_FALSE(fault(t0 + 1s));
  EXPECT_FALSE(window.record(backend, EventClass::user_fault, t0 + 1100ms));
  EXPECT_FALSE(window.record(backend, EventClass::ignored, t0 + 1200ms));
  EXPECT_FALSE(fault(t0 + 2s));
  EXPECT_TRUE(fault(t0 + 3s));
}

TEST_F(PassiveWindowPolicy, BackendsCountApart) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0, &other));
  EXPECT_FALSE(fault(t0 + 1s));
  EXPECT_FALSE(fault(t0 + 1s, &other));
  EXPECT_FALSE(window.record(other, EventClass::success, t0 + 1500ms));
  EXPECT_TRUE(fault(t0 + 2s));
  EXPECT_FALSE(fault(t0 + 2s, &other));
}

TEST_F(PassiveWindowPolicy, MemoryPerBackendStaysWithinTheCount) {
  PassiveWindow wide{WindowPolicy{100, 3600s}};
  for (int i = 0; i < 99; ++i) EXPECT_FALSE(wide.record(backend, EventClass::backend_fault, t0));
  EXPECT_TRUE(wide.record(backend, EventClass::backend_fault, t0));
  EXPECT_EQ(wide.tracked(), 0u);
}

TEST_F(PassiveWindowPolicy, ForgetAndRetainDropBackendsThatLeftThePool) {
  EXPECT_FALSE(fault(t0));
  EXPECT_FALSE(fault(t0, &other));
  EXPECT_EQ(window.tracked(), 2u);
  window.retain({backend});
  EXPECT_EQ(window.tracked(), 1u);
  window.forget(backend);
  EXPECT_EQ(window.tracked(), 0u);
  EXPECT_FALSE(fault(t0 + 1s));
  EXPECT_FALSE(fault(t0 + 2s));  // the fault before forget() is gone
  EXPECT_TRUE(fault(t0 + 3s));
}

TEST_F(PassiveWindowPolicy, OneFailureIsEnoughWhenConfiguredSo) {
  window.set_policy(WindowPolicy{1, 10s});
  EXPECT_TRUE(fault(t0));
  EXPECT_TRUE(fault(t0 + 1s));
}
