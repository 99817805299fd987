#include "poolwatch/http/poolwatch_metrics.hpp"

#include <algorithm>

namespace poolwatch {

namespace {

// Probe dialogues include Dovecot's 2 s auth failure delay, so the buckets reach well
// past it up to the usual probe timeouts.
const std::vector<double> kProbeBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,    2.5,   5,    10,  30};
// A probe waits for the loop and for a probe.max_in_flight slot; the bound for
// 10 000 backends is 1 s late at most.
const std::vector<double> kLatenessBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                              0.5,   1,     2.5,  5,    10};
const std::vector<double> kScanBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

std::string str(std::string_view s) {
  return std::string(s);
}

}  // namespace

std::string_view outcome_label(FailureClass f) {
  switch (f) {
    case FailureClass::none:
      return "ok";
    case FailureClass::connect_refused:
      return "connect_refused";
    case FailureClass::connect_timeout:
      return "connect_timeout";
    case FailureClass::tls_handshake:
      return "tls_handshake";
    case FailureClass::tls_verify:
      return "tls_verify";
    case FailureClass::protocol_error:
      return "protocol_error";
    case FailureClass::auth_rejected:
      return "auth_rejected";
    case FailureClass::auth_temporary:
      return "auth_temporary";
    case FailureClass::timeout:
      return "timeout";
    case FailureClass::io_error:
      return "io_error";
    case FailureClass::config_error:
      return "config_error";
    case FailureClass::local_resource:
      return "local_resource";
  }
  return "unknown";
}

PoolwatchMetrics::PoolwatchMetrics(MetricsOptions options)
    : options_(options),
      probe_results_(registry_.counter("poolwatch_probe_results_total",
                                       "Finished probes by backend, protocol and outcome class.",
                                       {"backend", "protocol", "outcome"})),
      probe_duration_(registry_.histogram(
          "poolwatch_probe_duration_seconds", "Duration of whole probe dialogues.",
          options_.per_backend_latency ? std::vector<std::string>{"backend", "protocol"}
                                       : std::vector<std::string>{"protocol"},
          kProbeBuckets)),
      probe_lateness_(registry_.histogram(
          "poolwatch_probe_lateness_seconds",
          "How late each probe started after it was due (waiting for the event loop or "
          "for a probe.max_in_flight slot).",
          {}, kLatenessBuckets)),
      backend_state_(registry_.gauge("poolwatch_backend_state",
                                     "Health state of each backend, one-hot: 1 for the current "
                                     "state, 0 for the others.",
                                     {"backend", "state"})),
      cert_expiry_(registry_.gauge("poolwatch_tls_earliest_cert_expiry_seconds",
                                   "Unix time of the earliest notAfter in the certificate chains "
                                   "the backend's TLS checks presented.",
                                   {"backend"})),
      tls_handshakes_(registry_.counter("poolwatch_tls_handshakes_total",
                                        "TLS handshakes of probes, by whether they resumed a "
                                        "cached session.",
                                        {"resumed"})),
      transitions_(registry_.counter("poolwatch_backend_transitions_total",
                                     "Health state transitions by backend and new state.",
                                     {"backend", "to"})),
      actions_(registry_.counter("poolwatch_director_actions_total",
                                 "Commands sent to the director by action, backend and result.",
                                 {"action", "backend", "result"})),
      suppressed_(registry_.counter("poolwatch_actions_suppressed_total",
                                    "Actions the health logic wanted but did not send, by reason.",
                                    {"action", "backend", "reason"})),
      pool_guard_(registry_.gauge("poolwatch_pool_guard_engaged",
                                  "1 while the pool guard withholds HOST-DOWN actions.")),
      director_connected_(registry_.gauge("poolwatch_director_connected",
                                          "1 while the director-admin socket is connected.")),
      director_reconnects_(registry_.counter("poolwatch_director_reconnects_total",
                                             "Reconnections to the director-admin socket.")),
      pool_hosts_(
          registry_.gauge("poolwatch_pool_hosts", "Backends in the director's last HOST-LIST.")),
      pool_down_hosts_(registry_.gauge("poolwatch_pool_down_hosts",
                                       "Backends the director's last HOST-LIST marks down.")),
      vhost_count_(registry_.gauge("poolwatch_backend_vhost_count",
                                   "The backend's vhost count in the director.", {"backend"})),
      user_count_(registry_.gauge("poolwatch_backend_users",
                                  "Users the director currently maps to the backend.",
                                  {"backend"})),
      director_up_(registry_.gauge("poolwatch_backend_director_up",
                                   "The director's own up (1) or down (0) flag for the backend.",
                                   {"backend"})),
      scan_duration_(registry_.histogram("poolwatch_scan_duration_seconds",
                                         "Duration of one scan over the whole pool.", {},
                                         kScanBuckets)),
      probes_in_flight_(registry_.gauge("poolwatch_probes_in_flight", "Probes currently running.")),
      ring_role_(registry_.gauge("poolwatch_ring_role",
                                 "On a ring: this instance's role, one-hot (alone, actor, "
                                 "standby, isolated).",
                                 {"role"})),
      ring_peers_(registry_.gauge("poolwatch_ring_peers",
                                  "On a ring: directors listed by DIRECTOR-LIST, and instances "
                                  "answering, this one included.",
                                  {"state"})),
      ring_votes_(registry_.gauge("poolwatch_ring_votes",
                                  "On a ring: the instances voting the backend down or up.",
                                  {"backend", "verdict"})),
      ring_overruled_(registry_.gauge("poolwatch_ring_overruled",
                                      "On a ring: 1 while the ring's verdict on the backend "
                                      "differs from this instance's own, by why.",
                                      {"backend", "why"})),
      build_info_(registry_.gauge("poolwatch_build_info",
                                  "Always 1; the version label says which poolwatch runs.",
                                  {"version"})) {
  build_info_.set({POOLWATCH_VERSION}, 1);
  director_connected_.set({}, 0);
  director_reconnects_.touch({});
  pool_guard_.set({}, 0);
  probes_in_flight_.set({}, 0);
  pool_hosts_.set({}, 0);
  pool_down_hosts_.set({}, 0);
  tls_full_ = &tls_handshakes_.series({"false"});
  tls_resumed_ = &tls_handshakes_.series({"true"});
}

