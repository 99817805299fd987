// The reporting half of PoolWatcher: /status and the sd_notify summary, --once, SIGHUP
// (reload, reopen) and the transition hook.
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <limits>
#include <memory>

#include "poolwatch/common/text.hpp"
#include "poolwatch/service/hook_runner.hpp"
#include "poolwatch/service/logging.hpp"
#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// A tag is the director's text, up to director::kMaxTagBytes; the table shows its start.
constexpr std::size_t kMaxTagShown = 40;

void log_hook_result(const HookResult& r, const std::string& command, const std::string& event,
                     const std::string& address, Seconds timeout) {
  if (!r.started)
    spdlog::error("on_transition hook {} for {} {} could not start: {}", command, event, address,
                  r.error);
  else if (r.timed_out)
    spdlog::error("on_transition hook {} for {} {} killed after {:.0f} s", command, event, address,
                  timeout.count());
  else if (r.exit_status != 0)
    spdlog::warn("on_transition hook {} for {} {} exited with {}", command, event, address,
                 r.exit_status);
  else
    spdlog::debug("on_transition hook {} for {} {} done", command, event, address);
}

}  // namespace

void PoolWatcher::run_hook(std::string_view event, const IpAddress& a, const std::string& reason) {
  if (config_.actions.on_transition.empty()) return;
  if (stopping_) {
    // It would be killed as soon as it started.
    spdlog::warn("on_transition hook for {} {} not run: poolwatch is stopping", event,
                 a.to_string());
    return;
  }
  hooks_.add();
  asio::co_spawn(executor_, hook(std::string(event), a.to_string(), reason), HookDone{this});
}

// One hook run, ended early by a stop: the hook gets SIGTERM, then SIGKILL, and is
// reaped, so it neither holds the shutdown up to its timeout nor outlives poolwatch.
asio::awaitable<void> PoolWatcher::hook(std::string event, std::string address,
                                        std::string reason) {
  // Copies: a reload may change the config while the hook runs.
  const std::string command = config_.actions.on_transition;
  const Seconds timeout = config_.actions.on_transition_timeout;
  auto run =
      co_await (run_transition_hook(command, event, address, reason, timeout) || wait_for_stop());
  if (run.index() == 1)
    spdlog::warn("on_transition hook {} for {} {} stopped: poolwatch is stopping", command, event,
                 address);
  else
    log_hook_result(std::get<0>(run), command, event, address, timeout);
}

void PoolWatcher::HookDone::operator()(std::exception_ptr e) const {
  if (e)
    spdlog::error("on_transition hook: stopped by an unexpected error: {}", exception_message(e));
  watcher->hooks_.done();
}

asio::awaitable<void> PoolWatcher::once_probe(std::size_t index) {
  auto& slot = once_results_[index];
  auto account = account_for(slot.target.address);  // a local: see check_loop
  slot.outcome = co_await probes_.run(slot.target, std::move(account), config_.health.timeout);
  loops_.done();
}

asio::awaitable<int> PoolWatcher::run_once(std::ostream& out) {
  auto result = co_await director_.host_list();
  if (!result.pool) {
    out << "poolwatch: director " << config_.director.socket << ": " << result.error << "\n";
    co_await director_.shutdown(std::chrono::milliseconds(250));
    co_return 2;
  }
  pool_ = std::move(*result.pool);
  ++pool_version_;
  out << fmt::format("{:<40} {:>6} {:>6} {:<10} {}\n", "backend", "vhosts", "users", "tag",
                     "director");
  for (const auto& h : pool_.hosts)
    out << fmt::format("{:<40} {:>6} {:>6} {:<10} {}\n", h.address.to_string(), h.vhost_count,
                       h.user_count,
                       h.tag.empty() ? "-" : printable_excerpt(h.tag, kMaxTagShown, false),
                       h.down ? (*h.down ? "down" : "up") : "?");
  for (const auto& a : probed_backends(pool_))
    for (const auto& port : config_.probe.ports)
      once_results_.push_back({ProbeTarget{a, a.to_string(), port}, {}});
  loops_.add(once_results_.size());
  for (std::size_t i = 0; i < once_results_.size(); ++i)
    spawn_logged(executor_, once_probe(i), "probe");
  if (loops_.count() > 0) co_await loops_.wait();

  int unhealthy = 0;
  int not_run = 0;  // poolwatch's own failure (descriptors, memory): an error, not a verdict
  out << "\n";
  for (const auto& r : once_results_) {
    if (!r.outcome.ran())
      ++not_run;
    else if (!r.outcome.ok())
      ++unhealthy;
    out << fmt::format("{:<40} {:<18} {:<8} {:>8.1f} ms  {}\n", r.target.host_name,
                       check_label(r.target.port),
                       r.outcome.ok() ? "OK" : (r.outcome.ran() ? "FAIL" : "NOT RUN"),
                       static_cast<double>(r.outcome.latency.count()) / 1000.0,
                       r.outcome.ok() ? "" : r.outcome.reason);
  }
  out << fmt::format("\n{} probe(s), {} failed{}\n", once_results_.size(), unhealthy,
                     not_run > 0 ? fmt::format(", {} could not run", not_run) : "");
  co_await director_.shutdown(std::chrono::milliseconds(250));
  co_return unhealthy > 0 ? 1 : (not_run > 0 ? 2 : 0);
}

