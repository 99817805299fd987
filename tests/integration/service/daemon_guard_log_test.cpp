// The pool guard's log in a running daemon: while most backends are dead it logs one
// line when it starts blocking and one when it stops, not a line per host per scan; the
// same for the actions max_actions_per_scan postpones.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "poolwatch/health/state_file.hpp"
#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"
#include "support/log_capture.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;

namespace {

class DaemonGuardLog : public ::testing::Test {
 protected:
  static inline const auto kHealthy = make_ip_address("127.0.3.51");
  // Dead from the start: nothing listens there.
  static inline const auto kDead1 = make_ip_address("127.0.3.52");
  static inline const auto kDead2 = make_ip_address("127.0.3.53");
  static inline const auto kDead3 = make_ip_address("127.0.3.54");

  static std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }

  std::size_t hosts_down() const {
    std::size_t n = 0;
    for (const auto& h : director_.hosts()) n += h.down.value_or(false) ? 1 : 0;
    return n;
  }

  void wait_scans(std::size_t scans) const {
    const auto before = poolwatch::test::count_host_lists(director_);
    ASSERT_TRUE(eventually(
        [&] { return poolwatch::test::count_host_lists(director_) >= before + scans; }, 20s));
  }

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
  }

  Config config() const {
    auto c = poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
    c.actions.max_down_percent = 25;  // 1 of 4: one dead host goes down, two are blocked
    c.actions.flush_mode = FlushMode::none;
    return c;
  }

  TempDir dir_;
  FakeDirector director_{{poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDead1),
                          poolwatch::test::pool_host(kDead2), poolwatch::test::pool_host(kDead3)}};
  std::unique_ptr<FakeMailServer> healthy_;
  std::uint16_t port_ = 0;
};

TEST_F(DaemonGuardLog, OneLineWhenItStartsBlockingAndOneWhenItStops) {
  poolwatch::test::LogCapture log;  // before the watcher's thread exists
  std::vector<std::unique_ptr<FakeMailServer>> revived;
  {
    poolwatch::test::WatcherThread watcher;
    watcher.start(config());
    ASSERT_TRUE(eventually([&] { return hosts_down() == 1; }, 20s));
    // Ten more scans with two hosts blocked: a line per host per scan made 20 lines.
    wait_scans(10);
    EXPECT_EQ(hosts_down(), 1u);
    for (const auto& dead : {kDead1, kDead2, kDead3})
      revived.push_back(
          std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(dead, port_)));
    ASSERT_TRUE(eventually([&] { return hosts_down() == 0; }, 20s));
    wait_scans(10);  // every revived host's verdict is up again
  }                  // the watcher's thread is joined: the log is complete
  const auto text = log.text();
  EXPECT_EQ(count_of(text, "pool guard: blocking HOST-DOWN of "), 1u) << text;
  EXPECT_EQ(count_of(text, "pool guard: no longer blocking"), 1u) << text;
  EXPECT_EQ(count_of(text, "pool guard: NOT sending"), 0u) << text;
  EXPECT_EQ(count_of(text, "pool guard"), 2u) << text;  // no summary within a minute
}

TEST_F(DaemonGuardLog, ActionsTheScanCapPostponesMakeOneLineNotOnePerHostPerScan) {
  // poolwatch held the three dead hosts down before a restart and the director forgot
  // it (a director restart): the first scan wants three HOST-DOWNs at once.
  auto c = config();
  c.actions.max_down_percent = 100;  // the guard allows every down: only the cap holds
  c.actions.max_actions_per_scan = 1;
  std::vector<OwnedHost> held;
  for (const auto& dead : {kDead1, kDead2, kDead3}) held.push_back({dead, 1000, "refused"});
  ASSERT_FALSE(save_state_file(c.state_file, held));
  poolwatch::test::LogCapture log;  // before the watcher's thread exists
  {
    poolwatch::test::WatcherThread watcher;
    watcher.start(c);
    // One HOST-DOWN a scan: three scans, two of them postponing.
    ASSERT_TRUE(eventually([&] { return hosts_down() == 3; }, 20s));
    wait_scans(3);
  }  // the watcher's thread is joined: the log is complete
  const auto text = log.text();
  EXPECT_EQ(count_of(text, "max_actions_per_scan 1 reached: postponed to later scans"), 1u) << text;
  EXPECT_EQ(count_of(text, "every postponed action has been sent"), 1u) << text;
  // A warning per host per scan made three lines here.
  EXPECT_EQ(count_of(text, "postponed to the next scan"), 0u) << text;
}

}  // namespace
