// `poolwatch probe`, the built binary against fake servers: what an operator types to
// debug a check, its transcript (password masked) and its exit codes.
#include <gtest/gtest.h>

#include "support/child_process.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using poolwatch::test::run_command;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeMailServer;
using poolwatch::testing::FakeMailServerOptions;

namespace {

class ProbeCommand : public ::testing::Test {
 protected:
  std::pair<int, std::string> probe(std::vector<std::string> args) {
    std::vector<std::string> argv{POOLWATCH_BINARY, "-c", config_, "probe"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 30s);
  }

  TempDir dir_;
  std::string config_ = dir_.write("poolwatch.yml", "http:\n  enabled: false\n");
};

TEST_F(ProbeCommand, HealthyLoginIsExitZeroWithTheDialogueAndNoPassword) {
  FakeMailServer server(FakeMailServerOptions{});
  const auto password = dir_.write("pw", "probepass\n", 0600);
  auto [code, out] = probe({"--port", std::to_string(server.port()), "--user", "probe",
                            "--password-file", password, "127.0.0.1"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("OK"), std::string::npos) << out;
  EXPECT_NE(out.find("LOGIN"), std::string::npos) << out;  // the transcript
  EXPECT_EQ(out.find("probepass"), std::string::npos) << out;
}

TEST_F(ProbeCommand, RejectedPasswordIsExitOneWithTheClass) {
  FakeMailServer server(FakeMailServerOptions{});
  const auto password = dir_.write("pw", "wrong-password\n", 0600);
  auto [code, out] = probe({"--port", std::to_string(server.port()), "--user", "probe",
                            "--password-file", password, "127.0.0.1"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("FAIL"), std::string::npos) << out;
  EXPECT_EQ(out.find("wrong-password"), std::string::npos) << out;
}

TEST_F(ProbeCommand, UsageErrorsAreExitTwo) {
  auto [code, out] = probe({"not-an-address"});
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = probe({"--user", "probe", "127.0.0.1"});  // no password file
  EXPECT_EQ(code, 2) << out;
  const auto readable = dir_.write("pw", "probepass\n", 0644);
  std::tie(code, out) = probe({"--user", "probe", "--password-file", readable, "127.0.0.1"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("chmod 600"), std::string::npos) << out;
}

}  // namespace
