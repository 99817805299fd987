#include "poolwatch/health/scan_cap_log.hpp"

#include <fmt/format.h>

#include "poolwatch/director/director_protocol.hpp"

namespace poolwatch {

namespace {

// "3 action(s): HOST-DOWN 10.0.0.2, HOST-DOWN 10.0.0.3, HOST-UP 10.0.0.4", cut after
// kActionsShown.
std::string postponed_actions(const std::vector<const SuppressedAction*>& postponed) {
  std::string list;
  const auto shown = std::min(postponed.size(), ScanCapLog::kActionsShown);
  for (std::size_t i = 0; i < shown; ++i)
    list += fmt::format("{}{} {}", i == 0 ? "" : ", ", director::command_name(postponed[i]->kind),
                        postponed[i]->address.to_string());
  if (postponed.size() > shown) list += fmt::format(" and {} more", postponed.size() - shown);
  return fmt::format("{} action(s): {}", postponed.size(), list);
}

}  // namespace

std::optional<std::string> ScanCapLog::after_scan(const std::vector<SuppressedAction>& suppressed,
                                                  int cap, Clock::time_point now) {
  std::vector<const SuppressedAction*> postponed;
  for (const auto& s : suppressed)
    if (s.because == SuppressedBecause::scan_cap) postponed.push_back(&s);
  const bool was_postponing = postponing_;
  postponing_ = !postponed.empty();
  if (!postponing_) {
    if (!was_postponing) return std::nullopt;
    return std::string("max_actions_per_scan: every postponed action has been sent");
  }
  if (was_postponing && now - last_line_ < kSummaryPeriod) return std::nullopt;
  last_line_ = now;
  return fmt::format("max_actions_per_scan {} {}: postponed to later scans: {}{}", cap,
                     was_postponing ? "still reached" : "reached", postponed_actions(postponed),
                     was_postponing
                         ? ""
                         : fmt::format("; a summary follows at most every {} s while it lasts",
                                       kSummaryPeriod.count()));
}

}  // namespace poolwatch
