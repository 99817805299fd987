#pragma once
// Probes poolwatch cannot run come in episodes: the descriptor limit is reached, or
// memory or local ports run short, and probes fail alike until the pressure passes,
// often with some getting through in between. A line per probe made 12 MB of log a
// minute with 600 backends; this says when to log instead: once when an episode starts
// and once when probes have run for a quiet period without a miss.

#include <chrono>
#include <cstdint>

namespace poolwatch {

class NotRunEpisode {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Change { none, started, ended };

  explicit NotRunEpisode(Clock::duration quiet = std::chrono::minutes(1)) : quiet_(quiet) {}

  // One probe ended at `now`; `ran` is ProbeOutcome::ran(). Returns what to report.
  Change record(bool ran, Clock::time_point now);

  bool ongoing() const { return ongoing_; }
  // Probes that did not run in the current episode, or in the last one once it ended.
  std::uint64_t not_run() const { return not_run_; }

 private:
  Clock::duration quiet_;
  bool ongoing_ = false;
  std::uint64_t not_run_ = 0;
  Clock::time_point last_not_run_{};
};

}  // namespace poolwatch
