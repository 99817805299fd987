#include "poolwatch/health/action_planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace poolwatch {

using director::HostCommand;

namespace {

// The director answers "Ring sync timed out" both when the command waited for a ring
// sync that never came (it did not run) and when it ran but the ring did not confirm it
// in time (it took effect on this director). Such a "maybe" is taken the way the next
// scan corrects: a HOST-DOWN as applied, since owning a host the director still lists up
// only makes the next scan send the HOST-DOWN again, while not owning a host it did take
// down would leave it down for good as someone else's. A HOST-UP as not applied: still
// owned, it is sent again if the host is still down, and released once HOST-LIST lists it
// up; given up, a HOST-UP that did not apply would leave an owned host down for good. A
// flush as not applied: it stays pending and is sent again, and flushing a down host a
// second time is harmless.
bool taken_as_applied(HostCommand kind, DirectorReplyStatus reply) {
  if (reply == DirectorReplyStatus::ok) return true;
  return kind == HostCommand::down && reply == DirectorReplyStatus::ring_sync_timeout;
}

}  // namespace

std::string_view to_string(SuppressedBecause because) {
  switch (because) {
    case SuppressedBecause::pool_guard:
      return "pool_guard";
    case SuppressedBecause::dry_run:
      return "dry_run";
    case SuppressedBecause::manual_down:
      return "manual_down";
    case SuppressedBecause::scan_cap:
      return "cap";
  }
  return "?";
}

ActionPlanner::ActionPlanner(ActionConfig config, bool dry_run, std::vector<OwnedHost> owned)
    : config_(std::move(config)), dry_run_(dry_run) {
  for (auto& host : owned) owned_.insert_or_assign(host.address, std::move(host));
}

void ActionPlanner::set_config(const ActionConfig& config, bool dry_run) {
  config_ = config;
  dry_run_ = dry_run;
}

std::vector<OwnedHost> ActionPlanner::owned() const {
  std::vector<OwnedHost> result;
  for (const auto& [address, host] : owned_) result.push_back(host);
  return result;
}

void ActionPlanner::suppress(ActionPlan& plan, HostCommand kind, const IpAddress& address,
                             SuppressedBecause because, std::string reason) {
  SuppressionKey key{address, kind, because};
  const bool first = !suppressed_last_scan_.contains(key);
  suppressed_this_scan_.insert(key);
  if (because == SuppressedBecause::dry_run && !first) return;
  plan.suppressed.push_back({kind, address, because, std::move(reason), first});
}

void ActionPlanner::add_down(ActionPlan& plan, const IpAddress& address,
                             const std::string& reason) const {
  plan.commands.push_back({HostCommand::down, address, reason, false});
  add_flush(plan, address, reason, true);
}

void ActionPlanner::add_flush(ActionPlan& plan, const IpAddress& address, std::string reason,
                              bool follows_down) const {
  switch (config_.flush_mode) {
    case FlushMode::reset_users:
      plan.commands.push_back({HostCommand::reset_users, address, std::move(reason), follows_down});
      break;
    case FlushMode::flush:
      plan.commands.push_back({HostCommand::flush, address, std::move(reason), follows_down});
      break;
    case FlushMode::none:
      break;
  }
}

bool ActionPlanner::retry_pending_flushes(ActionPlan& plan, const PoolSnapshot& pool,
                                          const VerdictLookup& verdict_of) {
  bool dropped = false;
  for (auto& entry : owned_) {
    // Not a structured binding: clang before 16 cannot capture one in a lambda.
    const IpAddress& address = entry.first;
    OwnedHost& owned = entry.second;
    if (!owned.flush_pending) continue;
    const HostEntry* host = pool.find(address);
    const BackendVerdict* verdict = verdict_of(address);
    const bool still_down = host != nullptr && host->down.value_or(false) &&
                            (verdict == nullptr || verdict->verdict != Verdict::up);
    if (!still_down || config_.flush_mode == FlushMode::none) {
      owned.flush_pending = false;  // up again, or no flush wanted any more
      dropped = true;
      continue;
    }
    const bool down_planned = std::any_of(plan.commands.begin(), plan.commands.end(), [&](auto& c) {
      return c.address == address && c.kind == HostCommand::down;
    });
    if (!down_planned)
      add_flush(plan, address,
                "the flush after its HOST-DOWN was not answered OK; sending it again", false);
  }
  return dropped;
}

