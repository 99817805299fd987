// PoolWatcher in-process against the fake director: a stop lets a director command that
// is already on the wire get its reply and be recorded, bounded by the stop grace, and
// otherwise ends at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>

#include "poolwatch/health/state_file.hpp"
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
using Direction = FakeDirector::Event::Direction;
using Fault = FakeDirector::Fault;

namespace {

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

class DaemonStop : public ::testing::Test {
 protected:
  // Not the addresses of the other daemon tests, so all can run at once.
  static inline const auto kHealthy = make_ip_address("127.0.6.1");
  static inline const auto kDying = make_ip_address("127.0.6.2");
  static inline const std::string kDown = "HOST-DOWN\t127.0.6.2";

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
  }

  Config config() const {
    return poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
  }

  void start_and_wait_for_pool() {
    watcher_.start(config());
    ASSERT_TRUE(eventually([&] { return !director_.commands().empty(); }, 10s));
  }

  // How long WatcherThread::stop() (request_stop, then the loop runs dry) took.
  std::chrono::milliseconds timed_stop() {
    const auto asked = std::chrono::steady_clock::now();
    watcher_.stop();
    return since(asked);
  }

  bool received(const std::string& command) const {
    const auto commands = director_.commands();
    return std::find(commands.begin(), commands.end(), command) != commands.end();
  }

  // What the director sent on the connection `command` came in on, after it, and the
  // commands it received after it on any connection.
  struct After {
    std::vector<std::string> replies;
    std::vector<std::string> commands;
  };
  After after(const std::string& command) const {
    const auto transcript = director_.transcript();
    After out;
    auto at = std::find_if(transcript.begin(), transcript.end(), [&](const auto& e) {
      return e.direction == Direction::received && e.line == command;
    });
    if (at == transcript.end()) return out;
    for (auto it = at + 1; it != transcript.end(); ++it) {
      if (it->direction == Direction::sent && it->connection == at->connection)
        out.replies.push_back(it->line);
      if (it->direction == Direction::received && !it->line.starts_with("VERSION\t"))
        out.commands.push_back(it->line);
    }
    return out;
  }

  std::vector<OwnedHost> state_file() const {
    std::ifstream in(dir_.path() + "/state");
    std::stringstream s;
    s << in.rdbuf();
    return parse_state(s.str()).hosts;
  }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  poolwatch::test::WatcherThread watcher_;  // last: stopped before the fakes go
};

// The HOST-DOWN waits for ring sync when the stop comes: poolwatch keeps the connection
// until the reply (closing before it crashes directors 2.2.33-2.3.2), records the host as
// its own in the state file, and sends nothing after it.
TEST_F(DaemonStop, AStopLetsAHostDownInFlightBeAnsweredAndRecorded) {
  start_and_wait_for_pool();
  director_.set_reply_delay(1500ms);  // from now on every reply, like a ring syncing
  dying_.reset();                     // connection refused from now on
  ASSERT_TRUE(eventually([&] { return received(kDown); }, 15s))
      << ::testing::PrintToString(director_.commands());

  const auto took = timed_stop();
  // Read at once: when the stop has returned, the reply must already have gone out.
  const auto seen = after(kDown);
  EXPECT_EQ(seen.replies, std::vector<std::string>{"OK"})
      << "poolwatch closed the connection before the director answered";
  EXPECT_EQ(seen.commands, std::vector<std::string>{}) << "nothing is sent once stopping";
  const auto owned = state_file();
  ASSERT_EQ(owned.size(), 1u) << "the HOST-DOWN answered during the stop is not recorded";
  EXPECT_EQ(owned[0].address, kDying);
  EXPECT_TRUE(owned[0].flush_pending) << "its HOST-RESET-USERS is still owed";
  EXPECT_LT(took, 4s) << "bounded by the reply, not by the "
                      << config().director.command_timeout.count() << " s command timeout";
}

// A director that never answers holds the stop for the grace, min(command_timeout, 10 s).
TEST_F(DaemonStop, AStopGivesAnUnansweredCommandAtMostTheGrace) {
  auto c = config();
  c.director.command_timeout = Seconds(2);
  director_.fail_next("HOST-DOWN", Fault::ignore());
  watcher_.start(c);
  ASSERT_TRUE(eventually([&] { return !director_.commands().empty(); }, 10s));
  dying_.reset();
  ASSERT_TRUE(eventually([&] { return received(kDown); }, 15s))
      << ::testing::PrintToString(director_.commands());
  const auto took = timed_stop();
  EXPECT_GE(took, 1500ms) << "the command in flight got no grace";
  // Below the 10 s cap: the grace is this test's 2 s command_timeout (slack for a loaded CI).
  EXPECT_LT(took, 8s) << "the grace is bounded by director.command_timeout";
  EXPECT_EQ(after(kDown).commands, std::vector<std::string>{});
}

// Nothing waits for the director: probes (one hanging for its 30 s timeout) and waits end
// at once (1 s promised; the bound leaves slack for a loaded CI and stays far below 30 s).
TEST_F(DaemonStop, AStopWithNoCommandInFlightEndsWithinOneSecond) {
  auto silent = poolwatch::test::fake_backend_at(kDying, port_);
  silent.behaviour = poolwatch::testing::FakeBehaviour::never_answer;
  dying_.reset();
  dying_ = std::make_unique<FakeMailServer>(silent);
  auto c = config();
  c.health.timeout = Seconds(30);  // the hanging probe would outlive the test
  watcher_.start(c);
  ASSERT_TRUE(eventually([&] { return director_.commands().size() >= 3; }, 10s));
  ASSERT_TRUE(eventually([&] { return dying_->connections() >= 1; }, 10s));
  EXPECT_LT(timed_stop(), 5s);
}

}  // namespace

TEST(DaemonStopGrace, IsTheCommandTimeoutCappedAtTenSeconds) {
  boost::asio::io_context io;
  Config c;
  c.state_file.clear();
  c.director.command_timeout = Seconds(75);
  EXPECT_EQ(PoolWatcher(io.get_executor(), c, CredentialStore{}).director_stop_grace(),
            Seconds(10));
  c.director.command_timeout = Seconds(2);
  EXPECT_EQ(PoolWatcher(io.get_executor(), c, CredentialStore{}).director_stop_grace(), Seconds(2));
}
