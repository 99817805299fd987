#pragma once
// The named metrics of the daemon. The rest of poolwatch calls these methods and never
// touches metric names or labels itself, so the names live in one place (and the alert
// rules and the dashboard are checked against them by a test).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "poolwatch/director/director_protocol.hpp"
#include "poolwatch/director/pool.hpp"
#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/http/metrics.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

// The outcome label of a probe: "ok" or the failure class in snake_case
// ("connect_refused", "auth_temporary", ...).
std::string_view outcome_label(FailureClass f);

struct MetricsOptions {
  // poolwatch_probe_duration_seconds by backend and protocol, or by protocol only: 15
  // lines per check, most of /metrics on a large pool (metrics.per_backend_latency).
  bool per_backend_latency = true;
};

class PoolwatchMetrics {
 public:
  // The states backend_state() reports one-hot. Another state name is exported too,
  // as an extra series, rather than dropped.
  static constexpr std::string_view kStates[] = {"up", "suspect", "rapid", "down"};

  explicit PoolwatchMetrics(MetricsOptions options = {});

  // One finished probe of one port of a backend; one that did not run (local_resource)
  // is counted, but its duration is not observed.
  void probe_result(std::string_view backend, Protocol protocol, FailureClass outcome,
                    std::chrono::duration<double> latency);
  void backend_state(std::string_view backend, std::string_view state);
  // Unix time of the earliest notAfter over the backend's TLS checks (blackbox_exporter's
  // probe_ssl_earliest_cert_expiry); set on every TLS probe, so a backend forgotten and
  // back has it again at its next one.
  void cert_expiry(std::string_view backend, std::int64_t not_after);
  // The TLS handshakes of every probe so far, full and resumed: TlsContextCache's
  // totals, which only grow. Whether session resumption works against the backends,
  // and how much of the handshake cost it saves, shows as the resumed share.
  void tls_handshakes(std::size_t full, std::size_t resumed);
  // How late a probe started after it was due (health_tracker.hpp's lateness()).
  void probe_lateness(std::chrono::duration<double> late);
  void transition(std::string_view backend, std::string_view from, std::string_view to);
  // The labels are the enums' to_string: action "down", "up", "flush", "reset_users";
  // reason "pool_guard", "dry_run", "manual_down", "cap"; result "ok" or the
  // DirectorReplyStatus of a failure ("error", "ring_sync_timeout", ...).
  void action_sent(director::HostCommand action, std::string_view backend, std::string_view result);
  void action_suppressed(director::HostCommand action, std::string_view backend,
                         SuppressedBecause reason);
  void pool_guard_engaged(bool engaged);
  void director_connected(bool connected);
  void director_reconnect();
  // Exports the director's view of the pool; backends that were in the previous
  // snapshot and are missing from this one are forgotten. `previous`, when given, is the
  // snapshot last passed here: with the same hosts in the same order only the figures
  // that differ from it are set.
  void pool(const PoolSnapshot& snapshot, const PoolSnapshot* previous = nullptr);
  // pool() in pieces, so a caller can spread a large pool over turns of its loop:
  // pool_totals, pool_host for every host (in any number of steps), then pool_end with
  // the backends listed, which forgets the ones exported before and no longer listed.
  void pool_totals(const PoolSnapshot& snapshot);
  void pool_host(const HostEntry& host, const std::string& backend);
  void pool_end(std::set<std::string, std::less<>> listed);
  void scan_duration(std::chrono::duration<double> duration);
  void probes_in_flight(std::size_t n);
  // On a ring (ring.peer_port set), once per evaluation: this instance's role one-hot,
  // the directors listed and the instances answering (this one included), and the votes
  // on each backend. The per-backend series are replaced as a whole each time.
  struct RingBackendFigures {
    std::string backend;
    std::size_t votes_down = 0;
    std::size_t votes_up = 0;
    std::string overruled;  // why the ring's verdict differs from this instance's; "": it agrees
  };
  void ring(std::string_view role, std::size_t listed, std::size_t answering,
            const std::vector<RingBackendFigures>& backends);
  // Removes every series labelled with this backend: O(log N) in the series, not a walk.
  void forget_backend(std::string_view backend);

  std::string render() const { return registry_.render(); }
  const metrics::Registry& registry() const { return registry_; }
  // For the optional families registered at startup (http/passive_metrics.hpp).
  metrics::Registry& registry() { return registry_; }

 private:
  // The series a probe result updates, per backend, kept as references into the
  // families: a result then costs one hash lookup, not a lookup of a vector of label
  // strings in each family's map (the top of the profile at 1000 backends, issue 15).
  // Only this class removes series from these families, and it drops the references
  // with them (forget_backend, an odd state's removal).
  struct BackendSeries {
    struct Result {
      Protocol protocol;
      FailureClass outcome;
      double* count;
    };
    std::vector<Result> results;
    std::array<metrics::HistogramFamily::Series*, 3> durations{};  // by Protocol
    std::array<double*, std::size(kStates)> states{};
    std::optional<std::string> state;  // what the state series show
    double* cert_expiry = nullptr;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  BackendSeries& series_of(std::string_view backend);
  double& result_count(BackendSeries& series, std::string_view backend, Protocol protocol,
                       FailureClass outcome);
  metrics::HistogramFamily::Series& duration_series(BackendSeries& series, std::string_view backend,
                                                    Protocol protocol);

  MetricsOptions options_;
  metrics::Registry registry_;
  metrics::CounterFamily& probe_results_;
  metrics::HistogramFamily& probe_duration_;
  metrics::HistogramFamily& probe_lateness_;
  metrics::GaugeFamily& backend_state_;
  metrics::GaugeFamily& cert_expiry_;
  metrics::CounterFamily& tls_handshakes_;
  double* tls_full_ = nullptr;     // tls_handshakes_{resumed="false"}
  double* tls_resumed_ = nullptr;  // tls_handshakes_{resumed="true"}
  metrics::CounterFamily& transitions_;
  metrics::CounterFamily& actions_;
  metrics::CounterFamily& suppressed_;
  metrics::GaugeFamily& pool_guard_;
  metrics::GaugeFamily& director_connected_;
  metrics::CounterFamily& director_reconnects_;
  metrics::GaugeFamily& pool_hosts_;
  metrics::GaugeFamily& pool_down_hosts_;
  metrics::GaugeFamily& vhost_count_;
  metrics::GaugeFamily& user_count_;
  metrics::GaugeFamily& director_up_;
  metrics::HistogramFamily& scan_duration_;
  metrics::GaugeFamily& probes_in_flight_;
  metrics::GaugeFamily& ring_role_;
  metrics::GaugeFamily& ring_peers_;
  metrics::GaugeFamily& ring_votes_;
  metrics::GaugeFamily& ring_overruled_;
  metrics::GaugeFamily& build_info_;
  std::set<std::string, std::less<>> pool_backends_;
  // Backends whose state series include one not in kStates.
  std::set<std::string, std::less<>> odd_states_;
  std::unordered_map<std::string, BackendSeries, StringHash, std::equal_to<>> series_;
  // Without per-backend latency, the duration series by Protocol.
  std::array<metrics::HistogramFamily::Series*, 3> protocol_durations_{};
};

}  // namespace poolwatch
