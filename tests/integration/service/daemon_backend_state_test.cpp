// PoolWatcher in-process against the fake director and fake IMAP backends: the one-word
// backend state in /status, the metrics and the sd_notify summary is the health
// tracker's, after a reload that drops a port and after a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "poolwatch/service/pool_watcher.hpp"
#include "poolwatch/service/spawn.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/exposition_checker.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using poolwatch::test::check_exposition;
using poolwatch::test::eventually;
using poolwatch::test::Exposition;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
namespace asio = boost::asio;

namespace {

class DaemonBackendState : public ::testing::Test {
 protected:
  // Not the addresses of the other daemon tests, so all can run at once.
  static inline const auto kHealthy = make_ip_address("127.0.7.1");
  static inline const auto kDying = make_ip_address("127.0.7.2");
  static inline const std::string kDyingText = "127.0.7.2";
  static constexpr auto kGuard = 15s;

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
  }
  void TearDown() override { stop(); }

  Config config() const {
    return poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
  }

  // A second start is a restart: a new PoolWatcher, the same state file.
  void start(Config c) {
    io_.restart();
    watcher_ = std::make_unique<PoolWatcher>(io_.get_executor(), std::move(c), CredentialStore{});
    spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { watcher_->request_stop(); });
    thread_.join();
  }

  // Runs f on the loop thread (the only one that may touch the watcher); nullopt if the
  // loop does not get to it in time.
  template <typename F>
  auto on_loop(F f) -> std::optional<decltype(f())> {
    return poolwatch::test::run_on_loop(io_, f, kGuard);
  }

  // The backend's state in /status ("" when it is not listed).
  std::string status_of(const std::string& address) {
    return on_loop([this, address] {
             for (const auto& b : watcher_->status())
               if (b.address == address) return b.state;
             return std::string();
           })
        .value_or("(loop stuck)");
  }

  std::string summary() {
    return on_loop([this] { return watcher_->status_summary(); }).value_or("(loop stuck)");
  }

  Exposition scrape() {
    auto text = on_loop([this] { return watcher_->metrics().render(); });
    if (!text) {
      Exposition none;
      none.errors.push_back("the loop did not render the metrics in time");
      return none;
    }
    return check_exposition(*text);
  }

  double state_metric(const std::string& address, const std::string& state) {
    return scrape()
        .value("poolwatch_backend_state", {{"backend", address}, {"state", state}})
        .value_or(0);
  }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::thread thread_;
};

// The backend fails on its second port only; a reload that stops checking that port
// brings it back up, and nothing keeps reporting the dropped check's "down".
TEST_F(DaemonBackendState, AReloadDroppingTheFailingPortEndsDown) {
  auto healthy_second =
      std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
  const std::uint16_t second = healthy_second->port();
  auto dying_second =
      std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, second));
  auto c = config();
  c.probe.ports.push_back(PortSpec{Protocol::imap, second, TlsMode::plain});
  start(c);
  ASSERT_TRUE(eventually([&] { return status_of(kDyingText) == "up"; }, kGuard));

  dying_second.reset();  // the second port refuses from now on
  ASSERT_TRUE(eventually([&] { return director_.host(kDying)->down.value_or(false); }, kGuard))
      << ::testing::PrintToString(director_.commands());
  ASSERT_TRUE(eventually([&] { return status_of(kDyingText) == "down"; }, kGuard));
  ASSERT_EQ(state_metric(kDyingText, "down"), 1);

  auto fewer = config();  // only the first port, as a SIGHUP with the port removed
  on_loop([this, fewer] {
    watcher_->reload(fewer);
    return true;
  });
  EXPECT_TRUE(eventually([&] { return status_of(kDyingText) == "up"; }, kGuard))
      << status_of(kDyingText);
  EXPECT_TRUE(eventually([&] { return state_metric(kDyingText, "up") == 1; }, kGuard));
  EXPECT_EQ(state_metric(kDyingText, "down"), 0);
  EXPECT_NE(summary().find("0 down"), std::string::npos) << summary();
  // The director is told too.
  EXPECT_TRUE(eventually([&] { return !director_.host(kDying)->down.value_or(true); }, kGuard))
      << ::testing::PrintToString(director_.commands());
}

// Held down before a restart and still failing after it: "down" everywhere, never
// "pending", although the check makes no transition (it starts down and stays down).
TEST_F(DaemonBackendState, AHeldDownBackendStillFailingAfterARestartIsDown) {
  start(config());
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(eventually([&] { return director_.host(kDying)->down.value_or(false); }, kGuard))
      << ::testing::PrintToString(director_.commands());
  // The flush follows the recorded HOST-DOWN, so the state file names the host by now.
  ASSERT_TRUE(eventually(
      [&] {
        const auto commands = director_.commands();
        return std::find(commands.begin(), commands.end(), "HOST-RESET-USERS\t" + kDyingText) !=
               commands.end();
      },
      kGuard));
  stop();

  start(config());
  // Several failed probes since the restart: each one used to write "pending".
  ASSERT_TRUE(eventually(
      [&] {
        return scrape()
                   .value("poolwatch_probe_results_total", {{"backend", kDyingText},
                                                            {"protocol", "imap"},
                                                            {"outcome", "connect_refused"}})
                   .value_or(0) >= 3;
      },
      kGuard));
  const auto m = scrape();
  ASSERT_TRUE(m.ok()) << m.error_text();
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", kDyingText}, {"state", "down"}}), 1);
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", kDyingText}, {"state", "pending"}})
                .value_or(0),
            0);
  EXPECT_EQ(status_of(kDyingText), "down");
  EXPECT_NE(summary().find("1 down"), std::string::npos) << summary();
  EXPECT_TRUE(director_.host(kDying)->down.value_or(false));
}

}  // namespace
