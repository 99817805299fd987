#pragma once
// The health decision: a dovemon-style state machine per check (one backend address and
// one PortSpec) and the aggregate verdict per backend. Pure logic: the scan loop asks
// when to probe and with which timeout, runs the probe, and reports the outcome here
// together with the current time. Nothing in here sleeps, reads a clock or logs.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

using SteadyTime = std::chrono::steady_clock::time_point;
using SteadyDuration = std::chrono::steady_clock::duration;

// A uniform random number in [0, 1]. Injected so that jittered due times are exact in
// tests; production uses seeded_unit_random().
using UnitRandom = std::function<double()>;
UnitRandom seeded_unit_random(std::uint64_t seed);

// pending: no result yet. suspect: failures below retry_count. rapid: in a rapid round.
enum class CheckState { pending, up, suspect, rapid, down };
std::string_view to_string(CheckState s);

// "imap:143", "imap:993/tls", "pop3:110/starttls": the prefix of every reason.
std::string check_label(const PortSpec& port);

struct CheckId {
  IpAddress address;
  PortSpec port;
  friend bool operator==(const CheckId&, const CheckId&) = default;
  friend bool operator<(const CheckId& a, const CheckId& b);
};

struct CheckIdHash {
  std::size_t operator()(const CheckId& id) const noexcept {
    const auto port = (static_cast<std::size_t>(id.port.port) << 8) |
                      (static_cast<std::size_t>(id.port.protocol) << 4) |
                      static_cast<std::size_t>(id.port.tls);
    return id.address.hash() ^ (port * 0x9E3779B97F4A7C15ull);
  }
};

// When the next probe of a check should start and how long it may take.
struct ProbePlan {
  SteadyTime due;
  SteadyDuration timeout{};
};

// How late a probe that started at `started` was for `plan`; never negative (a probe
// woken early, as a reload wakes them, was not late).
inline SteadyDuration lateness(const ProbePlan& plan, SteadyTime started) {
  return started > plan.due ? started - plan.due : SteadyDuration::zero();
}

// Probe starts are rounded up to a grid, so the probes that fall due within one step
// start in one wake-up of the loop instead of one each: at 3000 probes a second, waking
// once per probe cost more kernel time than the probes' own connects. A step is far
// below any interval or timeout; the lateness of a probe includes it.
inline constexpr SteadyDuration kProbeStartGrid = std::chrono::milliseconds(5);

inline SteadyTime on_start_grid(SteadyTime due, SteadyDuration grid = kProbeStartGrid) {
  const auto offset = due.time_since_epoch() % grid;
  return offset == SteadyDuration::zero() ? due : due + (grid - offset);
}

struct CheckTransition {
  CheckState from = CheckState::pending;
  CheckState to = CheckState::pending;
  std::string reason;
};

struct CheckStatus {
  std::string label;
  CheckState state = CheckState::pending;
  int consecutive_failures = 0;
  int consecutive_successes = 0;  // while down: the recovering count
  int rapid_polls = 0;            // in the current rapid round
  int rapid_failures = 0;
  std::optional<FailureClass> last_outcome;  // none = success; empty before the first probe
  std::string last_reason;
  std::chrono::microseconds last_latency{0};
  std::int64_t last_transition_unix = 0;  // 0: no transition yet
  std::string last_transition_reason;
};

// Detection time for an always-failing backend whose every probe runs into its full
// timeout, measured from the failure right after a good probe until the check is down,
// with the largest jitter.
Seconds worst_case_detection_time(const HealthConfig& config);

class CheckMachine {
 public:
  // The first probe is spread over one interval so that a fresh start does not probe
  // every backend at the same instant. start_down: poolwatch held this backend down
  // before a restart, so it has to earn its way back through healthy_threshold.
  CheckMachine(std::string label, const HealthConfig& config, UnitRandom random, SteadyTime now,
               bool start_down = false);
  // The tracker's machines share one copy of the settings (about 100 bytes a check).
  CheckMachine(std::string label, std::shared_ptr<const HealthConfig> config, UnitRandom random,
               SteadyTime now, bool start_down = false);

  const ProbePlan& plan() const { return plan_; }
  CheckState state() const { return state_; }
  const std::string& label() const { return label_; }
  CheckStatus status() const;

