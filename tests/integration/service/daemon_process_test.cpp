// The built binary as an operator runs it, against the fake director: one instance per
// pidfile, a clean exit on SIGTERM, a reload on SIGHUP that survives a broken config.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/child_process.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using poolwatch::make_ip_address;
using poolwatch::test::ChildProcess;
using poolwatch::test::eventually;
using poolwatch::test::run_command;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
using poolwatch::testing::FakeMailServerOptions;

namespace {

class DaemonProcess : public ::testing::Test {
 protected:
  std::string config(const std::string& extra = "") const {
    return dir_.write("poolwatch.yml", "director:\n  socket: " + director_.socket_path() +
                                           "\nhttp:\n  enabled: false\npidfile: " + pidfile() +
                                           "\nstate_file: " + dir_.path() + "/state\n" + extra);
  }
  std::string pidfile() const { return dir_.path() + "/poolwatch.pid"; }
  std::unique_ptr<ChildProcess> start(const std::string& name) const {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{POOLWATCH_BINARY, "run", "--foreground", "-c",
                                 dir_.path() + "/poolwatch.yml"},
        dir_.path() + "/" + name + ".log");
  }

  TempDir dir_;
  FakeDirector director_;
};

TEST_F(DaemonProcess, SecondInstanceRefusesAndSigtermRemovesThePidfile) {
  config();
  auto first = start("first");
  ASSERT_TRUE(
      eventually([&] { return first->output_contains("director: pool of 0 host(s)"); }, 10s))
      << first->output();
  EXPECT_TRUE(std::filesystem::exists(pidfile()));

  auto second = start("second");
  const auto refused = second->wait(10s);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(*refused, 1);
  EXPECT_TRUE(second->output_contains("already running")) << second->output();

  first->signal(SIGTERM);
  const auto status = first->wait(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << first->output();
  EXPECT_FALSE(std::filesystem::exists(pidfile()));
}

TEST_F(DaemonProcess, HupWithABrokenConfigKeepsRunning) {
  config();
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("director: pool of"); }, 10s));
  dir_.write("poolwatch.yml", "health:\n  retry_count: banana\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return daemon->output_contains("config reload failed, keeping the running config"); },
      10s))
      << daemon->output();
  EXPECT_TRUE(daemon->output_contains("health.retry_count")) << daemon->output();
  config("dry_run: true\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("config reloaded (dry-run)"); }, 10s))
      << daemon->output();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0);
}

TEST_F(DaemonProcess, BadConfigIsExitCodeTwoWithTheKey) {
  const auto path = dir_.write("bad.yml", "health:\n  retry_count: 0\n");
  auto [code, out] = run_command({POOLWATCH_BINARY, "run", "--once", "-c", path}, 10s);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("health.retry_count"), std::string::npos) << out;
}

TEST_F(DaemonProcess, WorldReadableCredentialFileIsRefused) {
  const auto secret = dir_.write("cred", "probe\nsupersecret\n", 0644);
  config("credentials:\n  credfile: " + secret + "\n");
  auto [code, out] =
      run_command({POOLWATCH_BINARY, "run", "--once", "-c", dir_.path() + "/poolwatch.yml"}, 10s);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("chmod 600"), std::string::npos) << out;
  EXPECT_EQ(out.find("supersecret"), std::string::npos) << out;
}

bool received_login_of(const FakeMailServer& server, const std::string& user) {
  for (const auto& line : server.received())
    if (line.find("LOGIN") != std::string::npos && line.find(user) != std::string::npos)
      return true;
  return false;
}

TEST_F(DaemonProcess, HupWithAChangedCredentialFileChangesTheAccountUsed) {
  FakeMailServerOptions options;
  options.address = "127.0.5.1";
  FakeMailServer backend(options);
  director_.set_hosts({poolwatch::HostEntry{make_ip_address("127.0.5.1"), 100, 0, "", false, 0}});
  const auto credfile = dir_.write("credfile", "alice\nsecret-a\n", 0600);
  config("probe:\n  ports: [\"IMAP:" + std::to_string(backend.port()) +
         "\"]\nhealth:\n  interval: 200ms\n  jitter_percent: 0\ncredentials:\n  credfile: " +
         credfile + "\n");
  auto daemon = start("daemon");
  ASSERT_TRUE(eventually([&] { return received_login_of(backend, "alice"); }, 10s))
      << daemon->output();

  dir_.write("credfile", "bob\nsecret-b\n", 0600);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return received_login_of(backend, "bob"); }, 10s))
      << daemon->output();
  EXPECT_TRUE(daemon->output_contains("credentials reloaded")) << daemon->output();

  // A credential file that became readable by others is refused; bob stays in use.
  dir_.write("credfile", "carol\nsecret-c\n", 0644);
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("keeping the previous ones"); }, 10s))
      << daemon->output();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(5s), 0);
  EXPECT_FALSE(received_login_of(backend, "carol"));
  for (const char* secret : {"secret-a", "secret-b", "secret-c"})
    EXPECT_FALSE(daemon->output_contains(secret)) << secret;
}

}  // namespace
