// The director's own text as a hostile director would send it: a HOST-DOWN reply and a
// host tag carrying ESC, CR, BEL, NUL, a C1 control and invalid UTF-8 must reach the log
// and `run --once` printable, so they can neither forge a line nor drive a terminal.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"
#include "support/log_capture.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace poolwatch;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;

namespace {

class DaemonHostileText : public ::testing::Test {
 protected:
  static inline const auto kHealthy = make_ip_address("127.0.3.41");
  static inline const auto kDying = make_ip_address("127.0.3.42");
  // Clears the screen, returns to the start of the line and writes a line of its own,
  // rings the bell; then NUL, CSI as a C1 control, an overlong '/' and a Latin-1 byte.
  static inline const std::string kHostile =
      "no\x1b[2J\rEVIL up\x07\0x\xc2\x9b"s + "2J\xc0\xaf caf\xe9";
  static inline const std::string kPrintable =
      "no?[2J?EVIL up??x?2J\xef\xbf\xbd\xef\xbf\xbd caf\xef\xbf\xbd";

  // Whether text carries a byte or sequence a terminal acts on, or invalid UTF-8 left
  // from kHostile.
  static bool raw(const std::string& text) {
    for (const auto& bad : {"\x1b"s, "\r"s, "\x07"s, "\0"s, "\xc2\x9b"s, "\xc0"s, "\xe9"s})
      if (text.find(bad) != std::string::npos) return true;
    return false;
  }

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
  }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
};

TEST_F(DaemonHostileText, AHostDownReplyIsLoggedPrintable) {
  poolwatch::test::LogCapture log;  // before the watcher's thread exists
  {
    poolwatch::test::WatcherThread watcher;
    director_.fail_next("HOST-DOWN", FakeDirector::Fault::reply_with(kHostile));
    watcher.start(poolwatch::test::fast_daemon_config(director_, port_, dir_.path()));
    dying_.reset();  // connection refused from now on
    ASSERT_TRUE(eventually(
        [&] {
          const auto commands = director_.commands();
          return std::count(commands.begin(), commands.end(), "HOST-DOWN\t127.0.3.42") >= 2;
        },
        20s))
        << ::testing::PrintToString(director_.commands());
  }  // the watcher's thread is joined: the log is complete
  const auto text = log.text();
  EXPECT_NE(text.find("director: HOST-DOWN 127.0.3.42 failed (error: " + kPrintable + ")"),
            std::string::npos)
      << text;
  EXPECT_FALSE(raw(text)) << text;
}

TEST_F(DaemonHostileText, RunOnceShowsATagPrintable) {
  auto tagged = poolwatch::test::pool_host(kDying);
  tagged.tag = kHostile;
  director_.set_hosts({tagged});
  const auto config = dir_.write(
      "poolwatch.yml", "director:\n  socket: " + director_.socket_path() +
                           "\nhttp:\n  enabled: false\nstate_file: " + dir_.path() + "/state\n");
  const auto [code, out] =
      poolwatch::test::run_command({POOLWATCH_BINARY, "run", "--once", "-c", config}, 20s);
  EXPECT_NE(out.find("127.0.3.42"), std::string::npos) << out;
  EXPECT_NE(out.find(kPrintable), std::string::npos) << out;
  EXPECT_EQ(out.find("\nEVIL up"), std::string::npos) << out;
  EXPECT_FALSE(raw(out)) << out;
}

}  // namespace
