// A change of verdict brings the next scan forward, never closer than kRescanGap to the
// last one: when the first probes of a large pool come in, each backend's first verdict
// is such a change, and a wake that cut the wait short outright sent the director a
// HOST-LIST per verdict (~130 a second at 1000 backends, found by bench/probe_floor).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/log_capture.hpp"

using namespace poolwatch;
namespace asio = boost::asio;

namespace daemon_scan_pace_test {

constexpr std::size_t kBackends = 40;

// 127.68.0.x: loopback where nothing listens, away from the other suites' addresses:
// every first probe is refused at once and each backend's first verdict is down.
std::vector<HostEntry> silent_pool() {
  std::vector<HostEntry> hosts;
  for (std::size_t i = 1; i <= kBackends; ++i)
    hosts.push_back(
        HostEntry{make_ip_address(fmt::format("127.68.0.{}", i)), 100, 0, "", false, 0});
  return hosts;
}

std::size_t occurrences(const std::string& text, const std::string& word) {
  std::size_t n = 0;
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

asio::awaitable<void> stop_after(PoolWatcher& watcher, std::chrono::milliseconds after) {
  asio::steady_timer timer(co_await asio::this_coro::executor, after);
  co_await timer.async_wait(asio::use_awaitable);
  watcher.request_stop();
}

TEST(DaemonScanPace, FirstVerdictsOfAPoolBringScansForwardAtMostOnceAGap) {
  test::TempDir dir;
  poolwatch::testing::FakeDirector director(silent_pool());
  test::LogCapture log;
  Config config = test::fast_daemon_config(director, 143, dir.path());
  config.health.interval = Seconds(3);  // the first probes spread over 3 s
  config.health.retry_count = 1;        // a first failure goes straight to a rapid round
  config.dry_run = true;
  const auto run_for = std::chrono::milliseconds(3500);
  asio::io_context io(1);
  PoolWatcher watcher(io.get_executor(), config, CredentialStore{});
  spawn_logged(io.get_executor(), watcher.run(), "watcher");
  spawn_logged(io.get_executor(), stop_after(watcher, run_for), "stopper");
  io.run();

  const auto commands = director.commands();
  const auto host_lists = static_cast<std::size_t>(
      std::count_if(commands.begin(), commands.end(),
                    [](const std::string& c) { return c.rfind("HOST-LIST", 0) == 0; }));
  const auto first_verdicts = occurrences(log.text(), "unknown -> down");
  // The verdicts came in over the run, not at once: without the gap each would be a scan.
  EXPECT_GE(first_verdicts, kBackends / 2) << log.text();
  // The first scan, then at most one each gap; the wakes still bring scans forward (the
  // interval alone would make two).
  const auto most = 1 + static_cast<std::size_t>(run_for / PoolWatcher::kRescanGap) + 1;
  EXPECT_LE(host_lists, most) << "HOST-LIST commands in " << run_for.count() << " ms";
  EXPECT_GE(host_lists, 3U);
}

}  // namespace daemon_scan_pace_test
