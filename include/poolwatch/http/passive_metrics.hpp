#pragma once
// The metric families of passive health (docs/passive.md), registered only when
// passive.enabled is true. They live in the daemon's registry, so forgetting a backend
// that left the pool drops its passive series too.

#include <string_view>

#include "poolwatch/http/metrics.hpp"

namespace poolwatch {

class PassiveMetrics {
 public:
  explicit PassiveMetrics(metrics::Registry& registry);

  // A request to the events endpoint by result (PostResult's to_string).
  void post(std::string_view result);
  // A classified event of a backend in the pool; class: backend_fault, user_fault,
  // success or ignored.
  void event(std::string_view backend, std::string_view cls);
  // An event naming an address outside the pool (or none): counted, then dropped.
  void unknown_backend_event();
  void suspicion(std::string_view backend);
  void rapid_rounds_started(std::string_view backend, int checks);
  // A backend a passive signal made suspect went down: the worst case of active
  // detection minus the time it took from the first fault of the signal.
  void detection_saved(std::string_view backend, double seconds);

 private:
  metrics::CounterFamily& posts_;
  metrics::CounterFamily& events_;
  metrics::CounterFamily& unknown_;
  metrics::CounterFamily& suspicions_;
  metrics::CounterFamily& rapid_rounds_;
  metrics::CounterFamily& saved_;
};

}  // namespace poolwatch
