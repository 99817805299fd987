#pragma once
// The mass-down guard. When many backends fail at once the likelier story is that
// poolwatch itself (its network, DNS, TLS trust) is broken, so it never takes more than
// max_down_percent of the pool down by its own action.
//
// What counts as down is a choice (actions.max_down_counts). By default only the hosts
// poolwatch itself holds down count: an administrator's down is planned work, and it
// would otherwise leave poolwatch unable to act on a real failure during maintenance.
// The price is that the guard does not cap the pool's total outage (with an admin's
// down, 3 of 4 hosts can be out at 50 %); counting every down host caps that instead.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"

namespace poolwatch {

struct GuardCandidate {
  IpAddress address;
  std::int64_t failing_since = 0;  // unix time the backend's verdict went down
  std::string reason;
};

struct GuardBlocked {
  GuardCandidate candidate;
  std::string reason;  // names the limit and the counts
};

struct GuardDecision {
  std::size_t pool_size = 0;
  double max_down_percent = 0;
  GuardCounts counts = GuardCounts::own;
  std::size_t limit = 0;      // floor(pool_size * max_down_percent / 100)
  std::size_t held_down = 0;  // hosts counted as down before this scan's new downs
  std::vector<GuardCandidate> allowed;
  std::vector<GuardBlocked> blocked;
};

// How many hosts may be down at once in a pool of pool_size.
std::size_t guard_limit(std::size_t pool_size, double max_down_percent);

// Splits the hosts that want to go down into allowed and blocked. held_down is how many
// hosts already count as down: poolwatch's own, or with GuardCounts::all every host the
// director lists down. The longest-failing host goes first (then the lowest address), so
// the order does not depend on the order of the input and a host that fails for longer is
// not starved by newcomers.
GuardDecision apply_pool_guard(std::size_t pool_size, std::size_t held_down,
                               double max_down_percent, std::vector<GuardCandidate> candidates,
                               GuardCounts counts = GuardCounts::own);

// Why the guard blocks: "2 of 10 hosts already down by poolwatch and 3 more going down
// this scan; max_down_percent 50 allows 5".
std::string guard_limit_reason(const GuardDecision& decision);

}  // namespace poolwatch
