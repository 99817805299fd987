// The built binary as a service: every stop signal ends it cleanly, a stale pidfile is
// taken over, it detaches without --foreground, and SIGHUP applies runtime keys,
// reports restart-only ones and reopens a rotated log file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using poolwatch::make_ip_address;
using poolwatch::test::ChildProcess;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
using poolwatch::testing::FakeMailServerOptions;

namespace {

using poolwatch::test::read_text_file;

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class DaemonService : public ::testing::Test {
 protected:
  std::string config(const std::string& extra = "") const {
    return config_with_socket(director_.socket_path(), extra);
  }
  std::string config_with_socket(const std::string& socket, const std::string& extra,
                                 const std::string& pidfile_path = "") const {
    return dir_.write("poolwatch.yml", "director:\n  socket: " + socket +
                                           "\nhttp:\n  enabled: false\npidfile: " +
                                           (pidfile_path.empty() ? pidfile() : pidfile_path) +
                                           "\nstate_file: " + dir_.path() + "/state\n" + extra);
  }
  std::string pidfile() const { return dir_.path() + "/poolwatch.pid"; }
  std::string log_file() const { return dir_.path() + "/poolwatch.log"; }
  std::unique_ptr<ChildProcess> start(const std::string& name, bool foreground = true) const {
    std::vector<std::string> argv{POOLWATCH_BINARY, "run"};
    if (foreground) argv.emplace_back("--foreground");
    argv.emplace_back("-c");
    argv.push_back(dir_.path() + "/poolwatch.yml");
    return std::make_unique<ChildProcess>(std::move(argv), dir_.path() + "/" + name + ".log");
  }

  TempDir dir_;
  FakeDirector director_;
};

class StopSignal : public DaemonService, public ::testing::WithParamInterface<int> {};

TEST_P(StopSignal, ExitsZeroAndRemovesThePidfile) {
  const int sig = GetParam();
  config();
  auto daemon = start("daemon");
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("director: pool of 0 host(s)"); }, 10s))
      << daemon->output();
  ASSERT_EQ(read_text_file(pidfile()), std::to_string(daemon->pid()) + "\n");

  const auto sent = std::chrono::steady_clock::now();
  daemon->signal(sig);
  const auto status = daemon->wait(5s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - sent);
  std::printf("signal %d: exited after %lld ms (documented: within 1 s)\n", sig,
              static_cast<long long>(took.count()));
  ASSERT_TRUE(status.has_value()) << daemon->output();
  EXPECT_EQ(*status, 0) << daemon->output();
  EXPECT_FALSE(std::filesystem::exists(pidfile()));
  EXPECT_TRUE(daemon->output_contains("signal " + std::to_string(sig) + ": shutting down"))
      << daemon->output();
  EXPECT_TRUE(daemon->output_contains("stopped")) << daemon->output();
}

std::string signal_name(const ::testing::TestParamInfo<int>& param) {
  return param.param == SIGINT ? "Sigint" : "Sigquit";
}

INSTANTIATE_TEST_SUITE_P(IntAndQuit, StopSignal, ::testing::Values(SIGINT, SIGQUIT), signal_name);

TEST_F(DaemonService, StalePidfileOfAnExitedProcessIsTakenOver) {
  pid_t gone = 0;
  {
    ChildProcess exited({"/bin/true"}, dir_.path() + "/true.log");
    gone = exited.pid();
    ASSERT_EQ(exited.wait(5s), 0);
  }
  dir_.write("poolwatch.pid", std::to_string(gone) + "\n", 0644);
  config();
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("director: pool of"); }, 10s))
      << daemon->output();
  EXPECT_EQ(read_text_file(pidfile()), std::to_string(daemon->pid()) + "\n");
  EXPECT_TRUE(daemon->output_contains("taken over from pid " + std::to_string(gone)))
      << daemon->output();

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
  EXPECT_FALSE(std::filesystem::exists(pidfile()));
}

// Makes this test process the reaper of orphans for its lifetime, so the detached
// daemon's exit status can be collected here; SIGKILLs a daemon a failed test left.
class OrphanReaper {
 public:
  OrphanReaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
  ~OrphanReaper() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  }
  OrphanReaper(const OrphanReaper&) = delete;
  OrphanReaper& operator=(const OrphanReaper&) = delete;
  void adopt(pid_t pid) { pid_ = pid; }
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    eventually(
        [&] {
          int raw = 0;
          if (::waitpid(pid_, &raw, WNOHANG) == pid_)
            status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
          return status_.has_value();
        },
        timeout);
    return status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

