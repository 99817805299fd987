// The acting half of PoolWatcher: sending the planned director commands one at a time,
// reporting what was held back and why, the state file, the transition hook, --once,
// status and reload.
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "poolwatch/director_protocol.hpp"
#include "poolwatch/hook_runner.hpp"
#include "poolwatch/logging.hpp"
#include "poolwatch/pool_watcher.hpp"
#include "poolwatch/state_file.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using Address = asio::ip::address;

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

director::HostCommand host_command(DirectorCommandKind kind) {
  switch (kind) {
    case DirectorCommandKind::host_down:
      return director::HostCommand::down;
    case DirectorCommandKind::host_up:
      return director::HostCommand::up;
    case DirectorCommandKind::host_flush:
      return director::HostCommand::flush;
    case DirectorCommandKind::host_reset_users:
      return director::HostCommand::reset_users;
  }
  return director::HostCommand::down;
}

std::string_view action_label(DirectorCommandKind kind) {
  switch (kind) {
    case DirectorCommandKind::host_down:
      return "down";
    case DirectorCommandKind::host_up:
      return "up";
    case DirectorCommandKind::host_flush:
      return "flush";
    case DirectorCommandKind::host_reset_users:
      return "reset_users";
  }
  return "?";
}

SuppressReason suppress_reason(SuppressedBecause b) {
  switch (b) {
    case SuppressedBecause::pool_guard:
      return SuppressReason::pool_guard;
    case SuppressedBecause::dry_run:
      return SuppressReason::dry_run;
    case SuppressedBecause::manual_down:
      return SuppressReason::manual_down;
    case SuppressedBecause::scan_cap:
      return SuppressReason::cap;
  }
  return SuppressReason::cap;
}

