// Registry::render_some: /metrics made a slice at a time (issue 13, item 1) must be the
// same text as one render, and stay well-formed when series come and go between slices.
#include <gtest/gtest.h>

#include <string>

#include "poolwatch/http/metrics.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch {
namespace {

using metrics::Registry;
using metrics::RenderCursor;

class MetricsSlices : public ::testing::Test {
 protected:
  MetricsSlices()
      : up_(registry_.gauge("x_up", "Up.", {"backend"})),
        probes_(registry_.counter("x_probes_total", "Probes.", {"backend", "result"})),
        latency_(registry_.histogram("x_seconds", "Latency.", {"backend"}, {0.1, 1})),
        build_(registry_.gauge("x_build_info", "Build.")) {
    for (int i = 0; i < 10; ++i) {
      const auto backend = "10.0.0." + std::to_string(i);
      up_.set({backend}, i % 2);
      probes_.inc({backend, "ok"}, i);
      latency_.observe({backend}, 0.01 * i);
    }
    build_.set({}, 1);
  }

  // The whole text in slices of `budget` lines; `between` runs after each slice.
  template <typename F>
  std::string in_slices(std::size_t budget, F between, int* slices = nullptr) {
    std::string out;
    RenderCursor cursor;
    int count = 1;
    while (!registry_.render_some(out, cursor, budget)) {
      between();
      ++count;
      if (count > 10000) break;  // a cursor that never advances
    }
    if (slices) *slices = count;
    return out;
  }

  Registry registry_;
  metrics::GaugeFamily& up_;
  metrics::CounterFamily& probes_;
  metrics::HistogramFamily& latency_;
  metrics::GaugeFamily& build_;
};

TEST_F(MetricsSlices, EverySliceSizeGivesTheTextOfOneRender) {
  const auto whole = registry_.render();
  for (std::size_t budget : {0u, 1u, 2u, 3u, 5u, 7u, 50u, 1000u}) {
    int slices = 0;
    EXPECT_EQ(in_slices(
                  budget, [] {}, &slices),
              whole)
        << "budget " << budget;
    if (budget == 1) {
      EXPECT_GT(slices, 20);  // one series a slice, histograms included
    }
  }
}

TEST_F(MetricsSlices, SeriesRemovedOrAddedBetweenSlicesLeaveAWellFormedText) {
  int step = 0;
  auto text = in_slices(3, [&] {
    ++step;
    // The series the next slice would start at, and others, go; new ones come.
    up_.remove_matching("backend", "10.0.0." + std::to_string(step % 10));
    probes_.remove_matching("backend", "10.0.0." + std::to_string((step + 3) % 10));
    latency_.remove_matching("backend", "10.0.0." + std::to_string((step + 5) % 10));
    up_.set({"10.0.1." + std::to_string(step)}, 1);
  });
  auto parsed = test::check_exposition(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text() << "---\n" << text;
  EXPECT_EQ(parsed.value("x_build_info"), 1);
  EXPECT_GT(step, 5);
}

TEST_F(MetricsSlices, AnEmptiedFamilyStillGetsItsHeaderOnce) {
  std::string out;
  RenderCursor cursor;
  ASSERT_FALSE(registry_.render_some(out, cursor, 1));  // stops inside x_up
  up_.clear();
  while (!registry_.render_some(out, cursor, 1)) {
  }
  auto parsed = test::check_exposition(out);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text() << "---\n" << out;
}

}  // namespace
}  // namespace poolwatch
