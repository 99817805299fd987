// What a probe result and a forgotten backend cost the metrics, counted rather than
// timed (issue 15): label keys looked up and series walked, through series_visits().
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "poolwatch/http/poolwatch_metrics.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch {
namespace metrics_cost_test {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

std::string backend(std::size_t i) {
  return "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
}

// A pool whose every backend had a probe result, a state and an action.
void fill(PoolwatchMetrics& m, std::size_t backends) {
  for (std::size_t i = 0; i < backends; ++i) {
    m.probe_result(backend(i), Protocol::imap, FailureClass::none, 3ms);
    m.backend_state(backend(i), "up");
    m.action_sent(director::HostCommand::up, backend(i), "ok");
  }
}

std::size_t visits_to_forget_one(std::size_t backends) {
  PoolwatchMetrics m;
  fill(m, backends);
  m.forget_backend(backend(5));  // builds the action counters' index by backend, once
  const auto before = m.registry().series_visits();
  m.forget_backend(backend(7));
  return m.registry().series_visits() - before;
}

TEST(MetricsCost, ForgettingABackendWalksOnlyItsOwnSeriesWhateverThePoolSize) {
  const auto small = visits_to_forget_one(20);
  EXPECT_EQ(visits_to_forget_one(3000), small);
  EXPECT_LT(small, 40u);  // the backend's own 7 series and a lookup per family, not a walk
}

TEST(MetricsCost, ARepeatedProbeResultLooksNoLabelsUp) {
  PoolwatchMetrics m;
  fill(m, 500);
  const auto before = m.registry().series_visits();
  for (std::size_t i = 0; i < 500; ++i) {
    m.probe_result(backend(i), Protocol::imap, FailureClass::none, 4ms);
    m.backend_state(backend(i), "up");
  }
  EXPECT_EQ(m.registry().series_visits() - before, 0u);
  const auto parsed = test::check_exposition(m.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("poolwatch_probe_results_total",
                         {{"backend", backend(499)}, {"protocol", "imap"}, {"outcome", "ok"}}),
            2);
  EXPECT_EQ(parsed.value("poolwatch_probe_duration_seconds_count",
                         {{"backend", backend(499)}, {"protocol", "imap"}}),
            2);
}

TEST(MetricsCost, ABackendForgottenAndBackHasFreshWholeSeries) {
  PoolwatchMetrics m;
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 1ms);
  m.backend_state("10.0.0.1", "up");
  m.forget_backend("10.0.0.1");
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 1ms);
  m.backend_state("10.0.0.1", "up");
  const auto parsed = test::check_exposition(m.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("poolwatch_probe_results_total",
                         {{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"outcome", "ok"}}),
            1);
  EXPECT_EQ(parsed.find("poolwatch_backend_state", {{"backend", "10.0.0.1"}}).size(), 4u);
  EXPECT_EQ(parsed.value("poolwatch_backend_state", {{"backend", "10.0.0.1"}, {"state", "up"}}), 1);
}

TEST(MetricsCost, AStateChangeAfterAnOddStateStaysOneHot) {
  PoolwatchMetrics m;
  m.backend_state("10.0.0.1", "up");
  m.backend_state("10.0.0.1", "weird");
  m.backend_state("10.0.0.1", "weird");
  m.backend_state("10.0.0.1", "down");
  const auto parsed = test::check_exposition(m.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  const auto series = parsed.find("poolwatch_backend_state", {{"backend", "10.0.0.1"}});
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(parsed.value("poolwatch_backend_state", {{"backend", "10.0.0.1"}, {"state", "down"}}),
            1);
  EXPECT_EQ(parsed.value("poolwatch_backend_state", {{"backend", "10.0.0.1"}, {"state", "up"}}), 0);
}

TEST(MetricsCost, WithoutPerBackendLatencyTheDurationsAreByProtocolOnly) {
  PoolwatchMetrics m(MetricsOptions{false});
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 20ms);
  m.probe_result("10.0.0.2", Protocol::imap, FailureClass::none, 40ms);
  m.probe_result("10.0.0.2", Protocol::pop3, FailureClass::none, 40ms);
  m.forget_backend("10.0.0.2");  // the pool-wide figures keep what it contributed
  const auto parsed = test::check_exposition(m.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("poolwatch_probe_duration_seconds_count", {{"protocol", "imap"}}), 2);
  EXPECT_EQ(parsed.value("poolwatch_probe_duration_seconds_count", {{"protocol", "pop3"}}), 1);
  EXPECT_TRUE(
      parsed.find("poolwatch_probe_duration_seconds_count", {{"backend", "10.0.0.1"}}).empty());
  // The other per-backend series stay.
  EXPECT_EQ(parsed.value("poolwatch_probe_results_total",
                         {{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"outcome", "ok"}}),
            1);
}

TEST(MetricsCost, ProbeLatenessIsAHistogramOfSeconds) {
  PoolwatchMetrics m;
  m.probe_lateness(0ms);
  m.probe_lateness(300ms);
  const auto parsed = test::check_exposition(m.render());
  ASSERT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("poolwatch_probe_lateness_seconds_count"), 2);
  EXPECT_EQ(parsed.value("poolwatch_probe_lateness_seconds_bucket", {{"le", "0.25"}}), 1);
  EXPECT_EQ(parsed.value("poolwatch_probe_lateness_seconds_bucket", {{"le", "0.5"}}), 2);
  EXPECT_DOUBLE_EQ(*parsed.value("poolwatch_probe_lateness_seconds_sum"), 0.3);
}

}  // namespace metrics_cost_test
}  // namespace poolwatch
