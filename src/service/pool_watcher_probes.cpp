// The probes of the daemon: one queue of checks by due time, one loop that starts the
// due probes, and what a probe's outcome changes (tracker, metrics, logs, event log).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>

#include "poolwatch/common/text.hpp"
#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace asio = boost::asio;

void PoolWatcher::start_check(const CheckId& id) {
  queue_check(id, tracker_.plan(id).due);
}

// Stopped at once: a probe left running would record an outcome for a check that is gone.
void PoolWatcher::stop_check(const CheckId& id) {
  due_.remove(id);
  const auto it = probing_.find(id);
  if (it == probing_.end()) return;
  const auto probe = std::move(it->second);
  probing_.erase(it);
  probe->cancelled = true;
  probe->cancel.emit(asio::cancellation_type::terminal);
}

// A reload: every waiting check's due time again, from the new settings.
void PoolWatcher::wake_checks() {
  due_.reschedule_all([this](const CheckId& id) { return tracker_.plan(id).due; });
  due_timer_.cancel();
}

void PoolWatcher::queue_check(const CheckId& id, SteadyTime due) {
  due_.schedule(id, due);
  if (on_start_grid(due) < due_timer_.expiry()) due_timer_.cancel();
}

// Sleeps until the earliest due check (on the start grid, so the probes due within one
// step start in one wake-up), starts the due probes a turn at a time, and sleeps again.
asio::awaitable<void> PoolWatcher::start_due_probes() {
  while (!stopping_) {
    const auto next = due_.next_due();
    due_timer_.expires_at(next ? on_start_grid(*next) : SteadyTime::max());
    boost::system::error_code ec;
    co_await due_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    const auto due = due_.take_due(std::chrono::steady_clock::now(), kChecksPerTurn);
    for (const auto& id : due) start_probe(id);
    if (due.size() == kChecksPerTurn) co_await yield_to_loop();
  }
}

void PoolWatcher::start_probe(const CheckId& id) {
  auto probe = std::make_shared<RunningProbe>();
  probing_.insert_or_assign(id, probe);
  loops_.add();
  auto task = probe_check(id, probe);
  asio::co_spawn(executor_, std::move(task),
                 asio::bind_cancellation_slot(probe->cancel.slot(), ProbeDone{this, id, probe}));
}

void PoolWatcher::ProbeDone::operator()(std::exception_ptr e) const {
  watcher->probe_ended(id, *probe, e);
}

// What a probe needs lives in this frame, which exists only while it runs: a frame per
// check for as long as it is probed cost 0.8 KB a check (2.5 MB at 1000 backends).
asio::awaitable<void> PoolWatcher::probe_check(CheckId id, std::shared_ptr<RunningProbe> probe) {
  const ProbePlan plan = tracker_.plan(id);
  const ProbeTarget target{id.address, id.address.to_string(), id.port};
  // g++ 12: see CONTRIBUTING.md (no temporaries in a co_await expression).
  auto account = account_for(id.address);
  const auto timeout = std::chrono::duration_cast<Seconds>(plan.timeout);
  auto outcome = co_await probes_.run(target, std::move(account), timeout);
  if (probe->cancelled || stopping_) co_return;
  after_probe(id, plan, target.host_name, outcome);
}

// The check's next probe is queued, even after an unexpected error (which no probe
// should raise): one probe lost, not the check. A stopped check is not queued again.
void PoolWatcher::probe_ended(const CheckId& id, const RunningProbe& probe,
                              std::exception_ptr failure) {
  loops_.done();
  if (probe.cancelled || stopping_) return;
  probing_.erase(id);
  const ProbePlan* plan = tracker_.plan_if_tracked(id);
  if (plan == nullptr) return;
  auto due = plan->due;
  if (failure) {
    spdlog::error("{} {}: probe ended by an unexpected error: {}; next probe in one interval",
                  id.address.to_string(), check_label(id.port), exception_message(failure));
    due = std::max(due, std::chrono::steady_clock::now() +
                            std::chrono::duration_cast<SteadyDuration>(config_.health.interval));
  }
  queue_check(id, due);
}

void PoolWatcher::after_probe(const CheckId& id, const ProbePlan& plan, const std::string& address,
                              const ProbeOutcome& outcome) {
  if (outcome.started != SteadyTime{}) metrics_.probe_lateness(lateness(plan, outcome.started));
  metrics_.probe_result(address, id.port.protocol, outcome.failure, outcome.latency);
  metrics_.probes_in_flight(probes_.in_flight());
  report_not_run(outcome);
  const auto result = tracker_.record(id, outcome, std::chrono::steady_clock::now(), unix_now());
  on_record(id, address, outcome, result);
  if (outcome.cert_not_after) note_cert_expiry(id, address, *outcome.cert_not_after);
  if (const auto* tls = probes_.tls_if_made())
    metrics_.tls_handshakes(tls->full_handshakes(), tls->resumed_handshakes());
}

void PoolWatcher::on_record(const CheckId& id, const std::string& address,
                            const ProbeOutcome& outcome, const RecordResult& r) {
  if (!outcome.ok())
    spdlog::debug("{} {}: {} ({} ms)", address, check_label(id.port), outcome.reason,
                  outcome.latency.count() / 1000);
  if (r.check) {
    const bool first_up = r.check->from == CheckState::pending && r.check->to == CheckState::up;
    // The reason starts with the check's label ("imap:143: ...").
    spdlog::log(first_up ? spdlog::level::debug : spdlog::level::info, "{} {} -> {}: {}", address,
                to_string(r.check->from), to_string(r.check->to), r.check->reason);
    events_.transition(std::chrono::system_clock::now(), address, check_label(id.port),
                       to_string(r.check->from), to_string(r.check->to), r.check->reason);
  }
  if (r.backend) log_backend_transition(*r.backend);
  if (const auto state = tracker_.backend_state(id.address))
    metrics_.backend_state(address, to_string(*state));
}

void PoolWatcher::report_not_run(const ProbeOutcome& outcome) {
  switch (not_run_.record(outcome.ran(), std::chrono::steady_clock::now())) {
    case NotRunEpisode::Change::started:
      spdlog::warn(
          "probes: poolwatch cannot run some probes ({}); they count against no backend. "
          "Raise the descriptor limit (LimitNOFILE) or lower probe.max_in_flight",
          outcome.reason);
      break;
    case NotRunEpisode::Change::ended:
      spdlog::info("probes: running again; {} probe(s) could not run meanwhile",
                   not_run_.not_run());
      break;
    case NotRunEpisode::Change::none:
      break;
  }
}

void PoolWatcher::note_cert_expiry(const CheckId& id, const std::string& address,
                                   std::int64_t not_after) {
  const auto notice = cert_expiry_.record(address, check_label(id.port), not_after, unix_now());
  if (const auto earliest = cert_expiry_.earliest(address))
    metrics_.cert_expiry(address, *earliest);
  if (!notice) return;
  // With probe.tls.verify_peer off (the default) an expired certificate still shakes hands.
  const auto when = notice->days_left < 0 ? fmt::format("expired {} days ago", -notice->days_left)
                                          : fmt::format("expires in {} days", notice->days_left);
  if (notice->kind == CertExpiryWatch::Notice::Kind::expires_soon)
    spdlog::warn("backend {}: the TLS certificate of {} {} ({})", address, notice->check, when,
                 utc_text(notice->not_after));
  else
    spdlog::info("backend {}: TLS certificates renewed; the earliest ({}) expires in {} days ({})",
                 address, notice->check, notice->days_left, utc_text(notice->not_after));
}

}  // namespace poolwatch
