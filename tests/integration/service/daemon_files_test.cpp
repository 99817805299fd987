// Issue 13, item 7, with the built binary: a FIFO (or a link) where the daemon expects its
// log file, event log or state file used to hang the start-up in open(2) forever. The
// log file is refused (exit 2, naming the key); the event log and the state file are
// reported and the daemon runs without them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/fake_director.hpp"

using namespace std::chrono_literals;
using poolwatch::test::ChildProcess;
using poolwatch::test::eventually;
using poolwatch::test::run_command;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;

class DaemonFiles : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string fifo(const std::string& name) const {
    const auto at = path(name);
    EXPECT_EQ(::mkfifo(at.c_str(), 0600), 0) << at;
    return at;
  }
  std::string config(const std::string& extra) const {
    return dir_.write("poolwatch.yml", "director:\n  socket: " + director_.socket_path() +
                                           "\nhttp:\n  enabled: false\npidfile: " +
                                           path("poolwatch.pid") + "\n" + extra);
  }

  TempDir dir_;
  FakeDirector director_;
};

TEST_F(DaemonFiles, AFifoAsTheLogFileIsAConfigErrorNotAHang) {
  const auto log = fifo("poolwatch.log");
  const auto file =
      config("state_file: " + path("state") + "\nlog:\n  target: file\n  file: " + log + "\n");
  // The bound is against the hang this used to be; it is no speed test.
  const auto [code, out] = run_command({POOLWATCH_BINARY, "run", "--once", "-c", file}, 20s);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("log.file: cannot open '" + log + "': is a FIFO, not a regular file"),
            std::string::npos)
      << out;
}

TEST_F(DaemonFiles, AFifoAsTheStateFileOrEventLogIsReportedAndTheDaemonRuns) {
  const auto state = fifo("state");
  const auto events = fifo("events.jsonl");
  const auto file = config("state_file: " + state + "\nevent_log: " + events + "\n");
  ChildProcess daemon({POOLWATCH_BINARY, "run", "--foreground", "-c", file}, path("daemon.out"));
  ASSERT_TRUE(
      eventually([&] { return daemon.output_contains("director: pool of 0 host(s)"); }, 20s))
      << daemon.output();
  EXPECT_TRUE(daemon.output_contains("state file " + state + ": is a FIFO, not a regular file"))
      << daemon.output();
  EXPECT_TRUE(daemon.output_contains("event log: cannot open " + events +
                                     ": is a FIFO, not a regular file"))
      << daemon.output();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(20s), 0) << daemon.output();
}