TEST_F(DaemonService, WithoutForegroundItDetachesAndSigtermToTheDaemonRemovesThePidfile) {
  OrphanReaper reaper;
  config("log:\n  target: file\n  file: " + log_file() + "\n");
  auto launcher = start("launcher", false);
  ASSERT_EQ(launcher->wait(10s), 0) << launcher->output();
  // The launcher returns only once the daemon wrote the pidfile.
  const auto text = read_text_file(pidfile());
  ASSERT_FALSE(text.empty());
  const pid_t daemon = std::stoi(text);
  reaper.adopt(daemon);
  EXPECT_NE(daemon, launcher->pid());
  EXPECT_EQ(::kill(daemon, 0), 0) << "daemon pid " << daemon << " is not alive";
  // Its stdio is /dev/null: everything goes to the log file, nothing to the launcher's.
  EXPECT_EQ(launcher->output(), "");
  ASSERT_TRUE(eventually(
      [&] { return read_text_file(log_file()).find("director: pool of") != std::string::npos; },
      10s))
      << read_text_file(log_file());
  EXPECT_GE(poolwatch::test::count_host_lists(director_), 1u);

  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  const auto status = reaper.wait(5s);
  ASSERT_TRUE(status.has_value()) << read_text_file(log_file());
  EXPECT_EQ(*status, 0);
  EXPECT_FALSE(std::filesystem::exists(pidfile()));
  EXPECT_NE(read_text_file(log_file()).find("stopped"), std::string::npos)
      << read_text_file(log_file());
}

TEST_F(DaemonService, HupAppliesANewIntervalAndNewProbePorts) {
  FakeMailServerOptions options;
  options.address = "127.0.32.1";
  FakeMailServer first_port(options);
  FakeMailServer second_port(options);
  director_.set_hosts({poolwatch::HostEntry{make_ip_address("127.0.32.1"), 100, 0, "", false, 0}});
  const auto ports = [&](bool both) {
    std::string list = "\"IMAP:" + std::to_string(first_port.port()) + "\"";
    if (both) list += ", \"IMAP:" + std::to_string(second_port.port()) + "\"";
    return "probe:\n  ports: [" + list + "]\n";
  };
  // A long interval: one scan at start, the next a minute later; the check's first
  // probe is spread at random over that minute.
  config(ports(false) + "health:\n  interval: 60s\n  jitter_percent: 0\n");
  auto daemon = start("daemon");
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("director: pool of 1 host(s)"); }, 10s))
      << daemon->output();
  const auto host_lists = poolwatch::test::count_host_lists(director_);

  config(ports(true) + "health:\n  interval: 200ms\n  jitter_percent: 0\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("config reloaded"); }, 10s))
      << daemon->output();
  // A reload itself triggers one scan; many more can only come from the new interval.
  EXPECT_TRUE(eventually(
      [&] { return poolwatch::test::count_host_lists(director_) >= host_lists + 6; }, 10s))
      << "HOST-LISTs since the reload: "
      << poolwatch::test::count_host_lists(director_) - host_lists << "\n"
      << daemon->output();
  // The port added by the reload is probed, again and again at the new interval.
  EXPECT_TRUE(eventually([&] { return second_port.connections() >= 5; }, 10s))
      << second_port.connections() << " connection(s)\n"
      << daemon->output();
  EXPECT_FALSE(daemon->output_contains("takes effect after a restart")) << daemon->output();

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
}

// A reload that shortens health.interval must reach a check already waiting out the old
// interval: going from 30 s back to 200 ms must not leave it idle for up to 30 s.
TEST_F(DaemonService, HupShortensTheWaitOfARunningCheck) {
  FakeMailServerOptions options;
  options.address = "127.0.33.1";
  FakeMailServer backend(options);
  director_.set_hosts({poolwatch::HostEntry{make_ip_address("127.0.33.1"), 100, 0, "", false, 0}});
  const auto with_interval = [&](const std::string& interval) {
    config("probe:\n  ports: [\"IMAP:" + std::to_string(backend.port()) +
           "\"]\nhealth:\n  interval: " + interval + "\n  jitter_percent: 0\n");
  };
  with_interval("200ms");
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return backend.connections() >= 2; }, 10s)) << daemon->output();

  with_interval("30s");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("config reloaded"); }, 10s));
  // The probe already scheduled with 200 ms runs (unless it ran before this count);
  // the one after it is planned 30 s ahead.
  const auto at_reload = backend.connections();
  eventually([&] { return backend.connections() > at_reload; }, 2s);
  const auto probes = backend.connections();

  with_interval("200ms");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(
      eventually([&] { return occurrences(daemon->output(), "config reloaded") == 2; }, 10s));
  EXPECT_TRUE(eventually([&] { return backend.connections() >= probes + 5; }, 10s))
      << backend.connections() - probes << " probe(s) after the reload to 200ms\n"
      << daemon->output();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
}

