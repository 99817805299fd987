#include "poolwatch/health/health_tracker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <random>
#include <stdexcept>
#include <tuple>

namespace poolwatch {
namespace {

constexpr SteadyDuration kMinStep = std::chrono::milliseconds(1);

SteadyDuration to_steady(Seconds s) {
  return std::chrono::round<SteadyDuration>(s);
}

std::string describe(const ProbeOutcome& outcome) {
  if (outcome.ok()) return "ok";
  const std::string_view cls = to_string(outcome.failure);
  if (outcome.reason.empty()) return std::string(cls);
  // Probes often phrase the reason starting with the class ("connect timeout after 3 s").
  if (std::string_view(outcome.reason).starts_with(cls)) return outcome.reason;
  return fmt::format("{}: {}", cls, outcome.reason);
}

std::string plural(int n, std::string_view word) {
  if (n == 1) return fmt::format("{} {}", n, word);
  return fmt::format("{} {}{}", n, word, word.ends_with('s') ? "es" : "s");
}

int retry_count_of(const HealthConfig& c) {
  return std::max(1, c.retry_count);
}
int healthy_threshold_of(const HealthConfig& c) {
  return std::max(1, c.healthy_threshold);
}
int rapid_rounds_of(const HealthConfig& c) {
  return std::max(0, c.rapid_rounds);
}
int rapid_needed_of(const HealthConfig& c) {
  return std::clamp(c.rapid_fails_needed, 1, std::max(1, rapid_rounds_of(c)));
}
// dovemon: the timeout grows x1, x2, x3 with consecutive failures.
double timeout_factor(const HealthConfig& c, int consecutive_failures) {
  return c.timeout_growth ? std::min(1 + consecutive_failures, 3) : 1;
}
double max_jitter_factor(const HealthConfig& c) {
  return 1 + std::max(0.0, c.jitter_percent) / 100;
}

// How alarming a check state is, for the one word that sums a backend up.
int severity(CheckState s) {
  switch (s) {
    case CheckState::pending:
      return 0;
    case CheckState::up:
      return 1;
    case CheckState::suspect:
      return 2;
    case CheckState::rapid:
      return 3;
    case CheckState::down:
      return 4;
  }
  return 0;
}

template <typename Backend>
auto find_check(Backend& backend, const PortSpec& port) -> decltype(&backend.checks[0].second) {
  for (auto& [spec, machine] : backend.checks)
    if (spec == port) return &machine;
  return nullptr;
}

}  // namespace

UnitRandom seeded_unit_random(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

std::string_view to_string(CheckState s) {
  switch (s) {
    case CheckState::pending:
      return "pending";
    case CheckState::up:
      return "up";
    case CheckState::suspect:
      return "suspect";
    case CheckState::rapid:
      return "rapid";
    case CheckState::down:
      return "down";
  }
  return "?";
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::unknown:
      return "unknown";
    case Verdict::up:
      return "up";
    case Verdict::down:
      return "down";
  }
  return "?";
}

std::string check_label(const PortSpec& port) {
  const auto base = fmt::format("{}:{}", to_string(port.protocol), port.port);
  if (port.tls == TlsMode::plain) return base;
  return fmt::format("{}/{}", base, to_string(port.tls));
}

// By reference: a tuple of copies made two addresses per comparison, and the queue, the
// probes in flight and the tracker compare checks on every probe.
bool operator<(const CheckId& a, const CheckId& b) {
  if (const auto c = a.address <=> b.address; c != 0) return c < 0;
  return std::tie(a.port.protocol, a.port.port, a.port.tls) <
         std::tie(b.port.protocol, b.port.port, b.port.tls);
}

Seconds worst_case_detection_time(const HealthConfig& c) {
  const Seconds normal = c.interval * max_jitter_factor(c);
  const Seconds suspect = c.suspect_interval.value_or(c.interval) * max_jitter_factor(c);
  const int retries = retry_count_of(c);
  // The backend fails right after a good probe started: the first failing probe starts
  // one (jittered) interval later. Each probe starts an interval after the previous
  // start, or when the previous one gave up, whichever is later.
  Seconds total = normal;
  for (int failures = 0; failures + 1 < retries; ++failures)
    total += std::max(suspect, c.timeout * timeout_factor(c, failures));
  const Seconds last_normal = c.timeout * timeout_factor(c, retries - 1);
  if (rapid_rounds_of(c) == 0) return total + last_normal;
  total += std::max(c.rapid_interval, last_normal);
  total += (rapid_needed_of(c) - 1) * std::max(c.rapid_interval, c.rapid_timeout);
  return total + c.rapid_timeout;
}

CheckMachine::CheckMachine(std::string label, const HealthConfig& config, UnitRandom random,
                           SteadyTime now, bool start_down)
    : CheckMachine(std::move(label), std::make_shared<const HealthConfig>(config),
                   std::move(random), now, start_down) {}

CheckMachine::CheckMachine(std::string label, std::shared_ptr<const HealthConfig> config,
                           UnitRandom random, SteadyTime now, bool start_down)
    : label_(std::move(label)), config_(std::move(config)), random_(std::move(random)) {
  if (start_down) {
    state_ = CheckState::down;
    last_transition_reason_ = fmt::format("{}: held down by poolwatch before a restart", label_);
  }
  const Seconds first_period =
      start_down ? config_->down_interval.value_or(config_->interval) : config_->interval;
  plan_.due = now + to_steady(first_period * std::clamp(random_(), 0.0, 1.0));
  plan_.timeout = timeout_for_state();
}

void CheckMachine::set_config(const HealthConfig& config, SteadyTime now) {
  set_config(std::make_shared<const HealthConfig>(config), now);
}

void CheckMachine::set_config(std::shared_ptr<const HealthConfig> config, SteadyTime now) {
  const bool cadence_changed = config->interval != config_->interval ||
                               config->suspect_interval != config_->suspect_interval ||
                               config->down_interval != config_->down_interval ||
                               config->rapid_interval != config_->rapid_interval;
  config_ = std::move(config);
  if (cadence_changed)
    plan_.due = std::min(plan_.due, now + std::max<SteadyDuration>(interval_for_state(), kMinStep));
}

CheckStatus CheckMachine::status() const {
  return CheckStatus{label_,
                     state_,
                     consecutive_failures_,
                     consecutive_successes_,
                     rapid_polls_,
                     rapid_failures_,
                     last_outcome_,
                     last_reason_,
                     last_latency_,
                     last_transition_unix_,
                     last_transition_reason_};
}

std::optional<CheckTransition> CheckMachine::record(const ProbeOutcome& outcome, SteadyTime now,
                                                    std::int64_t unix_now) {
  last_outcome_ = outcome.failure;
  last_reason_ = outcome.reason;
  // poolwatch could not run the probe (out of descriptors, ports, memory): nothing was
  // learnt about the backend, so no count moves; the state's cadence goes on.
  if (!outcome.ran()) {
    plan_next(now);
    return std::nullopt;
  }
  last_latency_ = outcome.latency;
  const std::string what = describe(outcome);
  std::optional<CheckTransition> transition;
  if (state_ == CheckState::rapid)
    transition = on_rapid_result(outcome.ok(), what, unix_now);
  else if (outcome.ok())
    transition = on_success(unix_now);
  else
    transition = on_failure(what, unix_now);
  plan_next(now);
  return transition;
}

std::optional<CheckTransition> CheckMachine::on_success(std::int64_t unix_now) {
  const int failures = consecutive_failures_;
  consecutive_failures_ = 0;
  ++consecutive_successes_;
  switch (state_) {
    case CheckState::pending:
      return move_to(CheckState::up, fmt::format("{}: first probe succeeded", label_), unix_now);
    case CheckState::suspect:
      return move_to(CheckState::up,
                     fmt::format("{}: probe succeeded after {}", label_,
                                 plural(failures, "consecutive failure")),
                     unix_now);
    case CheckState::down:
      if (consecutive_successes_ < healthy_threshold_of(*config_)) return std::nullopt;
      return move_to(CheckState::up,
                     fmt::format("{}: {} while down, up again", label_,
                                 plural(consecutive_successes_, "consecutive success")),
                     unix_now);
    case CheckState::up:
    case CheckState::rapid:
      break;
  }
  return std::nullopt;
}

std::optional<CheckTransition> CheckMachine::on_failure(const std::string& what,
                                                        std::int64_t unix_now) {
  consecutive_successes_ = 0;
  ++consecutive_failures_;
  if (state_ == CheckState::down) return std::nullopt;
  const int retries = retry_count_of(*config_);
  const auto failures = plural(consecutive_failures_, "consecutive failure");
  if (consecutive_failures_ < retries) {
    if (state_ == CheckState::suspect) return std::nullopt;
    return move_to(
        CheckState::suspect,
        fmt::format("{}: {} ({}), {} lead to a rapid round", label_, failures, what, retries),
        unix_now);
  }
  if (rapid_rounds_of(*config_) == 0)
    return move_to(
        CheckState::down,
        fmt::format("{}: {} ({}), down (no rapid round configured)", label_, failures, what),
        unix_now);
  rapid_polls_ = 0;
  rapid_failures_ = 0;
  return move_to(CheckState::rapid,
                 fmt::format("{}: {} ({}), entering rapid round", label_, failures, what),
                 unix_now);
}

std::optional<CheckTransition> CheckMachine::on_rapid_result(bool ok, const std::string& what,
                                                             std::int64_t unix_now) {
  ++rapid_polls_;
  if (ok) {
    consecutive_failures_ = 0;
    ++consecutive_successes_;
  } else {
    ++rapid_failures_;
    ++consecutive_failures_;
    consecutive_successes_ = 0;
  }
  const int rounds = rapid_rounds_of(*config_);
  const int needed = rapid_needed_of(*config_);
  const bool early = rapid_polls_ < rounds;
  if (rapid_failures_ >= needed) {
    auto reason = early ? fmt::format(
                              "{}: {} of {} rapid polls failed, down decided before the round of "
                              "{} ended, last: {}",
                              label_, rapid_failures_, rapid_polls_, rounds, what)
                        : fmt::format("{}: {}/{} rapid polls failed, last: {}", label_,
                                      rapid_failures_, rounds, what);
    return move_to(CheckState::down, std::move(reason), unix_now);
  }
  if (rapid_failures_ + (rounds - rapid_polls_) < needed) {
    auto reason = early ? fmt::format(
                              "{}: {} of {} rapid polls succeeded, {} failures out of reach, "
                              "round of {} ended early, up",
                              label_, rapid_polls_ - rapid_failures_, rapid_polls_, needed, rounds)
                        : fmt::format("{}: only {}/{} rapid polls failed ({} needed), up", label_,
                                      rapid_failures_, rounds, needed);
    consecutive_failures_ = 0;
    return move_to(CheckState::up, std::move(reason), unix_now);
  }
  return std::nullopt;
}

CheckTransition CheckMachine::move_to(CheckState to, std::string reason, std::int64_t unix_now) {
  CheckTransition transition{state_, to, reason};
  state_ = to;
  if (to == CheckState::up || to == CheckState::down) {
    rapid_polls_ = 0;
    rapid_failures_ = 0;
  }
  if (to == CheckState::down) consecutive_successes_ = 0;
  last_transition_unix_ = unix_now;
  last_transition_reason_ = std::move(reason);
  return transition;
}

SteadyDuration CheckMachine::interval_for_state() {
  Seconds base = config_->interval;
  switch (state_) {
    case CheckState::pending:
    case CheckState::up:
      break;
    case CheckState::suspect:
      base = config_->suspect_interval.value_or(config_->interval);
      break;
    case CheckState::rapid:
      // A rapid round is a burst that decides quickly; spreading it gains nothing.
      return to_steady(config_->rapid_interval);
    case CheckState::down:
      base = config_->down_interval.value_or(config_->interval);
      break;
  }
  const double unit = std::clamp(random_(), 0.0, 1.0);
  const double factor = 1 + std::max(0.0, config_->jitter_percent) / 100 * (2 * unit - 1);
  return to_steady(base * factor);
}

SteadyDuration CheckMachine::timeout_for_state() const {
  if (state_ == CheckState::rapid) return to_steady(config_->rapid_timeout);
  return to_steady(config_->timeout * timeout_factor(*config_, consecutive_failures_));
}

void CheckMachine::plan_next(SteadyTime now) {
  // Start-to-start cadence: a slow probe does not push the schedule back, but a probe
  // that overran its interval is followed at once rather than in the past. The 1 ms
  // floor keeps a zero interval (or 100 % jitter) from spinning.
  const SteadyDuration step = std::max<SteadyDuration>(interval_for_state(), kMinStep);
  plan_.due = std::max(plan_.due + step, now);
  plan_.timeout = timeout_for_state();
}

HealthTracker::HealthTracker(HealthConfig config, UnitRandom random)
    : config_(std::make_shared<const HealthConfig>(std::move(config))),
      random_(std::move(random)) {}

void HealthTracker::set_config(const HealthConfig& config, SteadyTime now) {
  config_ = std::make_shared<const HealthConfig>(config);
  for (auto& [address, backend] : backends_)
    for (auto& [port, machine] : backend.checks) machine.set_config(config_, now);
}

const ProbePlan* HealthTracker::plan_if_tracked(const CheckId& id) const {
  const Backend* backend = find_backend(id.address);
  const CheckMachine* machine = backend == nullptr ? nullptr : find_check(*backend, id.port);
  return machine == nullptr ? nullptr : &machine->plan();
}

const ProbePlan& HealthTracker::plan(const CheckId& id) const {
  const ProbePlan* plan = plan_if_tracked(id);
  if (plan == nullptr)
    throw std::out_of_range(
        fmt::format("no health check {} {}", id.address.to_string(), check_label(id.port)));
  return *plan;
}

RecordResult HealthTracker::record(const CheckId& id, const ProbeOutcome& outcome, SteadyTime now,
                                   std::int64_t unix_now) {
  RecordResult result;
  Backend* backend = find_backend(id.address);
  if (backend == nullptr) return result;
  CheckMachine* machine = find_check(*backend, id.port);
  if (machine == nullptr) return result;
  // Kept here, where the probe already found its backend: a map of its own in the daemon
  // was one more lookup in cold memory per probe.
  backend->last_probe_unix = unix_now;
  result.check = machine->record(outcome, now, unix_now);
  if (result.check)
    result.backend = reevaluate(id.address, *backend, result.check->reason, unix_now);
  return result;
}

std::optional<BackendTransition> HealthTracker::reevaluate(const IpAddress& address,
                                                           Backend& backend,
                                                           const std::string& cause,
                                                           std::int64_t unix_now) {
  if (backend.checks.empty()) return std::nullopt;
  const auto is = [&](CheckState s) {
    return [s](const auto& c) { return c.second.state() == s; };
  };
  Verdict next = backend.verdict.verdict;
  if (std::any_of(backend.checks.begin(), backend.checks.end(), is(CheckState::down)))
    next = Verdict::down;
  else if (std::all_of(backend.checks.begin(), backend.checks.end(), is(CheckState::up)))
    next = Verdict::up;
  if (next == backend.verdict.verdict) return std::nullopt;
  std::string reason = next == Verdict::up && backend.checks.size() > 1
                           ? fmt::format("all {} checks up, last: {}", backend.checks.size(), cause)
                           : cause;
  BackendTransition transition{address, backend.verdict.verdict, next, reason};
  backend.verdict = {next, unix_now, std::move(reason)};
  return transition;
}

CheckState HealthTracker::state_of(const Backend& backend) {
  if (backend.verdict.verdict == Verdict::down) return CheckState::down;
  CheckState worst = CheckState::pending;
  for (const auto& check : backend.checks)
    if (severity(check.second.state()) > severity(worst)) worst = check.second.state();
  return worst;
}

}  // namespace poolwatch