asio::awaitable<void> run_and_log_hook(std::string command, std::string event, std::string address,
                                       std::string reason, Seconds timeout) {
  const auto r = co_await run_transition_hook(command, event, address, reason, timeout);
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

asio::awaitable<void> PoolWatcher::execute(ActionPlan plan) {
  report_suppressed(plan);
  for (const auto& released : plan.released)
    spdlog::info("{}: no longer held down by poolwatch: {}", released.host.address.to_string(),
                 released.reason);
  if (plan.ownership_changed) save_state();

  bool last_down_ok = true;
  for (const auto& command : plan.commands) {
    if (stopping_) co_return;
    const auto address = command.address.to_string();
    const auto name = to_string(command.kind);
    if (command.follows_down && !last_down_ok) {
      spdlog::warn("director: {} {} skipped: its HOST-DOWN failed", name, address);
      continue;
    }
    const auto reply = co_await director_.send(host_command(command.kind), command.address);
    const bool ok = reply.ok();
    if (command.kind == DirectorCommandKind::host_down) last_down_ok = ok;
    if (ok) {
      spdlog::info("director: {} {} sent: {}", name, address, command.reason);
    } else {
      spdlog::error("director: {} {} failed ({}{}{}); it is tried again next scan", name, address,
                    to_string(reply.status), reply.text.empty() ? "" : ": ", reply.text);
    }
    metrics_.action_sent(action_label(command.kind), address, ok ? "ok" : to_string(reply.status));
    events_.action(std::chrono::system_clock::now(), name, address,
                   ok ? "ok" : std::string(to_string(reply.status)), command.reason);
    // A HOST-DOWN answered "Ring sync timed out" may have reached the ring. Counting it
    // as ours is the safe side: if it did not apply, the next scan sees the host up and
    // sends it again; counted as failed, a host it did take down would never come back.
    const bool owned_now = ok || (command.kind == DirectorCommandKind::host_down &&
                                  reply.status == DirectorReplyStatus::ring_sync_timeout);
    if (planner_.on_command_result(command, owned_now, unix_now())) save_state();
    if (ok && command.kind == DirectorCommandKind::host_down)
      run_hook("down", command.address, command.reason);
    if (ok && command.kind == DirectorCommandKind::host_up)
      run_hook("up", command.address, command.reason);
    // Without a connection the rest would fail the same way; the next scan retries.
    if (reply.status == DirectorReplyStatus::no_reply) co_return;
  }
}

void PoolWatcher::report_suppressed(const ActionPlan& plan) {
  bool guard = false;
  for (const auto& s : plan.suppressed) {
    const auto address = s.address.to_string();
    const auto name = to_string(s.kind);
    switch (s.because) {
      case SuppressedBecause::pool_guard:
        guard = true;
        spdlog::error("pool guard: NOT sending {} {}: {}", name, address, s.reason);
        break;
      case SuppressedBecause::dry_run:
        if (s.first_report) spdlog::info("dry-run: would send {} {}: {}", name, address, s.reason);
        break;
      case SuppressedBecause::manual_down:
        if (s.first_report) spdlog::info("{}: {} not sent: {}", address, name, s.reason);
        break;
      case SuppressedBecause::scan_cap:
        spdlog::warn("{} {} postponed to the next scan: {}", name, address, s.reason);
        break;
    }
    if (s.first_report || s.because == SuppressedBecause::pool_guard) {
      metrics_.action_suppressed(action_label(s.kind), address, suppress_reason(s.because));
      events_.suppressed(std::chrono::system_clock::now(), name, address,
                         std::string(to_string(s.because)) + ": " + s.reason);
    }
  }
  metrics_.pool_guard_engaged(guard);
}

void PoolWatcher::save_state() {
  if (config_.state_file.empty()) return;
  if (auto error = save_state_file(config_.state_file, planner_.owned()))
    spdlog::error("state: {}", *error);
}

void PoolWatcher::run_hook(std::string_view event, const Address& a, const std::string& reason) {
  if (config_.actions.on_transition.empty()) return;
  spawn_logged(executor_,
               run_and_log_hook(config_.actions.on_transition, std::string(event), a.to_string(),
                                reason, config_.actions.on_transition_timeout),
               "on_transition hook");
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
  out << fmt::format("{:<40} {:>6} {:>6} {:<10} {}\n", "backend", "vhosts", "users", "tag",
                     "director");
  for (const auto& h : pool_.hosts)
    out << fmt::format("{:<40} {:>6} {:>6} {:<10} {}\n", h.address.to_string(), h.vhost_count,
                       h.user_count, h.tag.empty() ? "-" : h.tag,
                       h.down ? (*h.down ? "down" : "up") : "?");
  for (const auto& a : probed_backends(pool_))
    for (const auto& port : config_.probe.ports)
      once_results_.push_back({ProbeTarget{a, a.to_string(), port}, {}});
  loops_.add(once_results_.size());
  for (std::size_t i = 0; i < once_results_.size(); ++i)
    spawn_logged(executor_, once_probe(i), "probe");
  if (loops_.count() > 0) co_await loops_.wait();

  int unhealthy = 0;
  out << "\n";
  for (const auto& r : once_results_) {
    if (!r.outcome.ok()) ++unhealthy;
    out << fmt::format("{:<40} {:<18} {:<8} {:>8.1f} ms  {}\n", r.target.host_name,
                       check_label(r.target.port), r.outcome.ok() ? "OK" : "FAIL",
                       static_cast<double>(r.outcome.latency.count()) / 1000.0,
                       r.outcome.ok() ? "" : r.outcome.reason);
  }
  out << fmt::format("\n{} probe(s), {} failed\n", once_results_.size(), unhealthy);
  co_await director_.shutdown(std::chrono::milliseconds(250));
  co_return unhealthy > 0 ? 1 : 0;
}

std::vector<BackendStatusView> PoolWatcher::status() const {
  std::vector<BackendStatusView> views;
  for (const auto& backend : tracker_.status()) {
    BackendStatusView v;
    v.address = backend.address.to_string();
    v.state =
        backend.verdict.verdict == Verdict::down ? "down" : backend_state_name(backend.address);
    v.since_unix = backend.verdict.since_unix;
    v.reason = backend.verdict.reason;
    if (planner_.owns(backend.address)) v.reason = "held down by poolwatch: " + v.reason;
    if (const auto* h = pool_.find(backend.address);
        h && h->down.value_or(false) && !planner_.owns(backend.address))
      v.reason = "down in the director, not by poolwatch (left alone)" +
                 (v.reason.empty() ? std::string() : "; " + v.reason);
    for (const auto& c : backend.checks) {
      CheckStatusView cv;
      cv.name = c.label;
      cv.state = std::string(to_string(c.state));
      cv.consecutive_failures = c.consecutive_failures;
      cv.last_outcome = c.last_outcome ? std::string(to_string(*c.last_outcome)) : "";
      cv.last_latency_ms = static_cast<double>(c.last_latency.count()) / 1000.0;
      if (cv.last_latency_ms > v.last_latency_ms) v.last_latency_ms = cv.last_latency_ms;
      if (c.last_outcome && (v.last_outcome.empty() || v.last_outcome == "ok"))
        v.last_outcome = cv.last_outcome;
      v.checks.push_back(std::move(cv));
    }
    views.push_back(std::move(v));
  }
  return views;
}

std::string PoolWatcher::status_summary() const {
  std::size_t down = 0, suspect = 0;
  for (const auto& [a, checks] : backend_checks_) {
    const auto s = backend_state_name(a);
    if (s == "down")
      ++down;
    else if (s == "suspect" || s == "rapid")
      ++suspect;
  }
  return fmt::format("{} backends, {} down, {} suspect, {} held down by poolwatch{}",
                     pool_.hosts.size(), down, suspect, planner_.owned().size(),
                     ready_ ? "" : ", director unreachable");
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
