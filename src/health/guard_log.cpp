#include "poolwatch/health/guard_log.hpp"

#include <fmt/format.h>

namespace poolwatch {

namespace {

// "3 host(s): 10.0.0.2, 10.0.0.3, 10.0.0.4", the list cut after kAddressesShown.
std::string blocked_hosts(const GuardDecision& guard) {
  std::string list;
  const auto shown = std::min(guard.blocked.size(), GuardLog::kAddressesShown);
  for (std::size_t i = 0; i < shown; ++i)
    list += (i == 0 ? "" : ", ") + guard.blocked[i].candidate.address.to_string();
  if (guard.blocked.size() > shown)
    list += fmt::format(" and {} more", guard.blocked.size() - shown);
  return fmt::format("{} host(s): {}", guard.blocked.size(), list);
}

}  // namespace

std::optional<GuardLogLine> GuardLog::after_scan(const GuardDecision& guard,
                                                 Clock::time_point now) {
  const bool blocking = !guard.blocked.empty();
  const bool was_blocking = blocking_;
  blocking_ = blocking;
  if (!blocking && !was_blocking) return std::nullopt;
  if (!blocking) {
    return GuardLogLine{GuardLogLine::Level::warn,
                        fmt::format("pool guard: no longer blocking any HOST-DOWN ({})",
                                    guard_limit_reason(guard))};
  }
  if (!was_blocking) {
    last_line_ = now;
    return GuardLogLine{
        GuardLogLine::Level::error,
        fmt::format("pool guard: blocking HOST-DOWN of {}; {}; a summary follows at most every "
                    "{} s while it blocks",
                    blocked_hosts(guard), guard_limit_reason(guard), kSummaryPeriod.count())};
  }
  if (now - last_line_ < kSummaryPeriod) return std::nullopt;
  last_line_ = now;
  return GuardLogLine{GuardLogLine::Level::error,
                      fmt::format("pool guard: still blocking HOST-DOWN of {}; {}",
                                  blocked_hosts(guard), guard_limit_reason(guard))};
}

}  // namespace poolwatch
