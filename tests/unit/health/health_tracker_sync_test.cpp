// A sync in steps (HealthTracker::sync_some): each step handles at most the backends it is
// given, whatever their mix of new, kept and vanished ones, and the steps together make
// the same set as one sync() would, keeping the state of the checks that stay.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "poolwatch/health/health_tracker.hpp"

using namespace poolwatch;

namespace tracker_sync_test {

const PortSpec kImap{Protocol::imap, 143, TlsMode::plain};
const PortSpec kPop3{Protocol::pop3, 110, TlsMode::plain};
constexpr std::int64_t kUnix = 1'700'000'000;

IpAddress host(int n) {
  return make_ip_address("10.0.0." + std::to_string(n));
}

std::vector<IpAddress> hosts(std::initializer_list<int> numbers) {
  std::vector<IpAddress> out;
  for (const int n : numbers) out.push_back(host(n));
  return out;
}

std::vector<IpAddress> tracked(const HealthTracker& tracker) {
  std::vector<IpAddress> out;
  for (const auto& backend : tracker.status()) out.push_back(backend.address);
  return out;
}

class TrackerSyncSteps : public ::testing::Test {
 protected:
  HealthConfig config_;
  HealthTracker tracker_{config_, [] { return 0.5; }};
  SteadyTime now_{};

  // Every step of a job of at most `per_step` backends: the results, in order.
  std::vector<SyncResult> steps(SyncJob& job, std::size_t per_step) {
    std::vector<SyncResult> out;
    for (int guard = 0; !job.finished && guard < 100; ++guard)
      out.push_back(tracker_.sync_some(job, per_step, now_, kUnix));
    EXPECT_TRUE(job.finished);
    return out;
  }
};

TEST_F(TrackerSyncSteps, EachStepHandlesAtMostItsShareOfBackends) {
  tracker_.sync(hosts({2, 4, 6, 8}), {kImap}, {}, now_, kUnix);
  // 2 and 8 stay, 4 and 6 go, 1, 3, 5, 7 and 9 come: nine backends to handle.
  auto job = HealthTracker::begin_sync(hosts({9, 7, 1, 2, 3, 5, 8}), {kImap}, {});
  const auto results = steps(job, 2);
  ASSERT_EQ(results.size(), 5U);  // 2 + 2 + 2 + 2 + 1, and the last step finds the end
  std::size_t added = 0, removed = 0;
  for (const auto& step : results) {
    EXPECT_LE(step.added.size() + step.removed.size(), 2U);
    added += step.added.size();
    removed += step.removed.size();
  }
  EXPECT_EQ(added, 5U);
  EXPECT_EQ(removed, 2U);
  EXPECT_EQ(tracked(tracker_), hosts({1, 2, 3, 5, 7, 8, 9}));
}

TEST_F(TrackerSyncSteps, BetweenStepsTheSetIsPartOldPartNewAndRecordsStillCount) {
  tracker_.sync(hosts({1, 2, 3}), {kImap}, {}, now_, kUnix);
  auto job = HealthTracker::begin_sync(hosts({2, 3, 4}), {kImap}, {});
  const auto first = tracker_.sync_some(job, 1, now_, kUnix);
  ASSERT_EQ(first.removed.size(), 1U);
  EXPECT_EQ(first.removed[0].address, host(1));
  EXPECT_FALSE(job.finished);
  EXPECT_EQ(tracked(tracker_), hosts({2, 3}));
  // A probe result between steps lands on the check, which the next steps keep.
  const auto ok = tracker_.record({host(3), kImap}, ProbeOutcome{}, now_, kUnix);
  ASSERT_TRUE(ok.check);
  steps(job, 1);
  EXPECT_EQ(tracked(tracker_), hosts({2, 3, 4}));
  EXPECT_EQ(tracker_.verdict_of(host(3))->verdict, Verdict::up);
  EXPECT_EQ(tracker_.verdict_of(host(4))->verdict, Verdict::unknown);
}

TEST_F(TrackerSyncSteps, StepsMakeWhatOneSyncMakes) {
  HealthTracker whole{config_, [] { return 0.5; }};
  const auto before = hosts({3, 1, 4, 15, 9, 2, 6});
  const auto after = hosts({2, 7, 1, 8, 2, 8, 18, 28});  // unsorted, with duplicates
  tracker_.sync(before, {kImap}, {}, now_, kUnix);
  whole.sync(before, {kImap}, {}, now_, kUnix);
  const auto one = whole.sync(after, {kPop3, kImap, kPop3}, {host(18)}, now_, kUnix);
  auto job = HealthTracker::begin_sync(after, {kPop3, kImap, kPop3}, {host(18)});
  std::vector<CheckId> added, removed;
  for (const auto& step : steps(job, 3)) {
    added.insert(added.end(), step.added.begin(), step.added.end());
    removed.insert(removed.end(), step.removed.begin(), step.removed.end());
  }
  EXPECT_EQ(tracked(tracker_), tracked(whole));
  EXPECT_EQ(added, one.added);
  EXPECT_EQ(removed, one.removed);
  EXPECT_EQ(tracker_.verdict_of(host(18))->verdict, Verdict::down);  // held before a restart
  for (const auto& backend : tracker_.status()) {
    ASSERT_EQ(backend.checks.size(), 2U) << backend.address.to_string();
    EXPECT_EQ(backend.checks[0].label, check_label(kPop3));  // config order, each port once
  }
}

TEST_F(TrackerSyncSteps, AJobForNothingRemovesEverythingAndFinishes) {
  tracker_.sync(hosts({1, 2}), {kImap, kPop3}, {}, now_, kUnix);
  auto job = HealthTracker::begin_sync({}, {kImap}, {});
  const auto results = steps(job, 10);
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].removed.size(), 4U);
  EXPECT_TRUE(tracker_.status().empty());
}

// The lookups of a probe (plan, record, state) go through an index by hash beside the
// ordered set: after any mix of steps, exactly the tracked backends are found.
TEST_F(TrackerSyncSteps, LookupsFindExactlyTheTrackedBackendsAfterEveryStep) {
  std::mt19937 random(11);
  std::bernoulli_distribution keep(0.5);
  std::uniform_int_distribution<std::size_t> per_step(1, 7);
  for (int round = 0; round < 50; ++round) {
    std::vector<IpAddress> wanted;
    for (int n = 1; n <= 40; ++n)
      if (keep(random)) wanted.push_back(host(n));
    auto job = HealthTracker::begin_sync(wanted, {kImap}, {});
    while (!job.finished) {
      tracker_.sync_some(job, per_step(random), now_, kUnix);
      const auto now_tracked = tracked(tracker_);
      for (int n = 1; n <= 40; ++n) {
        const bool is_tracked =
            std::find(now_tracked.begin(), now_tracked.end(), host(n)) != now_tracked.end();
        ASSERT_EQ(tracker_.backend_state(host(n)).has_value(), is_tracked) << n;
        ASSERT_EQ(tracker_.contains({host(n), kImap}), is_tracked) << n;
        ASSERT_EQ(tracker_.verdict_of(host(n)) != nullptr, is_tracked) << n;
      }
    }
    ASSERT_EQ(tracked(tracker_), wanted);
  }
}

}  // namespace tracker_sync_test
