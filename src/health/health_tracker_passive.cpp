// The passive signal's entry into the check machine (docs/passive.md): kept apart from
// the retry and rapid-round machine it starts, which stays as dovemon has it.

#include <fmt/format.h>

#include <algorithm>

#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch {

std::optional<CheckTransition> CheckMachine::suspect_now(const std::string& cause, bool down_now,
                                                         SteadyTime now, std::int64_t unix_now) {
  if (state_ == CheckState::rapid || state_ == CheckState::down) return std::nullopt;
  plan_.due = now;
  if (down_now) {
    consecutive_failures_ = std::max(consecutive_failures_, 1);
    auto t = move_to(CheckState::down,
                     fmt::format("{}: {}, down (passive.may_down)", label_, cause), unix_now);
    plan_.due = now + std::chrono::round<SteadyDuration>(
                          config_->down_interval.value_or(config_->interval));
    plan_.timeout = timeout_for_state();
    return t;
  }
  if (config_->rapid_rounds <= 0) {
    auto t =
        move_to(CheckState::suspect, fmt::format("{}: {}, probing now", label_, cause), unix_now);
    plan_.timeout = timeout_for_state();
    return t;
  }
  rapid_polls_ = 0;
  rapid_failures_ = 0;
  auto t = move_to(CheckState::rapid, fmt::format("{}: {}, entering rapid round", label_, cause),
                   unix_now);
  plan_.timeout = timeout_for_state();
  return t;
}

PassiveSignalResult HealthTracker::suspect_now(const IpAddress& address, const std::string& cause,
                                               bool down_now, SteadyTime now,
                                               std::int64_t unix_now) {
  PassiveSignalResult result;
  Backend* backend = find_backend(address);
  if (backend == nullptr) return result;
  result.tracked = true;
  for (auto& [port, machine] : backend->checks) {
    auto transition = machine.suspect_now(cause, down_now, now, unix_now);
    if (!transition) continue;
    if (transition->to == CheckState::rapid) ++result.rapid_rounds_started;
    if (transition->to != CheckState::down) result.woken.push_back({address, port});
    result.checks.emplace_back(CheckId{address, port}, std::move(*transition));
  }
  if (!result.checks.empty())
    result.backend = reevaluate(address, *backend, result.checks.back().second.reason, unix_now);
  return result;
}

}  // namespace poolwatch
