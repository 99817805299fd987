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

// Probes due within one step of the grid start together, never early, at most one step
// late; a due time on the grid stays.
TEST(ProbeStartGrid, RoundsADueTimeUpToTheNextStep) {
  EXPECT_EQ(on_start_grid(kDue), kDue);
  EXPECT_EQ(on_start_grid(kDue + 1ns), kDue + kProbeStartGrid);
  EXPECT_EQ(on_start_grid(kDue + 1ms), kDue + kProbeStartGrid);
  EXPECT_EQ(on_start_grid(kDue + kProbeStartGrid - 1ns), kDue + kProbeStartGrid);
  EXPECT_EQ(on_start_grid(kDue + 7ms, 10ms), kDue + 10ms);
  for (auto offset = 0us; offset < 20ms; offset += 333us) {
    const auto due = kDue + offset;
    EXPECT_GE(on_start_grid(due), due);
    EXPECT_LT(on_start_grid(due) - due, kProbeStartGrid);
    EXPECT_EQ(on_start_grid(due).time_since_epoch() % kProbeStartGrid, SteadyDuration::zero());
  }
}

}  // namespace probe_lateness_test
}  // namespace poolwatch
