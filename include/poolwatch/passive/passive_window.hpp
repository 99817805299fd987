#pragma once
// The passive policy per backend: `failures` backend faults within `window`, with no
// success in between, raise one signal. Pure logic: the caller passes the time of each
// event (a steady clock in the daemon, a hand-stepped one in tests). Memory is bounded
// by the caller's pool: it forgets backends that left it (retain()).

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/passive/classify.hpp"

namespace poolwatch::passive {

using SteadyTime = std::chrono::steady_clock::time_point;

struct WindowPolicy {
  int failures = 3;
  std::chrono::steady_clock::duration window = std::chrono::seconds(10);
};

// A signal: the faults that raised it, the first of them and the last.
struct Suspicion {
  int faults = 0;
  SteadyTime first_fault;
  SteadyTime last_fault;
};

class PassiveWindow {
 public:
  explicit PassiveWindow(WindowPolicy policy) : policy_(policy) {}
  void set_policy(WindowPolicy policy);

  // A classified event for a backend of the pool. Returns a suspicion when this fault
  // completes the count; the count then starts again from zero, so a backend that keeps
  // failing raises one signal per `failures` faults, not one per fault.
  std::optional<Suspicion> record(const IpAddress& backend, EventClass cls, SteadyTime now);
  // Forgets every backend not in the pool.
  void retain(const std::set<IpAddress>& pool);
  // Forgets one backend (it left the pool).
  void forget(const IpAddress& backend) { faults_.erase(backend); }
  std::size_t tracked() const { return faults_.size(); }

 private:
  WindowPolicy policy_;
  std::map<IpAddress, std::deque<SteadyTime>> faults_;  // each at most policy_.failures long
};

}  // namespace poolwatch::passive
