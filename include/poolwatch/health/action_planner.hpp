#pragma once
// Decides which director commands to send. It reconciles every scan: the director's
// HOST-LIST (including its U/D flag), the health verdicts and the hosts poolwatch itself
// took down ("owned") are compared afresh, so a HOST-DOWN that a director restart lost
// is sent again and an admin's manual down is never undone. Ownership changes only with
// the director's answers, which the caller feeds back through on_command_result.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/director/director_protocol.hpp"
#include "poolwatch/director/pool.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/health/pool_guard.hpp"

namespace poolwatch {

struct PlannedCommand {
  director::HostCommand kind = director::HostCommand::down;
  IpAddress address;
  std::string reason;
  // The flush that belongs to the HOST-DOWN before it: skip it if that HOST-DOWN failed.
  bool follows_down = false;
};

enum class SuppressedBecause { pool_guard, dry_run, manual_down, scan_cap };
// "pool_guard", "dry_run", "manual_down", "cap": the reason label of
// poolwatch_actions_suppressed_total, which alert rules select on; keep the values.
std::string_view to_string(SuppressedBecause because);

struct SuppressedAction {
  director::HostCommand kind = director::HostCommand::down;  // down or up
  IpAddress address;
  SuppressedBecause because = SuppressedBecause::pool_guard;
  std::string reason;
  // False when the same action was suppressed for the same cause in the previous scan;
  // dry-run actions are only listed when this is true.
  bool first_report = true;
};

// A host poolwatch took down; persisted in the state file.
struct OwnedHost {
  IpAddress address;
  std::int64_t since = 0;  // unix time of the HOST-DOWN
  std::string reason;
  // The flush after the HOST-DOWN has not been answered OK yet: sent again while the
  // host stays down.
  bool flush_pending = false;
  friend bool operator==(const OwnedHost&, const OwnedHost&) = default;
};

struct ReleasedHost {
  OwnedHost host;
  std::string reason;
};

struct ActionPlan {
  std::vector<PlannedCommand> commands;  // send one at a time, in this order
  std::vector<SuppressedAction> suppressed;
  std::vector<ReleasedHost> released;  // ownership dropped without a command
  // The pool guard on this scan's new downs; its blocked hosts are in suppressed too.
  GuardDecision guard;
  bool ownership_changed = false;  // save the state file (owned hosts or pending flushes)
};

// A HOST-DOWN or HOST-UP that a scan wants, before the pool guard and the cap.
struct WantedAction {
  director::HostCommand kind = director::HostCommand::down;
  IpAddress address;
  std::string reason;
};

// What comparing HOST-LIST with the verdicts asks for.
struct WantedActions {
  std::vector<WantedAction> resends;      // HOST-DOWNs the director lost: not guarded
  std::vector<GuardCandidate> new_downs;  // for the pool guard to allow or block
  std::vector<WantedAction> ups;
  std::size_t held_down = 0;       // hosts in HOST-LIST that poolwatch still owns
  std::size_t down_by_others = 0;  // hosts the director lists down that poolwatch does not own
  std::size_t pool_size = 0;       // distinct addresses in HOST-LIST
};

class ActionPlanner {
 public:
  ActionPlanner(ActionConfig config, bool dry_run, std::vector<OwnedHost> owned = {});

  void set_config(const ActionConfig& config, bool dry_run);

  // A backend's verdict, or null when it has none (unknown: nothing is done about it).
  using VerdictLookup = std::function<const BackendVerdict*(const IpAddress&)>;

  // Hosts that have no entry in verdicts count as unknown: nothing is done about them.
  // An address listed more than once counts once, by its first entry (the HOST-LIST parser
  // drops repeats already; a pool built elsewhere may not have).
  ActionPlan plan(const PoolSnapshot& pool, const std::map<IpAddress, BackendVerdict>& verdicts);

  // The same plan made in turns, so that a pool of 100 000 hosts never holds the caller's
  // event loop for the whole comparison: begin_plan(), then compare_some() until it
  // returns true (the loop may run between the calls; `pool` must not change), then
  // finish_plan(). Nothing else may be planned meanwhile.
  struct PlanInProgress;
  PlanInProgress begin_plan(const PoolSnapshot& pool);
  bool compare_some(PlanInProgress& progress, const PoolSnapshot& pool,
                    const VerdictLookup& verdict_of, std::size_t max_hosts);
  ActionPlan finish_plan(PlanInProgress progress, const PoolSnapshot& pool,
                         const VerdictLookup& verdict_of);

  // The director's answer to one planned command. An answer that leaves open whether the
  // command took effect ("Ring sync timed out") is taken the way a later scan corrects:
  // a HOST-DOWN as applied (the host is owned), a HOST-UP or a flush as not applied (the
  // host stays owned, the flush pending, and both are sent again). Returns true when
  // ownership or a pending flush changed (save the state file).
  bool on_command_result(const PlannedCommand& command, DirectorReplyStatus reply,
                         std::int64_t unix_now);

  bool owns(const IpAddress& address) const { return owned_.contains(address); }
  std::vector<OwnedHost> owned() const;  // ordered by address
  bool dry_run() const { return dry_run_; }

 private:
  using Verdicts = std::map<IpAddress, BackendVerdict>;
  using SuppressionKey = std::tuple<IpAddress, director::HostCommand, SuppressedBecause>;

  // The phases of plan(), in order.
  void forget_hosts_gone_from(ActionPlan& plan, const PoolSnapshot& pool);
  void compare_host(PlanInProgress& progress, const HostEntry& host,
                    const VerdictLookup& verdict_of);
  std::vector<WantedAction> guard_new_downs(ActionPlan& plan, std::size_t pool_size,
                                            WantedActions wanted);
  void queue_within_cap(ActionPlan& plan, std::vector<WantedAction> wanted);

  void suppress(ActionPlan& plan, director::HostCommand kind, const IpAddress& address,
                SuppressedBecause because, std::string reason);
  void add_down(ActionPlan& plan, const IpAddress& address, const std::string& reason) const;
  void add_flush(ActionPlan& plan, const IpAddress& address, std::string reason,
                 bool follows_down) const;
  // Returns true when a pending flush was dropped (save the state file).
  bool retry_pending_flushes(ActionPlan& plan, const PoolSnapshot& pool,
                             const VerdictLookup& verdict_of);

  ActionConfig config_;
  bool dry_run_;
  // An owned host whose flush_pending is set gets its flush sent again every scan while it
  // stays down, or its users would stay pinned to the dead backend. The flag is saved in
  // the state file with the host, so a restart does not forget it.
  std::map<IpAddress, OwnedHost> owned_;
  std::set<SuppressionKey> suppressed_last_scan_;
  std::set<SuppressionKey> suppressed_this_scan_;
};

struct ActionPlanner::PlanInProgress {
  ActionPlan plan;
  WantedActions wanted;
  std::set<IpAddress> seen;  // the addresses compared so far: a repeat counts once
  std::size_t next_host = 0;
};

}  // namespace poolwatch
