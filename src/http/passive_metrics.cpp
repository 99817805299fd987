#include "poolwatch/http/passive_metrics.hpp"

#include <string>

namespace poolwatch {

PassiveMetrics::PassiveMetrics(metrics::Registry& registry)
    : posts_(registry.counter("poolwatch_passive_posts_total",
                              "Requests to the director events endpoint by result.", {"result"})),
      events_(registry.counter("poolwatch_passive_events_total",
                               "Director proxy events about backends of the pool, by class.",
                               {"backend", "class"})),
      unknown_(registry.counter("poolwatch_passive_unknown_backend_events_total",
                                "Director events naming no backend of the pool, dropped.")),
      suspicions_(registry.counter("poolwatch_passive_suspicions_total",
                                   "Times passive.failures backend faults within passive.window "
                                   "made a backend suspect.",
                                   {"backend"})),
      rapid_rounds_(registry.counter("poolwatch_passive_rapid_rounds_total",
                                     "Rapid rounds of checks started by a passive signal.",
                                     {"backend"})),
      saved_(registry.counter("poolwatch_passive_detection_saved_seconds_total",
                              "Seconds by which passive signals beat the worst case of active "
                              "detection, summed over the downs they led to.",
                              {"backend"})) {
  for (auto result : {"accepted", "bad_json", "too_large", "forbidden", "rate_limited", "not_found",
                      "bad_request"})
    posts_.touch({result});
  unknown_.touch({});
}

void PassiveMetrics::post(std::string_view result) {
  posts_.inc({std::string(result)});
}

void PassiveMetrics::event(std::string_view backend, std::string_view cls) {
  events_.inc({std::string(backend), std::string(cls)});
}

void PassiveMetrics::unknown_backend_event() {
  unknown_.inc({});
}

void PassiveMetrics::suspicion(std::string_view backend) {
  suspicions_.inc({std::string(backend)});
}

void PassiveMetrics::rapid_rounds_started(std::string_view backend, int checks) {
  if (checks > 0) rapid_rounds_.inc({std::string(backend)}, checks);
}

void PassiveMetrics::detection_saved(std::string_view backend, double seconds) {
  if (seconds > 0) saved_.inc({std::string(backend)}, seconds);
}

}  // namespace poolwatch