std::vector<BackendStatusView> PoolWatcher::status() const {
  return status(nullptr, std::numeric_limits<std::size_t>::max());
}

std::vector<BackendStatusView> PoolWatcher::status(const IpAddress* from, std::size_t max) const {
  std::vector<BackendStatusView> views;
  for (const auto& backend : tracker_.status(from, max)) views.push_back(status_view(backend));
  return views;
}

BackendStatusView PoolWatcher::status_view(const BackendStatus& backend) const {
  BackendStatusView v;
  v.address = backend.address.to_string();
  v.state = std::string(to_string(backend.state));
  v.since_unix = backend.verdict.since_unix;
  v.reason = backend.verdict.reason;
  const bool held = held_by_poolwatch(backend.address);
  if (held) v.reason = "held down by poolwatch: " + v.reason;
  if (const auto* h = pool_.find(backend.address); h && h->down.value_or(false) && !held)
    v.reason = "down in the director, not by poolwatch (left alone)" +
               (v.reason.empty() ? std::string() : "; " + v.reason);
  for (const auto& c : backend.checks) {
    CheckStatusView cv;
    cv.name = c.label;
    cv.state = std::string(to_string(c.state));
    cv.consecutive_failures = c.consecutive_failures;
    cv.last_outcome = c.last_outcome ? std::string(to_string(*c.last_outcome)) : "";
    cv.last_latency_ms = static_cast<double>(c.last_latency.count()) / 1000.0;
    const bool failed = c.last_outcome && *c.last_outcome != FailureClass::none;
    cv.last_reason = failed ? c.last_reason : std::string();
    if (cv.last_latency_ms > v.last_latency_ms) v.last_latency_ms = cv.last_latency_ms;
    if (c.last_outcome && (v.last_outcome.empty() || v.last_outcome == "ok"))
      v.last_outcome = cv.last_outcome;
    v.checks.push_back(std::move(cv));
  }
  if (ring_) v.ring = ring_->backend_view(backend.address);
  v.cert_expiry_unix = cert_expiry_.earliest(v.address);
  return v;
}

namespace {

// Slices small enough that one takes about a millisecond at 100 000 backends.
constexpr std::size_t kStatusSliceBackends = 64;
constexpr std::size_t kMetricsSliceLines = 2000;

struct StatusSlices {
  StatusJsonWriter json;
  std::optional<IpAddress> next;  // first backend of the next slice
  bool started = false;
};

struct MetricsSlices {
  metrics::RenderCursor cursor;
};

}  // namespace

BodyWriter PoolWatcher::status_body() const {
  auto slices = std::make_shared<StatusSlices>();
  return [this, slices](std::string& out) {
    if (!slices->started) {
      slices->json.begin(out);
      slices->started = true;
    }
    const IpAddress* from = slices->next ? &*slices->next : nullptr;
    auto page = tracker_.status(from, kStatusSliceBackends + 1);
    slices->next.reset();
    if (page.size() > kStatusSliceBackends) {
      slices->next = page.back().address;
      page.pop_back();
    }
    for (const auto& backend : page) slices->json.add(out, status_view(backend));
    if (slices->next) return false;
    slices->json.end(out, ring_status());
    return true;
  };
}

