#include "poolwatch/service/not_run_episode.hpp"

namespace poolwatch {

NotRunEpisode::Change NotRunEpisode::record(bool ran, Clock::time_point now) {
  if (!ran) {
    last_not_run_ = now;
    if (ongoing_) {
      ++not_run_;
      return Change::none;
    }
    ongoing_ = true;
    not_run_ = 1;
    return Change::started;
  }
  // A probe that gets through while others still miss does not end it: at the edge of
  // the limit, successes and misses interleave.
  if (!ongoing_ || now - last_not_run_ < quiet_) return Change::none;
  ongoing_ = false;
  return Change::ended;
}

}  // namespace poolwatch