void ActionPlanner::forget_hosts_gone_from(ActionPlan& plan, const PoolSnapshot& pool) {
  for (auto it = owned_.begin(); it != owned_.end();) {
    if (pool.find(it->first) != nullptr) {
      ++it;
      continue;
    }
    plan.released.push_back({std::move(it->second), "gone from HOST-LIST, forgotten"});
    it = owned_.erase(it);
  }
}

void ActionPlanner::compare_host(PlanInProgress& progress, const HostEntry& host,
                                 const VerdictLookup& verdict_of) {
  if (!progress.seen.insert(host.address).second) return;  // a repeat: the guard counts hosts
  WantedActions& wanted = progress.wanted;
  ActionPlan& plan = progress.plan;
  ++wanted.pool_size;
  const bool owned = owns(host.address);
  // Directors before 2.2.19 send no U/D flag; such a host counts as up.
  const bool director_down = host.down.value_or(false);
  if (owned) ++wanted.held_down;
  if (director_down && !owned) ++wanted.down_by_others;
  const BackendVerdict* found = verdict_of(host.address);
  if (found == nullptr) return;
  const BackendVerdict& verdict = *found;
  if (verdict.verdict == Verdict::down && !director_down) {
    if (owned)
      wanted.resends.push_back(
          {HostCommand::down, host.address,
           fmt::format("the director lists it up again although poolwatch took "
                       "it down (director restart?); still failing: {}",
                       verdict.reason)});
    else
      wanted.new_downs.push_back({host.address, verdict.since_unix, verdict.reason});
  } else if (verdict.verdict == Verdict::up && director_down) {
    if (owned)
      wanted.ups.push_back(
          {HostCommand::up, host.address, fmt::format("healthy again: {}", verdict.reason)});
    else if (config_.up_manual_downs)
      wanted.ups.push_back({HostCommand::up, host.address,
                            fmt::format("healthy, down by someone else, up_manual_downs is set: {}",
                                        verdict.reason)});
    else
      suppress(plan, HostCommand::up, host.address, SuppressedBecause::manual_down,
               "healthy, but down by an admin or another monitor: left down");
  } else if (verdict.verdict == Verdict::up && owned && !dry_run_) {
    plan.released.push_back(
        {owned_.at(host.address), "the director lists it up and it is healthy"});
    owned_.erase(host.address);
    --wanted.held_down;
  }
}

// Resends first (keeping a host down that poolwatch already holds), then the new downs
// the guard allows, then the ups.
std::vector<WantedAction> ActionPlanner::guard_new_downs(ActionPlan& plan, std::size_t pool_size,
                                                         WantedActions wanted) {
  const bool count_all = config_.max_down_counts == GuardCounts::all;
  const std::size_t counted_down = wanted.held_down + (count_all ? wanted.down_by_others : 0);
  plan.guard = apply_pool_guard(pool_size, counted_down, config_.max_down_percent,
                                std::move(wanted.new_downs), config_.max_down_counts);
  for (const auto& blocked : plan.guard.blocked)
    suppress(plan, HostCommand::down, blocked.candidate.address, SuppressedBecause::pool_guard,
             fmt::format("{} (failing: {})", blocked.reason, blocked.candidate.reason));

  std::vector<WantedAction> actions = std::move(wanted.resends);
  for (const auto& allowed : plan.guard.allowed)
    actions.push_back({HostCommand::down, allowed.address, allowed.reason});
  actions.insert(actions.end(), std::make_move_iterator(wanted.ups.begin()),
                 std::make_move_iterator(wanted.ups.end()));
  return actions;
}

