#include "poolwatch/service/fd_budget.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "poolwatch/http/http_server.hpp"

namespace poolwatch {

namespace {

// Descriptors that are not HTTP clients: the director socket, the log and event log
// files, the state file while it is written, a hook's pipes, the resolver's socket,
// Asio's epoll, timer and signal descriptors, OpenSSL's CA files; with room to spare.
constexpr std::uint64_t kFixedReserve = 64;

}  // namespace

// HTTP clients beyond max_connections are only answered 503 (a flood defence) and are
// not reserved for: at the limit their accept() fails, not a probe.
std::uint64_t fd_reserve() {
  return HttpLimits{}.max_connections + kFixedReserve;
}

FdBudget plan_fd_budget(std::size_t max_in_flight, std::uint64_t reserve, FdLimits limits) {
  const std::uint64_t wanted = max_in_flight + reserve;
  if (wanted <= limits.soft) return {limits.soft, max_in_flight, false};
  if (wanted <= limits.hard) return {wanted, max_in_flight, false};
  const std::uint64_t room = limits.hard > reserve ? limits.hard - reserve : 1;
  const auto fits = static_cast<std::size_t>(std::clamp<std::uint64_t>(room, 1, max_in_flight));
  return {std::max(limits.soft, limits.hard), fits, fits < max_in_flight};
}

std::size_t apply_fd_budget(std::size_t max_in_flight) {
  rlimit current{};
  if (::getrlimit(RLIMIT_NOFILE, &current) != 0) {
    spdlog::warn("descriptor limit: cannot read it: {}", std::strerror(errno));
    return max_in_flight;
  }
  const auto reserve = fd_reserve();
  auto budget = plan_fd_budget(max_in_flight, reserve, {current.rlim_cur, current.rlim_max});
  if (budget.soft_limit > current.rlim_cur) {
    rlimit raised = current;
    raised.rlim_cur = static_cast<rlim_t>(budget.soft_limit);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      spdlog::info("descriptor limit raised from {} to {} for probe.max_in_flight {}",
                   current.rlim_cur, budget.soft_limit, max_in_flight);
    } else {
      spdlog::warn("descriptor limit: cannot raise it from {} to {}: {}", current.rlim_cur,
                   budget.soft_limit, std::strerror(errno));
      budget = plan_fd_budget(max_in_flight, reserve, {current.rlim_cur, current.rlim_cur});
    }
  }
  if (budget.lowered)
    spdlog::warn(
        "descriptor limit: {} descriptors allow {} probes at once, not probe.max_in_flight {}; "
        "raise the hard limit (LimitNOFILE) to at least {} to run them all",
        std::max<std::uint64_t>(budget.soft_limit, current.rlim_cur), budget.max_in_flight,
        max_in_flight, max_in_flight + reserve);
  return budget.max_in_flight;
}

}  // namespace poolwatch