BodyWriter PoolWatcher::metrics_body() const {
  auto slices = std::make_shared<MetricsSlices>();
  return [this, slices](std::string& out) {
    return metrics_.registry().render_some(out, slices->cursor, kMetricsSliceLines);
  };
}

std::optional<RingStatusView> PoolWatcher::ring_status() const {
  if (!ring_) return std::nullopt;
  return ring_->status();
}

bool PoolWatcher::held_by_poolwatch(const IpAddress& address) const {
  return ring_ ? ring_->owns(address) : planner_.owns(address);
}

std::string PoolWatcher::status_summary() const {
  const auto counts = tracker_.state_counts();
  const auto count = [&counts](CheckState state) {
    return counts[static_cast<std::size_t>(state)];
  };
  const std::size_t down = count(CheckState::down);
  const std::size_t suspect = count(CheckState::suspect) + count(CheckState::rapid);
  const auto held = ring_ ? ring_->owned_hosts().size() : planner_.owned().size();
  return fmt::format("{} backends, {} down, {} suspect, {} held down by poolwatch{}{}",
                     pool_.hosts.size(), down, suspect, held,
                     ready_ ? "" : ", director unreachable",
                     ring_ ? fmt::format(", ring role {}", ring_->status().role) : "");
}

void PoolWatcher::reload(const Config& fresh) {
  const auto needs_restart = [](std::string_view key) {
    spdlog::warn("config: {} changed; it takes effect after a restart", key);
  };
  // The director client, the probe runner (TLS contexts, in-flight slots), the HTTP
  // server, the log sink and the files keep what they were built with: a change there
  // is reported, never passed over in silence.
  if (fresh.director != config_.director) needs_restart("director.*");
  ProbeConfig fresh_probe = fresh.probe;
  fresh_probe.ports = config_.probe.ports;  // the port list is read per scan
  if (fresh_probe != config_.probe) needs_restart("probe.* (other than probe.ports)");
  if (fresh.http != config_.http) needs_restart("http.*");
  if (fresh.metrics != config_.metrics) needs_restart("metrics.*");
  if (fresh.ring != config_.ring) needs_restart("ring.*");
  // The policy applies at once; the endpoint keeps its socket, allow-list and limits.
  PassiveConfig fresh_passive = fresh.passive;
  fresh_passive.failures = config_.passive.failures;
  fresh_passive.window = config_.passive.window;
  fresh_passive.may_down = config_.passive.may_down;
  if (fresh_passive != config_.passive)
    needs_restart("passive.* (other than failures, window and may_down)");
  LogConfig fresh_log = fresh.log;
  fresh_log.level = config_.log.level;  // applied below
  if (fresh_log != config_.log) needs_restart("log.* (other than log.level)");
  if (fresh.state_file != config_.state_file) needs_restart("state_file");
  if (fresh.pidfile != config_.pidfile) needs_restart("pidfile");
  if (fresh.event_log != config_.event_log) needs_restart("event_log");

  config_.health = fresh.health;
  config_.actions = fresh.actions;
  config_.dry_run = fresh.dry_run;
  config_.probe.ports = fresh.probe.ports;  // new checks start on the next scan
  config_.credentials = fresh.credentials;
  config_.log.level = fresh.log.level;
  config_.passive.failures = fresh.passive.failures;
  config_.passive.window = fresh.passive.window;
  config_.passive.may_down = fresh.passive.may_down;  // read at each suspicion
  if (passive_) passive_->set_policy(config_.passive);
  checks_dirty_ = true;  // ports, skip_disabled or accounts may change what is probed
  tracker_.set_config(fresh.health, std::chrono::steady_clock::now());
  wake_checks();  // a check waiting out the old interval re-reads its plan
  planner_.set_config(fresh.actions, fresh.dry_run);
  if (auto level = log_level_from_name(fresh.log.level); level && !debug_)
    spdlog::set_level(*level);
  reload_credentials(credentials_, fresh.credentials);
  spdlog::info("config reloaded{}", config_.dry_run ? " (dry-run)" : "");
  wake_scan();
}

void PoolWatcher::reopen_logs() {
  reopen_log_file();
  events_.reopen();
}

}  // namespace poolwatch
