#include "poolwatch/passive/passive_window.hpp"

#include <algorithm>

namespace poolwatch::passive {

void PassiveWindow::set_policy(WindowPolicy policy) {
  policy_ = policy;
  // A smaller count must not leave longer queues behind.
  const auto keep = static_cast<std::size_t>(std::max(1, policy_.failures));
  for (auto& [backend, times] : faults_)
    while (times.size() > keep) times.pop_front();
}

std::optional<Suspicion> PassiveWindow::record(const IpAddress& backend, EventClass cls,
                                               SteadyTime now) {
  if (cls == EventClass::success) {
    // A user got through: the faults before it were not the backend being down.
    faults_.erase(backend);
    return std::nullopt;
  }
  if (cls != EventClass::backend_fault) return std::nullopt;
  auto& times = faults_[backend];
  times.push_back(now);
  while (!times.empty() && now - times.front() > policy_.window) times.pop_front();
  const auto needed = static_cast<std::size_t>(std::max(1, policy_.failures));
  while (times.size() > needed) times.pop_front();
  if (times.size() < needed) return std::nullopt;
  Suspicion suspicion{static_cast<int>(times.size()), times.front(), times.back()};
  faults_.erase(backend);
  return suspicion;
}

void PassiveWindow::retain(const std::set<IpAddress>& pool) {
  for (auto it = faults_.begin(); it != faults_.end();) {
    if (pool.contains(it->first))
      ++it;
    else
      it = faults_.erase(it);
  }
}

}  // namespace poolwatch::passive