PoolwatchMetrics::BackendSeries& PoolwatchMetrics::series_of(std::string_view backend) {
  auto it = series_.find(backend);
  if (it == series_.end()) it = series_.emplace(str(backend), BackendSeries{}).first;
  return it->second;
}

double& PoolwatchMetrics::result_count(BackendSeries& series, std::string_view backend,
                                       Protocol protocol, FailureClass outcome) {
  // A check has one or two outcomes in its life, so a short list beats a map.
  for (auto& each : series.results)
    if (each.protocol == protocol && each.outcome == outcome) return *each.count;
  double& count =
      probe_results_.series({str(backend), str(to_string(protocol)), str(outcome_label(outcome))});
  series.results.push_back({protocol, outcome, &count});
  return count;
}

metrics::HistogramFamily::Series& PoolwatchMetrics::duration_series(BackendSeries& series,
                                                                    std::string_view backend,
                                                                    Protocol protocol) {
  const auto index = static_cast<std::size_t>(protocol);
  if (!options_.per_backend_latency) {
    auto& kept = protocol_durations_.at(index);
    if (!kept) kept = &probe_duration_.series({str(to_string(protocol))});
    return *kept;
  }
  auto& kept = series.durations.at(index);
  if (!kept) kept = &probe_duration_.series({str(backend), str(to_string(protocol))});
  return *kept;
}

void PoolwatchMetrics::probe_result(std::string_view backend, Protocol protocol,
                                    FailureClass outcome, std::chrono::duration<double> latency) {
  auto& series = series_of(backend);
  result_count(series, backend, protocol, outcome) += 1;
  // A probe that did not run took no time worth a bucket of the dialogues' durations.
  if (outcome != FailureClass::local_resource)
    probe_duration_.observe(duration_series(series, backend, protocol), latency.count());
}

void PoolwatchMetrics::probe_lateness(std::chrono::duration<double> late) {
  probe_lateness_.observe({}, late.count());
}

void PoolwatchMetrics::backend_state(std::string_view backend, std::string_view state) {
  // Called on every probe result, nearly always with the state the series already show.
  auto& series = series_of(backend);
  if (series.state == state) return;
  series.state = str(state);
  // Only a backend that had a non-standard state has its series dropped first, to drop
  // that one too; the references to the others go with them.
  if (auto odd = odd_states_.find(backend); odd != odd_states_.end()) {
    backend_state_.remove_matching("backend", backend);
    odd_states_.erase(odd);
    series.states = {};
  }
  bool known = false;
  for (std::size_t i = 0; i < std::size(kStates); ++i) {
    auto& value = series.states[i];
    if (!value) value = &backend_state_.series({str(backend), str(kStates[i])});
    *value = kStates[i] == state ? 1 : 0;
    known = known || kStates[i] == state;
  }
  if (!known) {
    backend_state_.set({str(backend), str(state)}, 1);
    odd_states_.insert(str(backend));
  }
}

void PoolwatchMetrics::transition(std::string_view backend, std::string_view /*from*/,
                                  std::string_view to) {
  transitions_.inc({str(backend), str(to)});
}

void PoolwatchMetrics::action_sent(director::HostCommand action, std::string_view backend,
                                   std::string_view result) {
  actions_.inc({str(to_string(action)), str(backend), str(result)});
}

