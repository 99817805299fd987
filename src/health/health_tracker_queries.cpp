// What the rest of the daemon asks the tracker of a backend: its verdict or state by
// address (by hash: every probe asks), and pages of the pool in address order.
#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch {

HealthTracker::Backend* HealthTracker::find_backend(const IpAddress& address) {
  const auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : it->second;
}

const HealthTracker::Backend* HealthTracker::find_backend(const IpAddress& address) const {
  const auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : it->second;
}

std::map<IpAddress, BackendVerdict> HealthTracker::verdicts() const {
  std::map<IpAddress, BackendVerdict> result;
  for (const auto& [address, backend] : backends_) result.emplace(address, backend.verdict);
  return result;
}

const BackendVerdict* HealthTracker::verdict_of(const IpAddress& address) const {
  const Backend* backend = find_backend(address);
  return backend == nullptr ? nullptr : &backend->verdict;
}

std::optional<CheckState> HealthTracker::backend_state(const IpAddress& address) const {
  const Backend* backend = find_backend(address);
  if (backend == nullptr) return std::nullopt;
  return state_of(*backend);
}

std::array<std::size_t, 5> HealthTracker::state_counts() const {
  std::array<std::size_t, 5> counts{};
  for (const auto& entry : backends_) ++counts[static_cast<std::size_t>(state_of(entry.second))];
  return counts;
}

std::vector<BackendStatus> HealthTracker::status() const {
  return status(nullptr, backends_.size());
}

std::vector<BackendStatus> HealthTracker::status(const IpAddress* from, std::size_t max) const {
  std::vector<BackendStatus> result;
  for (auto it = from ? backends_.lower_bound(*from) : backends_.begin();
       it != backends_.end() && result.size() < max; ++it) {
    const auto& [address, backend] = *it;
    BackendStatus status{address, backend.verdict, state_of(backend), {}, backend.last_probe_unix};
    for (const auto& check : backend.checks) status.checks.push_back(check.second.status());
    result.push_back(std::move(status));
  }
  return result;
}

}  // namespace poolwatch
