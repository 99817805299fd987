#pragma once
// When the log speaks about actions that max_actions_per_scan postponed. When many hosts
// fail at once (poolwatch's own network, a rack) the cap holds back most of them for many
// scans; a warning per host per scan flooded the log. So the log gets one line when the
// cap starts postponing (how many, the first few), a summary at most once per
// kSummaryPeriod while it does, and one line when the backlog is gone. Each host's own
// reason stays in the plan (debug log, event log, metrics). Sans-io: the caller passes
// the time.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/health/action_planner.hpp"

namespace poolwatch {

class ScanCapLog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kSummaryPeriod{60};
  // The actions a line names; the rest are counted.
  static constexpr std::size_t kActionsShown = 5;

  // After each scan's plan: what it suppressed, the cap and the time. The line to log
  // now (a warning while postponing, info when the backlog is gone), if any.
  std::optional<std::string> after_scan(const std::vector<SuppressedAction>& suppressed, int cap,
                                        Clock::time_point now);

  bool postponing() const { return postponing_; }

 private:
  bool postponing_ = false;
  Clock::time_point last_line_{};
};

}  // namespace poolwatch
