// The poolwatch binary against a real Dovecot director and real backends: what an
// operator would see when a backend dies, recovers, is downed by an admin, or when
// every backend looks dead at once.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <sstream>

#include "support/child_process.hpp"
#include "support/dovecot_lab.hpp"

using namespace std::chrono_literals;
using poolwatch::test::ChildProcess;
using poolwatch::test::DovecotLab;
using poolwatch::test::eventually;
using poolwatch::test::run_command;
using poolwatch::test::TempDir;

namespace {

// "up", "down" or "" for one host in `doveadm director status`.
std::string director_state(const DovecotLab& lab, const std::string& address) {
  std::istringstream lines(lab.director_status());
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string first, word;
    words >> first;
    if (first != address) continue;
    while (words >> word)
      if (word == "up" || word == "down") return word;
  }
  return "";
}

int hosts_down(const DovecotLab& lab) {
  int n = 0;
  for (const auto& a : lab.backend_addresses()) n += director_state(lab, a) == "down";
  return n;
}

class DaemonE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
    password_file_ = dir_.write("probe.password", "probepass\n", 0600);
  }

  // Fast timings so a dead backend is found in seconds: 2 failures, then a rapid round
  // of 3 polls of which 2 must fail.
  std::string write_config(const std::string& extra) {
    std::string yaml = "director:\n  socket: " + lab_->admin_socket() +
                       "\n"
                       "probe:\n  ports: [IMAP:143]\n"
                       "credentials:\n  default_user: \"probe-%{backend_host}\"\n"
                       "  default_password_file: " +
                       password_file_ +
                       "\n"
                       "health:\n  interval: 1s\n  timeout: 2s\n  retry_count: 2\n"
                       "  rapid_rounds: 3\n  rapid_fails_needed: 2\n  rapid_interval: 200ms\n"
                       "  rapid_timeout: 1s\n  jitter_percent: 0\n"
                       "http:\n  enabled: false\n"
                       "pidfile: " +
                       dir_.path() + "/poolwatch.pid\nstate_file: " + dir_.path() +
                       "/state\nevent_log: " + dir_.path() + "/events.jsonl\n" + extra;
    return dir_.write("poolwatch.yml", yaml);
  }

  std::unique_ptr<ChildProcess> start_daemon(const std::string& config) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{POOLWATCH_BINARY, "run", "--foreground", "-c", config},
        dir_.path() + "/poolwatch.log");
  }

  static void stop(ChildProcess& daemon) {
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(5s);
    ASSERT_TRUE(status.has_value()) << "poolwatch did not stop on SIGTERM";
    EXPECT_EQ(*status, 0) << daemon.output();
  }

  TempDir dir_;
  std::unique_ptr<DovecotLab> lab_;
  std::string password_file_;
};

TEST_F(DaemonE2E, OncePrintsThePoolAndExitsByHealth) {
  const auto config = write_config("");
  auto [code, out] = run_command({POOLWATCH_BINARY, "run", "--once", "-c", config}, 30s);
  EXPECT_EQ(code, 0) << out;
  for (const auto& a : lab_->backend_addresses()) EXPECT_NE(out.find(a), std::string::npos) << out;
  EXPECT_NE(out.find("3 probe(s), 0 failed"), std::string::npos) << out;

  lab_->fault(2, "stop");
  std::tie(code, out) = run_command({POOLWATCH_BINARY, "run", "--once", "-c", config}, 30s);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("refused"), std::string::npos) << out;
  EXPECT_NE(out.find("3 probe(s), 1 failed"), std::string::npos) << out;
}

TEST_F(DaemonE2E, OnceWithoutDirectorExitsTwo) {
  const auto config = write_config("");
  lab_.reset();  // the director is gone
  auto [code, out] = run_command({POOLWATCH_BINARY, "run", "--once", "-c", config}, 30s);
  EXPECT_EQ(code, 2) << out;
}

