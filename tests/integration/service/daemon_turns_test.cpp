// Issue 13, item 1: a scan that finds thousands of new backends starts their probe loops
// a turn at a time, and the loop runs other work (here an observer, in a daemon /healthz,
// probe results, a stop) between the turns, instead of being held for the whole pool.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <vector>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/log_capture.hpp"

using namespace poolwatch;
namespace asio = boost::asio;

namespace daemon_turns_test {

constexpr std::size_t kBackends = 3 * PoolWatcher::kChecksPerTurn + 17;

// 127.66.x.y: loopback where nothing listens, away from the other suites' addresses.
std::vector<HostEntry> silent_pool() {
  std::vector<HostEntry> hosts;
  for (std::size_t i = 1; i <= kBackends; ++i)
    hosts.push_back(HostEntry{make_ip_address(fmt::format("127.66.{}.{}", i / 250, i % 250 + 1)),
                              100, 0, "", false, 0});
  return hosts;
}

// What a test watches grow while the first scan runs.
using Count = std::size_t (*)(const PoolWatcher&);

std::size_t probe_loops(const PoolWatcher& watcher) {
  return watcher.probed_checks();
}

// The series of the director's vhost counts, what the pool's metrics add per host.
std::size_t vhost_series(const PoolWatcher& watcher) {
  const auto* family = watcher.metrics().registry().find("poolwatch_backend_vhost_count");
  return family ? family->series_count() : 0;
}

// The backends the health tracker has (status() lists each tracked backend once).
std::size_t tracked_backends(const PoolWatcher& watcher) {
  return watcher.status(nullptr, kBackends + 1).size();
}

// Looks at `count` after every other handler until `done` says so (or a minute has
// passed), then stops the watcher.
asio::awaitable<void> watch(PoolWatcher& watcher, Count count,
                            std::function<bool(std::size_t)> done, std::set<std::size_t>& seen) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  const auto executor = co_await asio::this_coro::executor;
  while (!done(count(watcher)) && std::chrono::steady_clock::now() < give_up) {
    seen.insert(count(watcher));
    co_await asio::post(executor, asio::use_awaitable);
  }
  seen.insert(count(watcher));
  watcher.request_stop();
}

class DaemonTurns : public ::testing::Test {
 protected:
  // Runs the watcher against the director until `done`; the counts seen.
  std::set<std::size_t> run_until(Count count, const std::function<bool(std::size_t)>& done) {
    Config config = test::fast_daemon_config(director_, 143, dir_.path());
    config.health.interval = Seconds(interval_);
    asio::io_context io(1);
    PoolWatcher watcher(io.get_executor(), config, CredentialStore{});
    std::set<std::size_t> seen;
    spawn_logged(io.get_executor(), watcher.run(), "watcher");
    spawn_logged(io.get_executor(), watch(watcher, count, done, seen), "observer");
    io.run();
    return seen;
  }

  // Until the whole first pool is counted: the counts seen short of it.
  std::vector<std::size_t> counts_on_the_way(Count count) {
    const auto seen = run_until(count, [](std::size_t n) { return n == kBackends; });
    EXPECT_EQ(*seen.rbegin(), kBackends);
    std::vector<std::size_t> between;
    for (const auto n : seen)
      if (n > 0 && n < kBackends) between.push_back(n);
    return between;
  }

  test::TempDir dir_;
  poolwatch::testing::FakeDirector director_{silent_pool()};
  double interval_ = 60;  // the first probes spread over a minute
  test::LogCapture log_;
};

TEST_F(DaemonTurns, AFirstScanStartsItsProbeLoopsATurnAtATime) {
  const auto between = counts_on_the_way(probe_loops);
  // One look after each full turn at least; before the turns there was none.
  EXPECT_GE(between.size(), 3U);
  for (const auto count : between) EXPECT_EQ(count % PoolWatcher::kChecksPerTurn, 0U) << count;
}

// The pool's metrics of a first HOST-LIST are set a turn of hosts at a time too.
TEST_F(DaemonTurns, AFirstPoolIsExportedATurnAtATime) {
  const auto between = counts_on_the_way(vhost_series);
  EXPECT_GE(between.size(), 3U);
  for (const auto count : between) EXPECT_EQ(count % PoolWatcher::kChecksPerTurn, 0U) << count;
}

// And the tracker takes the new backends a turn at a time (one check each here): 100 000
// in one step held the loop for 100 ms.
TEST_F(DaemonTurns, AFirstPoolIsTrackedATurnAtATime) {
  const auto between = counts_on_the_way(tracked_backends);
  EXPECT_GE(between.size(), 3U);
  for (const auto count : between) EXPECT_EQ(count % PoolWatcher::kChecksPerTurn, 0U) << count;
}

TEST_F(DaemonTurns, APoolOfThousandsIsLoggedAsTwentyHostsAndACount) {
  interval_ = 1;  // the second HOST-LIST a second later
  bool shrunk = false;
  const auto everyone = silent_pool();
  run_until(probe_loops, [&](std::size_t loops) {
    if (loops == kBackends && !shrunk) {
      director_.set_hosts(std::vector<HostEntry>(everyone.begin(), everyone.begin() + 17));
      shrunk = true;
    }
    return shrunk && loops == 17;
  });
  // The director's lines only: each backend's own transitions are logged too, as always.
  std::string text;
  std::istringstream lines(log_.text());
  for (std::string line; std::getline(lines, line);)
    if (line.find("director: ") != std::string::npos) text += line + "\n";
  EXPECT_NE(text.find(fmt::format("pool of {} host(s): 127.66.0.2 ", kBackends)),
            std::string::npos);
  EXPECT_NE(text.find(fmt::format(" and {} more\n", kBackends - 20)), std::string::npos);
  const auto first_line = text.substr(0, text.find('\n', text.find("pool of ")));
  EXPECT_EQ(first_line.find("127.66.0.22"), std::string::npos) << "the 21st host is not named";
  EXPECT_NE(first_line.find("127.66.0.21"), std::string::npos) << "the 20th is";
  EXPECT_NE(text.find(fmt::format("director: {} more host(s) left the pool; forgetting them",
                                  kBackends - 17 - 20)),
            std::string::npos);
  std::size_t named = 0;
  for (auto at = text.find("left the pool; forgetting it\n"); at != std::string::npos;
       at = text.find("left the pool; forgetting it\n", at + 1))
    ++named;
  EXPECT_EQ(named, 20U);
  EXPECT_LT(text.size(), 5'000U);
}

}  // namespace daemon_turns_test
