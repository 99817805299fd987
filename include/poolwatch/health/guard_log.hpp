#pragma once
// When the log speaks about the pool guard. While poolwatch's own network is broken the
// guard blocks most of the pool every scan; one error line per blocked host per scan made
// 39 000 lines in 40 s. So the log gets one line when the guard starts blocking (how
// many, which, why), one when it stops, and while it blocks a summary at most once per
// kSummaryPeriod. The per-host reasons stay in the plan (debug log, event log, metrics).
// Sans-io: the caller passes the time.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "poolwatch/health/pool_guard.hpp"

namespace poolwatch {

struct GuardLogLine {
  enum class Level { warn, error };
  Level level = Level::error;
  std::string text;
};

class GuardLog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kSummaryPeriod{60};
  // The addresses a line names; the rest are counted.
  static constexpr std::size_t kAddressesShown = 5;

  // After each scan's plan: the guard's decision on it and the time. The line to log
  // now, if any.
  std::optional<GuardLogLine> after_scan(const GuardDecision& guard, Clock::time_point now);

  bool blocking() const { return blocking_; }

 private:
  bool blocking_ = false;
  Clock::time_point last_line_{};
};

}  // namespace poolwatch