TEST_F(DaemonService, HupReportsRestartOnlyKeysAndKeepsTheOldValues) {
  const std::string interval = "health:\n  interval: 200ms\n";
  config(interval);
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return poolwatch::test::count_host_lists(director_) >= 1; }, 10s))
      << daemon->output();

  const auto other_socket = dir_.path() + "/elsewhere";
  const auto other_pidfile = dir_.path() + "/elsewhere.pid";
  config_with_socket(other_socket, interval, other_pidfile);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("config reloaded"); }, 10s))
      << daemon->output();
  EXPECT_TRUE(
      daemon->output_contains("config: director.* changed; it takes effect after a restart"))
      << daemon->output();
  EXPECT_TRUE(daemon->output_contains("config: pidfile changed; it takes effect after a restart"))
      << daemon->output();

  // Still talking to the old director, still holding the old pidfile.
  const auto host_lists = poolwatch::test::count_host_lists(director_);
  EXPECT_TRUE(eventually(
      [&] { return poolwatch::test::count_host_lists(director_) >= host_lists + 3; }, 10s))
      << daemon->output();
  EXPECT_FALSE(daemon->output_contains(other_socket)) << daemon->output();
  EXPECT_EQ(read_text_file(pidfile()), std::to_string(daemon->pid()) + "\n");
  EXPECT_FALSE(std::filesystem::exists(other_pidfile));

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
  EXPECT_FALSE(std::filesystem::exists(pidfile()));
}

// passive.failures, window and may_down apply on SIGHUP; the endpoint's keys need a restart.
TEST_F(DaemonService, HupAppliesThePassivePolicyAndReportsTheEndpointsKeys) {
  const std::string interval = "health:\n  interval: 200ms\n";
  config(interval + "passive:\n  failures: 3\n  window: 10s\n");
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return poolwatch::test::count_host_lists(director_) >= 1; }, 10s))
      << daemon->output();

  config(interval + "passive:\n  failures: 5\n  window: 30s\n  may_down: true\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("config reloaded"); }, 10s))
      << daemon->output();
  EXPECT_FALSE(daemon->output_contains("takes effect after a restart")) << daemon->output();

  config(interval + "passive:\n  failures: 5\n  window: 30s\n  listen: 127.0.0.1:9199\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(
      eventually([&] { return occurrences(daemon->output(), "config reloaded") == 2; }, 10s));
  EXPECT_TRUE(daemon->output_contains(
      "config: passive.* (other than failures, window and may_down) changed; it takes effect "
      "after a restart"))
      << daemon->output();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
}

TEST_F(DaemonService, HupReopensARotatedLogFile) {
  config("log:\n  target: file\n  file: " + log_file() + "\n");
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually(
      [&] { return read_text_file(log_file()).find("director: pool of") != std::string::npos; },
      10s))
      << daemon->output();

  // logrotate without copytruncate: the file is moved away, then the daemon is HUPed.
  const auto rotated = log_file() + ".1";
  std::filesystem::rename(log_file(), rotated);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(log_file()); }, 10s))
      << daemon->output();
  // The reload is logged before the reopen, so it is the last thing the old file gets.
  EXPECT_EQ(occurrences(read_text_file(rotated), "config reloaded"), 1u) << read_text_file(rotated);
  struct stat st {};
  ASSERT_EQ(::stat(log_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u) << "the log names backends and users";

  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return read_text_file(log_file()).find("config reloaded") != std::string::npos; }, 10s))
      << daemon->output();
  EXPECT_NE(read_text_file(log_file()).find("SIGHUP: reloading"), std::string::npos);
  EXPECT_EQ(occurrences(read_text_file(rotated), "config reloaded"), 1u) << read_text_file(rotated);

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0) << daemon->output();
  EXPECT_NE(read_text_file(log_file()).find("stopped"), std::string::npos);
  EXPECT_EQ(read_text_file(rotated).find("stopped"), std::string::npos);
}

}  // namespace