void ActionPlanner::queue_within_cap(ActionPlan& plan, std::vector<WantedAction> wanted) {
  // A down and its flush are one action. The config refuses a cap below 1.
  const auto cap = static_cast<std::size_t>(config_.max_actions_per_scan);
  std::size_t taken = 0;
  for (auto& action : wanted) {
    if (taken >= cap) {
      suppress(plan, action.kind, action.address, SuppressedBecause::scan_cap,
               fmt::format("max_actions_per_scan {} reached, retried next scan ({})", cap,
                           action.reason));
      continue;
    }
    ++taken;
    if (dry_run_) {
      suppress(plan, action.kind, action.address, SuppressedBecause::dry_run,
               std::move(action.reason));
    } else if (action.kind == HostCommand::down) {
      add_down(plan, action.address, action.reason);
    } else {
      plan.commands.push_back({action.kind, action.address, std::move(action.reason), false});
    }
  }
}

ActionPlan ActionPlanner::plan(const PoolSnapshot& pool, const Verdicts& verdicts) {
  const VerdictLookup verdict_of = [&verdicts](const IpAddress& address) -> const BackendVerdict* {
    const auto found = verdicts.find(address);
    return found == verdicts.end() ? nullptr : &found->second;
  };
  auto progress = begin_plan(pool);
  compare_some(progress, pool, verdict_of, pool.hosts.size());
  return finish_plan(std::move(progress), pool, verdict_of);
}

ActionPlanner::PlanInProgress ActionPlanner::begin_plan(const PoolSnapshot& pool) {
  PlanInProgress progress;
  suppressed_this_scan_.clear();
  // In dry-run nothing was sent, so nothing poolwatch owns can change either.
  if (!dry_run_) forget_hosts_gone_from(progress.plan, pool);
  return progress;
}

bool ActionPlanner::compare_some(PlanInProgress& progress, const PoolSnapshot& pool,
                                 const VerdictLookup& verdict_of, std::size_t max_hosts) {
  const std::size_t end = std::min(pool.hosts.size(), progress.next_host + max_hosts);
  for (; progress.next_host < end; ++progress.next_host)
    compare_host(progress, pool.hosts[progress.next_host], verdict_of);
  return progress.next_host >= pool.hosts.size();
}

ActionPlan ActionPlanner::finish_plan(PlanInProgress progress, const PoolSnapshot& pool,
                                      const VerdictLookup& verdict_of) {
  ActionPlan& result = progress.plan;
  const auto pool_size = progress.wanted.pool_size;
  queue_within_cap(result, guard_new_downs(result, pool_size, std::move(progress.wanted)));
  const bool flush_dropped = !dry_run_ && retry_pending_flushes(result, pool, verdict_of);

  suppressed_last_scan_ = std::move(suppressed_this_scan_);
  suppressed_this_scan_.clear();
  result.ownership_changed = !result.released.empty() || flush_dropped;
  return std::move(result);
}

bool ActionPlanner::on_command_result(const PlannedCommand& command, DirectorReplyStatus reply,
                                      std::int64_t unix_now) {
  if (dry_run_ || !taken_as_applied(command.kind, reply)) return false;
  switch (command.kind) {
    case HostCommand::down: {
      // A re-sent HOST-DOWN keeps the original time: the outage did not start anew.
      auto [it, added] =
          owned_.try_emplace(command.address, OwnedHost{command.address, unix_now, command.reason});
      const bool flush_wanted = config_.flush_mode != FlushMode::none;
      const bool flush_added = flush_wanted && !it->second.flush_pending;
      it->second.flush_pending = flush_wanted || it->second.flush_pending;
      return added || flush_added;
    }
    case HostCommand::up:
      return owned_.erase(command.address) > 0;
    case HostCommand::reset_users:
    case HostCommand::flush: {
      const auto it = owned_.find(command.address);
      if (it == owned_.end() || !it->second.flush_pending) return false;
      it->second.flush_pending = false;
      return true;
    }
  }
  return false;
}

}  // namespace poolwatch