void PoolwatchMetrics::action_suppressed(director::HostCommand action, std::string_view backend,
                                         SuppressedBecause reason) {
  suppressed_.inc({str(to_string(action)), str(backend), str(to_string(reason))});
}

void PoolwatchMetrics::pool_guard_engaged(bool engaged) {
  pool_guard_.set({}, engaged ? 1 : 0);
}

void PoolwatchMetrics::director_connected(bool connected) {
  director_connected_.set({}, connected ? 1 : 0);
}

void PoolwatchMetrics::director_reconnect() {
  director_reconnects_.inc({});
}

void PoolwatchMetrics::pool_host(const HostEntry& host, const std::string& backend) {
  vhost_count_.set({backend}, host.vhost_count);
  user_count_.set({backend}, host.user_count);
  if (host.down)
    director_up_.set({backend}, *host.down ? 0 : 1);
  else
    director_up_.remove({backend});  // a director before 2.2.19 does not say
}

void PoolwatchMetrics::pool_totals(const PoolSnapshot& snapshot) {
  double down = 0;
  for (const auto& host : snapshot.hosts) down += host.down.value_or(false) ? 1 : 0;
  pool_hosts_.set({}, static_cast<double>(snapshot.hosts.size()));
  pool_down_hosts_.set({}, down);
  // Each probed host gets its series as its first results come: grown one by one, the
  // table of 100 000 rehashed in a single step of 20 ms.
  series_.reserve(snapshot.hosts.size());
}

void PoolwatchMetrics::pool_end(std::set<std::string, std::less<>> listed) {
  for (const auto& gone : pool_backends_)
    if (!listed.contains(gone)) forget_backend(gone);
  pool_backends_ = std::move(listed);
}

void PoolwatchMetrics::pool(const PoolSnapshot& snapshot, const PoolSnapshot* previous) {
  pool_totals(snapshot);
  if (previous != nullptr && snapshot.same_addresses_as(*previous)) {
    // The same hosts in the same order, as nearly every scan: only figures that moved
    // (user counts, up/down) are set, so a scan costs a compare per host, not three
    // series lookups per host.
    for (std::size_t i = 0; i < snapshot.hosts.size(); ++i) {
      const auto& host = snapshot.hosts[i];
      const auto& before = previous->hosts[i];
      if (host.vhost_count != before.vhost_count || host.user_count != before.user_count ||
          host.down != before.down)
        pool_host(host, host.address.to_string());
    }
    return;
  }
  std::set<std::string, std::less<>> listed;
  for (const auto& host : snapshot.hosts) {
    auto backend = host.address.to_string();
    pool_host(host, backend);
    listed.insert(std::move(backend));
  }
  pool_end(std::move(listed));
}

void PoolwatchMetrics::scan_duration(std::chrono::duration<double> duration) {
  scan_duration_.observe({}, duration.count());
}

void PoolwatchMetrics::probes_in_flight(std::size_t n) {
  probes_in_flight_.set({}, static_cast<double>(n));
}

void PoolwatchMetrics::ring(std::string_view role, std::size_t listed, std::size_t answering,
                            const std::vector<RingBackendFigures>& backends) {
  for (const std::string_view each : {"alone", "actor", "standby", "isolated"})
    ring_role_.set({str(each)}, each == role ? 1 : 0);
  ring_peers_.set({"listed"}, static_cast<double>(listed));
  ring_peers_.set({"answering"}, static_cast<double>(answering));
  ring_votes_.clear();
  ring_overruled_.clear();
  for (const auto& backend : backends) {
    ring_votes_.set({backend.backend, "down"}, static_cast<double>(backend.votes_down));
    ring_votes_.set({backend.backend, "up"}, static_cast<double>(backend.votes_up));
    if (!backend.overruled.empty()) ring_overruled_.set({backend.backend, backend.overruled}, 1);
  }
}

void PoolwatchMetrics::cert_expiry(std::string_view backend, std::int64_t not_after) {
  auto& series = series_of(backend);
  if (!series.cert_expiry) series.cert_expiry = &cert_expiry_.series({str(backend)});
  *series.cert_expiry = static_cast<double>(not_after);
}

void PoolwatchMetrics::tls_handshakes(std::size_t full, std::size_t resumed) {
  *tls_full_ = static_cast<double>(full);
  *tls_resumed_ = static_cast<double>(resumed);
}

void PoolwatchMetrics::forget_backend(std::string_view backend) {
  registry_.remove_matching("backend", backend);
  if (auto kept = series_.find(backend); kept != series_.end()) series_.erase(kept);
  if (auto odd = odd_states_.find(backend); odd != odd_states_.end()) odd_states_.erase(odd);
}

}  // namespace poolwatch
