// PoolWatcher in-process with a real on_transition script: it is run without a shell as
// PROGRAM [FIXED ARGS] down|up ADDRESS REASON, and a stop kills and reaps a hook still
// running instead of waiting it out.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <sstream>

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

namespace {

using poolwatch::test::read_text_file;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Gone, or a zombie its new parent has not reaped yet: either way no longer running.
bool finished(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  const auto stat = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'Z';
}

class DaemonHook : public ::testing::Test {
 protected:
  // Not the addresses of the other daemon tests, so all can run at once.
  static inline const auto kHealthy = make_ip_address("127.0.8.1");
  static inline const auto kDying = make_ip_address("127.0.8.2");

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    revive();
  }

  void revive() {
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
  }

  Config config(const std::string& on_transition) const {
    auto c = poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
    c.actions.on_transition = on_transition;
    return c;
  }

  std::string script(const std::string& name, const std::string& body) const {
    return dir_.write(name, "#!/bin/sh\n" + body, 0755);
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  poolwatch::test::WatcherThread watcher_;  // last: stopped before the fakes go
};

// One line per call, every argument in brackets, so spaces inside one are visible.
TEST_F(DaemonHook, TheHookGetsItsFixedArgumentsThenTheTransition) {
  const auto calls = path("calls");
  const auto hook = script(
      "hook.sh", "{ for a in \"$@\"; do printf '[%s]' \"$a\"; done; echo; } >> " + calls + "\n");
  watcher_.start(config(hook + " --channel  ops"));
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(eventually([&] { return lines_of(read_text_file(calls)).size() >= 1; }, 15s))
      << ::testing::PrintToString(director_.commands());
  revive();
  ASSERT_TRUE(eventually([&] { return lines_of(read_text_file(calls)).size() >= 2; }, 15s))
      << ::testing::PrintToString(director_.commands());
  watcher_.stop();

  const auto lines = lines_of(read_text_file(calls));
  ASSERT_EQ(lines.size(), 2u) << read_text_file(calls);
  EXPECT_TRUE(lines[0].starts_with("[--channel][ops][down][127.0.8.2][imap:")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("[--channel][ops][up][127.0.8.2][")) << lines[1];
  EXPECT_TRUE(lines[0].ends_with("]")) << lines[0];
}

// A hook that would run for 20 s neither holds the stop up nor outlives it: it and the
// process it started get SIGTERM, and poolwatch reaps it.
TEST_F(DaemonHook, AStopKillsARunningHookAndItsChildren) {
  const auto hook =
      script("slow.sh", "echo $$ > " + path("hook.pid.tmp") + "\nsleep 20 &\necho $! > " +
                            path("sleep.pid") + "\nmv " + path("hook.pid.tmp") + " " +
                            path("hook.pid") + "\nwait\n");
  auto c = config(hook);
  c.actions.on_transition_timeout = Seconds(60);
  watcher_.start(c);
  dying_.reset();
  ASSERT_TRUE(eventually([&] { return !read_text_file(path("hook.pid")).empty(); }, 15s))
      << ::testing::PrintToString(director_.commands());
  const pid_t hook_pid = std::stoi(read_text_file(path("hook.pid")));
  const pid_t sleep_pid = std::stoi(read_text_file(path("sleep.pid")));
  ASSERT_FALSE(finished(hook_pid));

  const auto asked = std::chrono::steady_clock::now();
  watcher_.stop();
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_LT(took, 8s) << "the stop waited for the hook (it sleeps 20 s)";
  // poolwatch runs in this process, so the hook was its child: reaped means gone.
  EXPECT_NE(::kill(hook_pid, 0), 0) << "hook pid " << hook_pid << " left running or unreaped";
  EXPECT_TRUE(eventually([&] { return finished(sleep_pid); }, 2s))
      << "the hook's own child " << sleep_pid << " survived";
  if (!finished(sleep_pid)) ::kill(sleep_pid, SIGKILL);
}

}  // namespace
