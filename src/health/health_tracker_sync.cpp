// Making the tracked checks match the pool: in one call, or in steps for a pool so large
// that one call would hold the event loop (100 000 new backends took ~100 ms).

#include <algorithm>

#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch {

namespace {

template <typename Checks>
auto check_for(Checks& checks, const PortSpec& port) {
  return std::find_if(checks.begin(), checks.end(),
                      [&port](const auto& check) { return check.first == port; });
}

}  // namespace

SyncJob HealthTracker::begin_sync(std::vector<IpAddress> backends, std::vector<PortSpec> ports,
                                  std::set<IpAddress> start_down) {
  SyncJob job;
  // The director lists its hosts in address order already: then this is one pass.
  if (!std::is_sorted(backends.begin(), backends.end()))
    std::sort(backends.begin(), backends.end());
  backends.erase(std::unique(backends.begin(), backends.end()), backends.end());
  job.wanted = std::move(backends);
  for (const auto& port : ports)  // a port listed twice is one check
    if (std::find(job.ports.begin(), job.ports.end(), port) == job.ports.end())
      job.ports.push_back(port);
  job.start_down = std::move(start_down);
  return job;
}

SyncResult HealthTracker::sync(const std::vector<IpAddress>& backends,
                               const std::vector<PortSpec>& ports,
                               const std::set<IpAddress>& start_down, SteadyTime now,
                               std::int64_t unix_now) {
  auto job = begin_sync(backends, ports, start_down);
  return sync_some(job, job.wanted.size() + backends_.size() + 1, now, unix_now);
}

// A merge of two ordered lists, the tracked backends and the wanted ones, from where the
// last step stopped: a tracked backend that is not wanted is removed, a wanted one is
// added or has its checks matched to the ports.
SyncResult HealthTracker::sync_some(SyncJob& job, std::size_t max_backends, SteadyTime now,
                                    std::int64_t unix_now) {
  SyncResult result;
  auto tracked = job.last ? backends_.upper_bound(*job.last) : backends_.begin();
  for (std::size_t handled = 0; handled < max_backends; ++handled) {
    const bool more_wanted = job.next_wanted < job.wanted.size();
    if (tracked == backends_.end() && !more_wanted) {
      job.finished = true;
      break;
    }
    if (tracked != backends_.end() &&
        (!more_wanted || tracked->first < job.wanted[job.next_wanted])) {
      job.last = tracked->first;
      for (const auto& check : tracked->second.checks)
        result.removed.push_back({tracked->first, check.first});
      by_address_.erase(tracked->first);
      tracked = backends_.erase(tracked);
      continue;
    }
    const IpAddress& address = job.wanted[job.next_wanted++];
    job.last = address;
    if (tracked != backends_.end() && tracked->first == address) ++tracked;
    match_checks(address, job, now, unix_now, result);
  }
  return result;
}

void HealthTracker::match_checks(const IpAddress& address, const SyncJob& job, SteadyTime now,
                                 std::int64_t unix_now, SyncResult& result) {
  auto [it, inserted] = backends_.try_emplace(address);
  Backend& backend = it->second;
  if (inserted) by_address_.emplace(address, &backend);
  const bool down = inserted && job.start_down.contains(address);
  if (down) backend.verdict = {Verdict::down, unix_now, "held down by poolwatch before a restart"};
  std::vector<std::pair<PortSpec, CheckMachine>> checks;
  checks.reserve(job.ports.size());
  for (const auto& port : job.ports) {
    if (const auto existing = check_for(backend.checks, port); existing != backend.checks.end()) {
      checks.emplace_back(port, std::move(existing->second));
      continue;
    }
    checks.emplace_back(port, CheckMachine(check_label(port), config_, random_, now, down));
    result.added.push_back({address, port});
  }
  for (const auto& old_check : backend.checks)
    if (check_for(checks, old_check.first) == checks.end())
      result.removed.push_back({address, old_check.first});
  backend.checks = std::move(checks);
  if (auto t = reevaluate(address, backend, "checks reconfigured", unix_now))
    result.transitions.push_back(std::move(*t));
}

}  // namespace poolwatch
