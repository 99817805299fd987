// worst_case_detection_time() against a simulated backend that fails every probe by
// running into the full timeout, with the largest jitter on every interval.

#include <gtest/gtest.h>

#include "poolwatch/health/health_tracker.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;

namespace {

// From the end of the last good probe (which answers instantly) until the check is down.
Seconds simulate_detection(const HealthConfig& config) {
  CheckMachine machine(
      "imap:143", config, [] { return 1.0; }, SteadyTime{});
  const SteadyTime good = machine.plan().due;
  machine.record(ProbeOutcome{}, good, 0);
  ProbeOutcome hung;
  hung.failure = FailureClass::timeout;
  for (int probe = 0; probe < 1000; ++probe) {
    const SteadyTime end = machine.plan().due + machine.plan().timeout;
    const auto t = machine.record(hung, end, 0);
    if (t && t->to == CheckState::down) return end - good;
  }
  ADD_FAILURE() << "never went down";
  return Seconds{0};
}

void expect_formula_matches(const HealthConfig& config) {
  EXPECT_NEAR(worst_case_detection_time(config).count(), simulate_detection(config).count(), 1e-6);
}

}  // namespace

TEST(HealthDetection, DefaultsTakeAtMostEightyOneAndAHalfSeconds) {
  // The first failing probe starts one jittered interval (10.5 s) after the last good one;
  // two more failures each take max(10.5 s, 10 s timeout); the third normal failure hangs
  // 10 s; then 8 rapid polls of 5 s each decide.
  const HealthConfig defaults;
  EXPECT_DOUBLE_EQ(worst_case_detection_time(defaults).count(), 10.5 + 2 * 10.5 + 10 + 8 * 5);
  expect_formula_matches(defaults);
}

TEST(HealthDetection, FormulaMatchesSimulationForCustomConfigs) {
  HealthConfig growth;
  growth.timeout = 3s;
  growth.timeout_growth = true;
  growth.retry_count = 5;
  expect_formula_matches(growth);

  HealthConfig suspect;
  suspect.suspect_interval = 2s;
  suspect.timeout = 1s;
  expect_formula_matches(suspect);

  HealthConfig no_rapid;
  no_rapid.rapid_rounds = 0;
  expect_formula_matches(no_rapid);
  EXPECT_DOUBLE_EQ(worst_case_detection_time(no_rapid).count(), 10.5 + 2 * 10.5 + 10);

  HealthConfig one_retry;
  one_retry.retry_count = 1;
  one_retry.rapid_interval = 7s;  // longer than the rapid timeout
  one_retry.rapid_fails_needed = 3;
  expect_formula_matches(one_retry);

  HealthConfig quick;
  quick.interval = 5s;
  quick.timeout = 2s;
  quick.jitter_percent = 20;
  quick.rapid_rounds = 4;
  quick.rapid_fails_needed = 4;
  quick.rapid_timeout = 500ms;
  expect_formula_matches(quick);
}
