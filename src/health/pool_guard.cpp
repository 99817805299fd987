#include "poolwatch/health/pool_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace poolwatch {

std::size_t guard_limit(std::size_t pool_size, double max_down_percent) {
  const double pct = std::clamp(max_down_percent, 0.0, 100.0);
  // The epsilon keeps 10 hosts x 30 % at 3 when the product is 2.9999999999999996.
  const double allowed = std::floor(static_cast<double>(pool_size) * pct / 100 + 1e-9);
  return std::min(pool_size, static_cast<std::size_t>(allowed));
}

GuardDecision apply_pool_guard(std::size_t pool_size, std::size_t held_down,
                               double max_down_percent, std::vector<GuardCandidate> candidates,
                               GuardCounts counts) {
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::tie(a.failing_since, a.address) < std::tie(b.failing_since, b.address);
  });
  GuardDecision decision;
  decision.pool_size = pool_size;
  decision.max_down_percent = max_down_percent;
  decision.counts = counts;
  decision.limit = guard_limit(pool_size, max_down_percent);
  decision.held_down = held_down;
  const std::size_t free_slots = decision.limit > held_down ? decision.limit - held_down : 0;
  std::vector<GuardCandidate> over;
  for (auto& candidate : candidates) {
    if (decision.allowed.size() < free_slots)
      decision.allowed.push_back(std::move(candidate));
    else
      over.push_back(std::move(candidate));
  }
  // Every allowed host is known now, and the reason says how many.
  const auto reason = "pool guard: " + guard_limit_reason(decision);
  for (auto& candidate : over) decision.blocked.push_back({std::move(candidate), reason});
  return decision;
}

std::string guard_limit_reason(const GuardDecision& decision) {
  return fmt::format(
      "{} of {} hosts already down {} and {} more going down this scan; max_down_percent {} "
      "allows {}",
      decision.held_down, decision.pool_size,
      decision.counts == GuardCounts::all ? "in the director (max_down_counts: all)"
                                          : "by poolwatch",
      decision.allowed.size(), decision.max_down_percent, decision.limit);
}

}  // namespace poolwatch
