#pragma once
// Descriptors for the probes. Each probe in flight holds a socket, so at start-up
// poolwatch raises its soft RLIMIT_NOFILE to what probe.max_in_flight needs (never past
// the hard limit), and runs fewer probes at once when the hard limit is too low: a
// probe that finds no descriptor fails as local_resource, which blames no backend but
// learns nothing either. The arithmetic is apart from the system calls so that it can
// be tested without changing the test's own limits.

#include <cstddef>
#include <cstdint>

namespace poolwatch {

// Descriptors poolwatch needs besides the probes' sockets.
std::uint64_t fd_reserve();

struct FdLimits {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;  // RLIM_INFINITY is the largest value
};

struct FdBudget {
  std::uint64_t soft_limit = 0;   // to set; never below the current soft limit
  std::size_t max_in_flight = 0;  // probes at once that fit, at least 1
  bool lowered = false;           // fewer than probe.max_in_flight
};

FdBudget plan_fd_budget(std::size_t max_in_flight, std::uint64_t reserve, FdLimits limits);

// plan_fd_budget() applied to this process, logged once (raised, or probes lowered);
// returns the number of probes to run at once.
std::size_t apply_fd_budget(std::size_t max_in_flight);

}  // namespace poolwatch
