#include "poolwatch/service/fd_budget.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits>

using namespace poolwatch;

namespace {

constexpr std::uint64_t kReserve = 128;
constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST(FdBudget, ASoftLimitThatSufficesIsLeftAlone) {
  const auto budget = plan_fd_budget(500, kReserve, {.soft = 1024, .hard = 4096});
  EXPECT_EQ(budget.soft_limit, 1024u);
  EXPECT_EQ(budget.max_in_flight, 500u);
  EXPECT_FALSE(budget.lowered);
}

TEST(FdBudget, RaisesTheSoftLimitToWhatTheProbesNeed) {
  const auto budget = plan_fd_budget(2000, kReserve, {.soft = 1024, .hard = 524288});
  EXPECT_EQ(budget.soft_limit, 2128u);
  EXPECT_EQ(budget.max_in_flight, 2000u);
  EXPECT_FALSE(budget.lowered);
  EXPECT_EQ(plan_fd_budget(2000, kReserve, {.soft = 1024, .hard = kUnlimited}).soft_limit, 2128u);
}

TEST(FdBudget, AHardLimitTooLowLowersTheProbesAtOnce) {
  // The case: max_in_flight 500 under a limit of 256.
  const auto budget = plan_fd_budget(500, kReserve, {.soft = 256, .hard = 256});
  EXPECT_EQ(budget.soft_limit, 256u);
  EXPECT_EQ(budget.max_in_flight, 128u);
  EXPECT_TRUE(budget.lowered);
  const auto raised = plan_fd_budget(500, kReserve, {.soft = 256, .hard = 400});
  EXPECT_EQ(raised.soft_limit, 400u);
  EXPECT_EQ(raised.max_in_flight, 272u);
}

TEST(FdBudget, AtLeastOneProbeRunsWhateverTheLimit) {
  const auto budget = plan_fd_budget(500, kReserve, {.soft = 64, .hard = 100});
  EXPECT_EQ(budget.max_in_flight, 1u);
  EXPECT_TRUE(budget.lowered);
}

TEST(FdBudget, ReserveCoversHttpClientsAndTheRest) {
  EXPECT_GE(fd_reserve(), 64u + 16u);
}

// In a child, whose limits the test may change: a hard limit of 512 gives 512 - reserve
// probes and a soft limit raised to the hard one.
TEST(FdBudget, AppliedToTheProcess) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const rlimit low{256, 512};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) ::_exit(10);
    const auto probes = apply_fd_budget(1000);
    rlimit now{};
    ::getrlimit(RLIMIT_NOFILE, &now);
    const bool right = probes == 512 - fd_reserve() && now.rlim_cur == 512;
    ::_exit(right ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
