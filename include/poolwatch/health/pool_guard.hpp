#pragma once
// The mass-down guard. When many backends fail at once the likelier story is that
// poolwatch itself (its network, DNS, TLS trust) is broken, so it never takes more than
// max_down_percent of the pool down by its own action.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

struct GuardCandidate {
  IpAddress address;
  std::int64_t failing_since = 0;  // unix time the backend's verdict went down
  std::string reason;
};

struct GuardBlocked {
  GuardCandidate candidate;
  std::string reason;  // names the limit: log it at error level once per scan
};

struct GuardDecision {
  std::size_t limit = 0;      // floor(pool_size * max_down_percent / 100)
  std::size_t held_down = 0;  // hosts poolwatch already holds down
  std::vector<GuardCandidate> allowed;
  std::vector<GuardBlocked> blocked;
};

// How many hosts poolwatch may hold down at once in a pool of pool_size.
std::size_t guard_limit(std::size_t pool_size, double max_down_percent);

// Splits the hosts that want to go down into allowed and blocked. The longest-failing
// host goes first (then the lowest address), so the order does not depend on the order
// of the input and a host that fails for longer is not starved by newcomers.
GuardDecision apply_pool_guard(std::size_t pool_size, std::size_t held_down,
                               double max_down_percent, std::vector<GuardCandidate> candidates);

}  // namespace poolwatch