TEST_F(DaemonE2E, StoppedBackendGoesDownAndComesBack) {
  auto daemon = start_daemon(write_config(""));
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("backend 127.0.1.2: healthy"); }, 20s))
      << daemon->output();
  lab_->fault(2, "stop");
  // interval*retry_count + rapid round + timeout, with room for a loaded machine.
  ASSERT_TRUE(eventually([&] { return director_state(*lab_, "127.0.1.2") == "down"; }, 30s))
      << daemon->output();
  EXPECT_EQ(director_state(*lab_, "127.0.1.1"), "up");
  EXPECT_TRUE(daemon->output_contains("HOST-DOWN 127.0.1.2 sent")) << daemon->output();
  EXPECT_TRUE(daemon->output_contains("HOST-RESET-USERS 127.0.1.2 sent")) << daemon->output();

  lab_->fault(2, "start");
  ASSERT_TRUE(eventually([&] { return director_state(*lab_, "127.0.1.2") == "up"; }, 20s))
      << daemon->output();
  EXPECT_TRUE(daemon->output_contains("HOST-UP 127.0.1.2 sent")) << daemon->output();
  stop(*daemon);
  EXPECT_FALSE(daemon->output_contains("probepass"));
}

TEST_F(DaemonE2E, DirectorRestartLosesTheDownAndPoolwatchReappliesIt) {
  auto daemon = start_daemon(write_config(""));
  lab_->fault(3, "stop");
  ASSERT_TRUE(eventually([&] { return director_state(*lab_, "127.0.1.3") == "down"; }, 30s))
      << daemon->output();
  // A director restart forgets every HOST-DOWN.
  auto [code, out] = DovecotLab::run("doveadm -c " + lab_->dir() + "/etc/director.conf stop");
  ASSERT_EQ(code, 0) << out;
  // The old master needs a moment to exit and free its addresses.
  ASSERT_TRUE(eventually(
      [&] {
        std::tie(code, out) = DovecotLab::run("dovecot -c " + lab_->dir() + "/etc/director.conf");
        return code == 0;
      },
      15s))
      << out;
  ASSERT_TRUE(eventually(
      [&] {
        return daemon->output_contains("HOST-DOWN 127.0.1.3 sent") &&
               director_state(*lab_, "127.0.1.3") == "down";
      },
      60s))
      << daemon->output();
  stop(*daemon);
}

TEST_F(DaemonE2E, HostDownedByAnAdminStaysDown) {
  auto [code, out] =
      DovecotLab::run("doveadm -c " + lab_->dir() + "/etc/director.conf director down -a " +
                      lab_->admin_socket() + " 127.0.1.3");
  ASSERT_EQ(code, 0) << out;
  auto daemon = start_daemon(write_config(""));
  // The host is healthy, so poolwatch would bring it up if it were poolwatch's.
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("127.0.1.3: HOST-UP not sent"); }, 20s))
      << daemon->output();
  EXPECT_EQ(director_state(*lab_, "127.0.1.3"), "down");
  stop(*daemon);
  EXPECT_EQ(director_state(*lab_, "127.0.1.3"), "down");
}

TEST_F(DaemonE2E, DryRunChangesNothingInTheDirector) {
  auto daemon = start_daemon(write_config("dry_run: true\n"));
  lab_->fault(1, "stop");
  ASSERT_TRUE(eventually(
      [&] { return daemon->output_contains("dry-run: would send HOST-DOWN 127.0.1.1"); }, 30s))
      << daemon->output();
  EXPECT_EQ(hosts_down(*lab_), 0);
  stop(*daemon);
}

TEST_F(DaemonE2E, EveryBackendDeadTakesDownAtMostTheGuardShare) {
  auto daemon = start_daemon(write_config("actions:\n  max_down_percent: 50\n"));
  for (int i = 1; i <= 3; ++i) lab_->fault(i, "stop");
  // floor(3 * 50%) = 1 host may go down; the others are refused loudly.
  ASSERT_TRUE(eventually(
      [&] {
        return hosts_down(*lab_) == 1 && daemon->output_contains("pool guard: blocking HOST-DOWN");
      },
      40s))
      << daemon->output();
  stop(*daemon);
  EXPECT_EQ(hosts_down(*lab_), 1);
}

TEST_F(DaemonE2E, SigtermStopsWithinASecond) {
  auto daemon = start_daemon(write_config(""));
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("healthy"); }, 20s))
      << daemon->output();
  daemon->signal(SIGTERM);
  const auto status = daemon->wait(2s);  // one second, plus process start/exit slack
  ASSERT_TRUE(status.has_value()) << daemon->output();
  EXPECT_EQ(*status, 0);
}

}  // namespace
