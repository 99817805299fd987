// PoolWatcher in-process against the fake director and fake IMAP backends: the exact
// director commands it sends when a backend dies and when it recovers.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
using poolwatch::testing::FakeMailServerOptions;
namespace asio = boost::asio;

namespace {

class DaemonActions : public ::testing::Test {
 protected:
  static inline const auto kHealthy = make_ip_address("127.0.3.1");
  static inline const auto kDying = make_ip_address("127.0.3.2");

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(options(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(options(kDying, port_));
  }

  void TearDown() override { stop(); }

  FakeMailServerOptions options(const IpAddress& a, std::uint16_t port) const {
    return poolwatch::test::fake_backend_at(a, port);
  }

  Config config() const {
    return poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
  }

  void start(Config c) { watcher_.start(std::move(c)); }
  void stop() { watcher_.stop(); }

  // The commands other than HOST-LIST, in the order the director got them.
  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const auto& line : director_.commands())
      if (line != "HOST-LIST") out.push_back(line);
    return out;
  }

  bool wait_actions(std::size_t n) {
    return eventually([&] { return actions().size() >= n; }, 15s);
  }

  std::string state_file() const {
    std::ifstream in(dir_.path() + "/state");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  poolwatch::test::WatcherThread watcher_;  // last: stopped before the fakes go
};

TEST_F(DaemonActions, DownThenResetUsersThenUpOnRecovery) {
  start(config());
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(wait_actions(2)) << ::testing::PrintToString(director_.commands());
  EXPECT_EQ(actions(),
            (std::vector<std::string>{"HOST-DOWN\t127.0.3.2", "HOST-RESET-USERS\t127.0.3.2"}));
  EXPECT_TRUE(director_.host(kDying)->down.value_or(false));
  EXPECT_NE(state_file().find("127.0.3.2"), std::string::npos) << state_file();

  dying_ = std::make_unique<FakeMailServer>(options(kDying, port_));
  ASSERT_TRUE(wait_actions(3)) << ::testing::PrintToString(director_.commands());
  EXPECT_EQ(actions().at(2), "HOST-UP\t127.0.3.2");
  stop();
  EXPECT_EQ(actions().size(), 3u) << ::testing::PrintToString(actions());
  EXPECT_EQ(state_file().find("127.0.3.2"), std::string::npos) << state_file();
  EXPECT_EQ(director_.pipelined_lines(), 0u);
}

TEST_F(DaemonActions, FlushModeFlushSendsHostFlushWithTheAddress) {
  auto c = config();
  c.actions.flush_mode = FlushMode::flush;
  start(c);
  dying_.reset();
  ASSERT_TRUE(wait_actions(2));
  EXPECT_EQ(actions(), (std::vector<std::string>{"HOST-DOWN\t127.0.3.2", "HOST-FLUSH\t127.0.3.2"}));
}

TEST_F(DaemonActions, FlushModeNoneSendsOnlyHostDown) {
  auto c = config();
  c.actions.flush_mode = FlushMode::none;
  start(c);
  dying_.reset();
  ASSERT_TRUE(wait_actions(1));
  stop();
  EXPECT_EQ(actions(), (std::vector<std::string>{"HOST-DOWN\t127.0.3.2"}));
}

TEST_F(DaemonActions, ADownTheDirectorForgotIsSentAgain) {
  auto c = config();
  c.actions.flush_mode = FlushMode::none;
  start(c);
  dying_.reset();
  ASSERT_TRUE(wait_actions(1));
  // What a director restart does: every host is up again.
  director_.set_hosts({poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)});
  ASSERT_TRUE(wait_actions(2));
  EXPECT_EQ(actions().at(1), "HOST-DOWN\t127.0.3.2");
}

TEST_F(DaemonActions, DryRunSendsNothing) {
  auto c = config();
  c.dry_run = true;
  start(c);
  dying_.reset();
  // Long enough for detection (2 x 0.2 s + rapid round) several times over.
  EXPECT_FALSE(eventually([&] { return !actions().empty(); }, 3s))
      << ::testing::PrintToString(actions());
}

}  // namespace
