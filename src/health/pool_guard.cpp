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
                               double max_down_percent, std::vector<GuardCandidate> candidates) {
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::tie(a.failing_since, a.address) < std::tie(b.failing_since, b.address);
  });
  GuardDecision decision;
  decision.limit = guard_limit(pool_size, max_down_percent);
  decision.held_down = held_down;
  const std::size_t free_slots = decision.limit > held_down ? decision.limit - held_down : 0;
  for (auto& candidate : candidates) {
    if (decision.allowed.size() < free_slots) {
      decision.allowed.push_back(std::move(candidate));
      continue;
    }
    auto reason = fmt::format(
        "pool guard: {} of {} hosts already down by poolwatch and {} more going down this scan; "
        "max_down_percent {} allows {}",
        held_down, pool_size, decision.allowed.size(), max_down_percent, decision.limit);
    decision.blocked.push_back({std::move(candidate), std::move(reason)});
  }
  return decision;
}

}  // namespace poolwatch
