#include "poolwatch/service/not_run_episode.hpp"

#include <gtest/gtest.h>

using namespace poolwatch;
using namespace std::chrono_literals;

TEST(NotRunEpisode, ProbesThatRunAreNoEpisode) {
  NotRunEpisode episode;
  const NotRunEpisode::Clock::time_point start{};
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(episode.record(true, start + i * 1s), NotRunEpisode::Change::none);
  EXPECT_FALSE(episode.ongoing());
}

TEST(NotRunEpisode, OneStartForAnyNumberOfMisses) {
  NotRunEpisode episode;
  const NotRunEpisode::Clock::time_point start{};
  EXPECT_EQ(episode.record(false, start), NotRunEpisode::Change::started);
  for (int i = 1; i < 1000; ++i)
    EXPECT_EQ(episode.record(false, start), NotRunEpisode::Change::none);
  EXPECT_TRUE(episode.ongoing());
  EXPECT_EQ(episode.not_run(), 1000u);
}

TEST(NotRunEpisode, EndsOnlyAfterAQuietPeriodWithProbesRunning) {
  NotRunEpisode episode(60s);
  const NotRunEpisode::Clock::time_point start{};
  episode.record(false, start);
  // At the edge of the limit some probes get through: no end, no new start.
  for (int i = 1; i <= 30; ++i) {
    EXPECT_EQ(episode.record(true, start + i * 1s), NotRunEpisode::Change::none);
    EXPECT_EQ(episode.record(false, start + i * 1s), NotRunEpisode::Change::none);
  }
  EXPECT_EQ(episode.record(true, start + 89s), NotRunEpisode::Change::none);
  EXPECT_EQ(episode.record(true, start + 90s), NotRunEpisode::Change::ended);
  EXPECT_FALSE(episode.ongoing());
  EXPECT_EQ(episode.not_run(), 31u);
  EXPECT_EQ(episode.record(true, start + 91s), NotRunEpisode::Change::none);
}

TEST(NotRunEpisode, ANewEpisodeStartsAfresh) {
  NotRunEpisode episode(60s);
  const NotRunEpisode::Clock::time_point start{};
  episode.record(false, start);
  episode.record(false, start);
  episode.record(true, start + 60s);
  EXPECT_EQ(episode.record(false, start + 120s), NotRunEpisode::Change::started);
  EXPECT_EQ(episode.not_run(), 1u);
}