  // Records the outcome of the probe that started at plan().due and finished at now;
  // returns the state change it caused, if any, and plans the next probe. A probe that
  // did not run (ProbeOutcome::ran()) changes no state and no count.
  std::optional<CheckTransition> record(const ProbeOutcome& outcome, SteadyTime now,
                                        std::int64_t unix_now);

  // A passive signal (docs/passive.md): users cannot reach this backend. A pending, up
  // or suspect check enters its rapid round now and is due at once, so the active
  // probes confirm (or clear) the signal; with no rapid round configured it becomes
  // suspect and is due at once. down_now (passive.may_down) takes it down instead. A
  // check in a rapid round or down is left as it is. health_tracker_passive.cpp.
  std::optional<CheckTransition> suspect_now(const std::string& cause, bool down_now,
                                             SteadyTime now, std::int64_t unix_now);

  // A reloaded config applies from the next planned probe on; when it shortens the
  // cadence of the current state, a probe planned further out than one new interval
  // from now is brought forward, so a HUP from 5 min to 10 s is not ignored for 5 min.
  void set_config(const HealthConfig& config, SteadyTime now);
  void set_config(std::shared_ptr<const HealthConfig> config, SteadyTime now);

 private:
  std::optional<CheckTransition> on_success(std::int64_t unix_now);
  std::optional<CheckTransition> on_failure(const std::string& what, std::int64_t unix_now);
  std::optional<CheckTransition> on_rapid_result(bool ok, const std::string& what,
                                                 std::int64_t unix_now);
  CheckTransition move_to(CheckState to, std::string reason, std::int64_t unix_now);
  SteadyDuration interval_for_state();
  SteadyDuration timeout_for_state() const;
  void plan_next(SteadyTime now);

  std::string label_;
  std::shared_ptr<const HealthConfig> config_;
  UnitRandom random_;
  CheckState state_ = CheckState::pending;
  ProbePlan plan_;
  int consecutive_failures_ = 0;
  int consecutive_successes_ = 0;
  int rapid_polls_ = 0;
  int rapid_failures_ = 0;
  std::optional<FailureClass> last_outcome_;
  std::string last_reason_;
  std::chrono::microseconds last_latency_{0};
  std::int64_t last_transition_unix_ = 0;
  std::string last_transition_reason_;
};

// unknown: some check has no verdict yet and none is down; no action is taken on it.
enum class Verdict { unknown, up, down };
std::string_view to_string(Verdict v);

struct BackendVerdict {
  Verdict verdict = Verdict::unknown;
  std::int64_t since_unix = 0;  // when the verdict last changed
  std::string reason;
};

struct BackendTransition {
  IpAddress address;
  Verdict from = Verdict::unknown;
  Verdict to = Verdict::unknown;
  std::string reason;
};

struct BackendStatus {
  IpAddress address;
  BackendVerdict verdict;
  CheckState state = CheckState::pending;  // the one word: HealthTracker::backend_state()
  std::vector<CheckStatus> checks;         // in PortSpec order of the config
  std::int64_t last_probe_unix = 0;        // when a probe of any check ended; 0: none yet
};

struct RecordResult {
  std::optional<CheckTransition> check;
  std::optional<BackendTransition> backend;
};

struct PassiveSignalResult {
  bool tracked = false;        // the backend is in the pool and probed
  std::vector<CheckId> woken;  // checks now due at once: wake their probe loops
  int rapid_rounds_started = 0;
  std::vector<std::pair<CheckId, CheckTransition>> checks;
  std::optional<BackendTransition> backend;
};

struct SyncResult {
  std::vector<CheckId> added;    // start a probe coroutine for each
  std::vector<CheckId> removed;  // stop these; record() for them is ignored from now on
  std::vector<BackendTransition> transitions;  // when removing a check changed a verdict
};

// A sync() made in steps (HealthTracker::sync_some): what it makes the tracked set, and
// how far it got. The set it leaves between steps is part old, part new, each backend
// either as it was or as wanted.
struct SyncJob {
  std::vector<IpAddress> wanted;  // in address order, each once
  std::vector<PortSpec> ports;    // each once, in config order
  std::set<IpAddress> start_down;
  std::size_t next_wanted = 0;
  std::optional<IpAddress> last;  // the last backend handled: the next step starts after it
  bool finished = false;
};

