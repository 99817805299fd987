// poolwatch_probe_lateness_seconds observes lateness(): how late a probe started.
#include <gtest/gtest.h>

#include <chrono>

#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch {
namespace probe_lateness_test {

using namespace std::chrono_literals;

const SteadyTime kDue = SteadyTime{} + 1000s;

TEST(ProbeLateness, IsTheTimeFromDueToStart) {
  const ProbePlan plan{kDue, 5s};
  EXPECT_EQ(lateness(plan, kDue + 250ms), 250ms);
  EXPECT_EQ(lateness(plan, kDue + 3s), 3s);
}

TEST(ProbeLateness, AProbeStartedOnTimeOrEarlyWasNotLate) {
  const ProbePlan plan{kDue, 5s};
  EXPECT_EQ(lateness(plan, kDue), SteadyDuration::zero());
  EXPECT_EQ(lateness(plan, kDue - 2s), SteadyDuration::zero());
}

}  // namespace probe_lateness_test
}  // namespace poolwatch
