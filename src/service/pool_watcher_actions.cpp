// The acting half of PoolWatcher: making the plan in turns, sending the planned director
// commands one at a time, reporting what was held back and why, and the state file.
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "poolwatch/common/text.hpp"
#include "poolwatch/director/director_protocol.hpp"
#include "poolwatch/health/state_file.hpp"
#include "poolwatch/service/hook_runner.hpp"
#include "poolwatch/service/logging.hpp"
#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using director::HostCommand;

// The plan compares every host of the pool with its verdict: at 100 000 hosts about
// 100 ms in one go, so it is made kHostsPerPlanTurn hosts at a time with the loop running
// between turns. A stop asked meanwhile lets it finish in one go (at most that 100 ms):
// the comparison already released hosts, and execute() records that before it returns.
asio::awaitable<ActionPlan> PoolWatcher::plan_in_turns(
    const ActionPlanner::VerdictLookup& verdict_of) {
  auto progress = planner_.begin_plan(pool_);
  std::size_t turn = stopping_ ? pool_.hosts.size() : kHostsPerPlanTurn;
  while (!planner_.compare_some(progress, pool_, verdict_of, turn)) {
    co_await yield_to_loop();
    if (stopping_) turn = pool_.hosts.size();
  }
  co_return planner_.finish_plan(std::move(progress), pool_, verdict_of);
}

namespace {

// The status page's line on the pool guard after a plan.
std::string guard_summary(const GuardDecision& guard) {
  if (!guard.blocked.empty())
    return fmt::format("holding back {} HOST-DOWN(s): {}", guard.blocked.size(),
                       guard_limit_reason(guard));
  return fmt::format("{} of {} hosts may be down at once (max_down_percent {}); {} counted down",
                     guard.limit, guard.pool_size, guard.max_down_percent, guard.held_down);
}

}  // namespace

asio::awaitable<void> PoolWatcher::execute(ActionPlan plan) {
  report_suppressed(plan);
  for (const auto& released : plan.released)
    spdlog::info("{}: no longer held down by poolwatch: {}", released.host.address.to_string(),
                 released.reason);
  if (plan.ownership_changed) ownership_changed();

  bool last_down_ok = true;
  for (const auto& command : plan.commands) {
    if (stopping_) co_return;
    const auto address = command.address.to_string();
    const auto name = director::command_name(command.kind);
    if (command.follows_down && !last_down_ok) {
      spdlog::warn("director: {} {} skipped: its HOST-DOWN failed", name, address);
      continue;
    }
    const auto reply = co_await director_.send(command.kind, command.address);
    const bool ok = reply.ok();
    if (command.kind == HostCommand::down) last_down_ok = ok;
    if (ok) {
      spdlog::info("director: {} {} sent: {}", name, address, command.reason);
    } else {
      spdlog::error("director: {} {} failed ({}{}{}); it is tried again next scan", name, address,
                    to_string(reply.status), reply.text.empty() ? "" : ": ", reply.text);
    }
    metrics_.action_sent(command.kind, address, ok ? "ok" : to_string(reply.status));
    events_.action(std::chrono::system_clock::now(), name, address,
                   ok ? "ok" : std::string(to_string(reply.status)), command.reason);
    if (planner_.on_command_result(command, reply.status, unix_now())) ownership_changed();
    if (ok && command.kind == HostCommand::down) run_hook("down", command.address, command.reason);
    if (ok && command.kind == HostCommand::up) run_hook("up", command.address, command.reason);
    // Without a connection the rest would fail the same way; the next scan retries.
    if (reply.status == DirectorReplyStatus::no_reply) co_return;
  }
}

void PoolWatcher::report_suppressed(const ActionPlan& plan) {
  if (auto line = guard_log_.after_scan(plan.guard, std::chrono::steady_clock::now()))
    spdlog::log(
        line->level == GuardLogLine::Level::error ? spdlog::level::err : spdlog::level::warn, "{}",
        line->text);
  if (auto line = scan_cap_log_.after_scan(plan.suppressed, config_.actions.max_actions_per_scan,
                                           std::chrono::steady_clock::now()))
    spdlog::log(scan_cap_log_.postponing() ? spdlog::level::warn : spdlog::level::info, "{}",
                *line);
  for (const auto& s : plan.suppressed) {
    const auto address = s.address.to_string();
    const auto name = director::command_name(s.kind);
    switch (s.because) {
      case SuppressedBecause::pool_guard:
        // Summed up above; each host's own reason only when it is newly blocked.
        if (s.first_report)
          spdlog::debug("pool guard: NOT sending {} {}: {}", name, address, s.reason);
        break;
      case SuppressedBecause::dry_run:
        if (s.first_report) spdlog::info("dry-run: would send {} {}: {}", name, address, s.reason);
        break;
      case SuppressedBecause::manual_down:
        if (s.first_report) spdlog::info("{}: {} not sent: {}", address, name, s.reason);
        break;
      case SuppressedBecause::scan_cap:
        // Summed up above, as the guard's are.
        if (s.first_report) spdlog::debug("{} {} postponed: {}", name, address, s.reason);
        break;
    }
    // The metric counts every scan's suppression (alert rules take its rate); the event
    // log, like the log, records a newly suppressed action, not each scan it stays so.
    if (s.first_report || s.because == SuppressedBecause::pool_guard)
      metrics_.action_suppressed(s.kind, address, s.because);
    if (s.first_report)
      events_.suppressed(std::chrono::system_clock::now(), name, address,
                         std::string(to_string(s.because)) + ": " + s.reason);
  }
  metrics_.pool_guard_engaged(guard_log_.blocking());
  guard_text_ = guard_summary(plan.guard);
}

void PoolWatcher::ownership_changed() {
  if (ring_) {
    auto after = planner_.owned();
    ring_->planner_changed(planner_before_, after);
    planner_before_ = std::move(after);
  }
  save_state();
}

void PoolWatcher::save_state() {
  if (config_.state_file.empty()) return;
  if (auto error = save_state_file(config_.state_file, planner_.owned()))
    spdlog::error("state: {}", *error);
}

}  // namespace poolwatch