// All backends of the pool and their checks. A backend is down as soon as any of its
// checks is down, and up again only when every check is up.
class HealthTracker {
 public:
  HealthTracker(HealthConfig config, UnitRandom random);
  // by_address_ points into backends_: a copy would point into the original.
  HealthTracker(const HealthTracker&) = delete;
  HealthTracker& operator=(const HealthTracker&) = delete;
  HealthTracker(HealthTracker&&) = default;
  HealthTracker& operator=(HealthTracker&&) = default;

  // Makes the tracked set equal to backends x ports: new backends and checks start
  // pending (or down, for backends in start_down), vanished ones are forgotten.
  SyncResult sync(const std::vector<IpAddress>& backends, const std::vector<PortSpec>& ports,
                  const std::set<IpAddress>& start_down, SteadyTime now, std::int64_t unix_now);
  // The same in steps: each sync_some() handles at most max_backends backends (added,
  // matched to the ports or removed) and sets job.finished once the set is as wanted.
  // Between steps, record() and the rest work on the set as it stands.
  static SyncJob begin_sync(std::vector<IpAddress> backends, std::vector<PortSpec> ports,
                            std::set<IpAddress> start_down);
  SyncResult sync_some(SyncJob& job, std::size_t max_backends, SteadyTime now,
                       std::int64_t unix_now);

  void set_config(const HealthConfig& config, SteadyTime now);

  bool contains(const CheckId& id) const { return plan_if_tracked(id) != nullptr; }
  // Throws std::out_of_range for a check that is not tracked (a caller bug).
  const ProbePlan& plan(const CheckId& id) const;
  // The plan, or nullptr for a check that is not tracked: one lookup for both questions.
  const ProbePlan* plan_if_tracked(const CheckId& id) const;
  // An outcome for a check that sync() removed meanwhile is ignored.
  RecordResult record(const CheckId& id, const ProbeOutcome& outcome, SteadyTime now,
                      std::int64_t unix_now);

  // CheckMachine::suspect_now() for every check of the backend.
  PassiveSignalResult suspect_now(const IpAddress& address, const std::string& cause, bool down_now,
                                  SteadyTime now, std::int64_t unix_now);

  std::map<IpAddress, BackendVerdict> verdicts() const;
  // One backend's verdict without a copy, O(log N); null when it is not tracked. Valid
  // until the next sync().
  const BackendVerdict* verdict_of(const IpAddress& address) const;
  std::vector<BackendStatus> status() const;
  // At most `max` backends, in address order from the first not before *from (from the
  // first when null): a page of a large pool in O(log N + max).
  std::vector<BackendStatus> status(const IpAddress* from, std::size_t max) const;

  // The one word for a backend in /status, the metrics and the sd_notify summary: down
  // while its verdict is down (it stays down until every check is up again, so a check
  // on its way back does not make it look better than the director is told), else the
  // most severe state of its current checks: pending < up < suspect < rapid < down.
  // nullopt for a backend that is not tracked.
  std::optional<CheckState> backend_state(const IpAddress& address) const;
  // How many backends are in each backend_state(), indexed by CheckState: a walk of
  // every backend that copies nothing (the summary line is made every second).
  std::array<std::size_t, 5> state_counts() const;

 private:
  struct Backend {
    std::vector<std::pair<PortSpec, CheckMachine>> checks;  // in config order
    BackendVerdict verdict;
    std::int64_t last_probe_unix = 0;
  };
  static CheckState state_of(const Backend& backend);
  void match_checks(const IpAddress& address, const SyncJob& job, SteadyTime now,
                    std::int64_t unix_now, SyncResult& result);
  std::optional<BackendTransition> reevaluate(const IpAddress& address, Backend& backend,
                                              const std::string& cause, std::int64_t unix_now);

  Backend* find_backend(const IpAddress& address);
  const Backend* find_backend(const IpAddress& address) const;

  std::shared_ptr<const HealthConfig> config_;  // shared with every check
  UnitRandom random_;
  std::map<IpAddress, Backend> backends_;  // in address order, for pages of the pool
  // The same backends by hash, for the lookups of every probe; the map's nodes never move.
  std::unordered_map<IpAddress, Backend*> by_address_;
};

}  // namespace poolwatch
