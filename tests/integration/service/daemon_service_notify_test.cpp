// The built binary under a stand-in for systemd: the datagrams it sends to
// $NOTIFY_SOCKET (READY=1 only once the director answered HOST-LIST, STATUS= with the
// pool, WATCHDOG=1 for as long as it runs, STOPPING=1 on SIGTERM).
//
// ChildProcess has no way to set the child's environment, so the binary is started
// through /usr/bin/env; WATCHDOG_PID is not set because the pid of the exec'd binary is
// env's pid, and sd_notify.cpp treats an unset WATCHDOG_PID as "meant for this process".
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"

using namespace std::chrono_literals;
using poolwatch::make_ip_address;
using poolwatch::test::ChildProcess;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;

namespace {

// The receiving end of $NOTIFY_SOCKET: a bound AF_UNIX datagram socket whose messages
// are collected whenever the test looks at them.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(address.sun_path)) throw std::runtime_error("path too long");
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("bind " + path_ + ": " + std::strerror(errno));
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }

  // Every datagram received so far, oldest first.
  const std::vector<std::string>& messages() {
    char buffer[4096];
    for (;;) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) break;
      messages_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
    return messages_;
  }

  // Index of the first datagram with a line equal to `line` (or starting with it, when
  // `prefix`), at or after `from`.
  std::optional<std::size_t> find(const std::string& line, std::size_t from = 0,
                                  bool prefix = false) {
    const auto& all = messages();
    for (std::size_t i = from; i < all.size(); ++i)
      for (const auto& l : lines_of(all[i]))
        if (prefix ? l.starts_with(line) : l == line) return i;
    return std::nullopt;
  }

  std::size_t count(const std::string& line) {
    std::size_t n = 0;
    for (const auto& m : messages())
      for (const auto& l : lines_of(m))
        if (l == line) ++n;
    return n;
  }

  std::string dump() {
    std::string out;
    for (const auto& m : messages()) out += "[" + m + "]\n";
    return out;
  }

  static std::vector<std::string> lines_of(const std::string& message) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= message.size()) {
      const auto end = std::min(message.find('\n', start), message.size());
      lines.push_back(message.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

std::vector<std::string> status_lines(NotifySocket& notify) {
  std::vector<std::string> out;
  for (const auto& m : notify.messages())
    for (const auto& l : NotifySocket::lines_of(m))
      if (l.starts_with("STATUS=")) out.push_back(l);
  return out;
}

class DaemonNotify : public ::testing::Test {
 protected:
  DaemonNotify() : notify_(dir_.path() + "/notify") {
    // Two hosts that are listed but not probed (vhost count 0 with skip_disabled), so
    // the STATUS= summary names a real pool without any backend traffic.
    director_.set_hosts({poolwatch::HostEntry{make_ip_address("127.0.31.1"), 0, 0, "", false, 0},
                         poolwatch::HostEntry{make_ip_address("127.0.31.2"), 0, 0, "", false, 0}});
    dir_.write("poolwatch.yml",
               "director:\n  socket: " + director_.socket_path() +
                   "\n  reconnect_initial: 100ms\n  reconnect_max: 300ms\n"
                   "http:\n  enabled: false\npidfile: " +
                   dir_.path() + "/poolwatch.pid\nstate_file: " + dir_.path() +
                   "/state\nhealth:\n  interval: 300ms\nactions:\n  skip_disabled: true\n");
  }

  std::unique_ptr<ChildProcess> start(std::vector<std::string> environment) const {
    std::vector<std::string> argv{"/usr/bin/env"};
    argv.insert(argv.end(), environment.begin(), environment.end());
    for (const char* a : {POOLWATCH_BINARY, "run", "--foreground", "-c"}) argv.emplace_back(a);
    argv.push_back(dir_.path() + "/poolwatch.yml");
    return std::make_unique<ChildProcess>(std::move(argv), dir_.path() + "/daemon.log");
  }

  TempDir dir_;
  FakeDirector director_;
  NotifySocket notify_;
};

TEST_F(DaemonNotify, ReadyOnlyAfterHostListThenStatusWatchdogAndStopping) {
  director_.stop_listening();
  auto daemon = start({"NOTIFY_SOCKET=" + notify_.path(), "WATCHDOG_USEC=2000000"});

  // While the director is away: it keeps trying, keeps feeding the watchdog, never
  // claims to be ready, and says why in STATUS=.
  ASSERT_TRUE(eventually([&] { return daemon->output_contains("HOST-LIST failed"); }, 10s))
      << daemon->output();
  const auto watchdogs_at_failure = notify_.count("WATCHDOG=1");
  ASSERT_TRUE(
      eventually([&] { return notify_.count("WATCHDOG=1") >= watchdogs_at_failure + 2; }, 10s))
      << notify_.dump();
  EXPECT_FALSE(notify_.find("READY=1")) << notify_.dump();
  const auto unreachable = status_lines(notify_);
  ASSERT_FALSE(unreachable.empty()) << notify_.dump();
  EXPECT_NE(unreachable.back().find("director unreachable"), std::string::npos) << notify_.dump();
  EXPECT_EQ(poolwatch::test::count_host_lists(director_), 0u);

  director_.start_listening();
  ASSERT_TRUE(eventually([&] { return notify_.find("READY=1").has_value(); }, 15s))
      << notify_.dump() << daemon->output();
  // READY=1 is sent after the answer it depends on, so the question was asked by now.
  EXPECT_GE(poolwatch::test::count_host_lists(director_), 1u);
  const auto ready_index = *notify_.find("READY=1");
  EXPECT_EQ(notify_.count("READY=1"), 1u) << notify_.dump();

  // The READY datagram or a later STATUS= carries the pool summary.
  const std::string summary = "STATUS=2 backends, 0 down, 0 suspect, 0 held down by poolwatch";
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& s : status_lines(notify_))
          if (s == summary) return true;
        return false;
      },
      10s))
      << notify_.dump();
  EXPECT_TRUE(notify_.find(summary, ready_index)) << notify_.dump();

  // The watchdog keeps being fed after READY.
  const auto watchdogs_at_ready = notify_.count("WATCHDOG=1");
  ASSERT_TRUE(
      eventually([&] { return notify_.count("WATCHDOG=1") >= watchdogs_at_ready + 3; }, 15s))
      << notify_.dump();
  EXPECT_FALSE(notify_.find("STOPPING=1")) << notify_.dump();

  daemon->signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return notify_.find("STOPPING=1").has_value(); }, 10s))
      << notify_.dump();
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

TEST_F(DaemonNotify, HupIsReloadingThenReadyAgain) {
  auto daemon = start({"NOTIFY_SOCKET=" + notify_.path()});
  ASSERT_TRUE(eventually([&] { return notify_.find("READY=1").has_value(); }, 15s))
      << notify_.dump() << daemon->output();
  const auto before_hup = notify_.messages().size();

  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return notify_.find("READY=1", before_hup).has_value(); }, 10s))
      << notify_.dump();
  const auto reloading = notify_.find("RELOADING=1", before_hup);
  ASSERT_TRUE(reloading) << notify_.dump();
  EXPECT_LT(*reloading, *notify_.find("READY=1", before_hup)) << notify_.dump();
  // systemd (notify-reload) tells reloads apart by this timestamp.
  EXPECT_TRUE(notify_.find("MONOTONIC_USEC=", *reloading, true)) << notify_.dump();
  EXPECT_TRUE(daemon->output_contains("config reloaded")) << daemon->output();

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

// A WatchdogSec under 2 s: a once-a-second ping would get a healthy daemon killed, so
// the pings follow half of WATCHDOG_USEC.
TEST_F(DaemonNotify, WatchdogFollowsWatchdogUsec) {
  auto daemon = start({"NOTIFY_SOCKET=" + notify_.path(), "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(eventually([&] { return notify_.find("READY=1").has_value(); }, 15s))
      << notify_.dump() << daemon->output();
  const auto start_count = notify_.count("WATCHDOG=1");
  // Every 0.2 s this takes 2 s; the guard allows twice that.
  EXPECT_TRUE(eventually([&] { return notify_.count("WATCHDOG=1") >= start_count + 10; }, 4s))
      << notify_.count("WATCHDOG=1") - start_count << " WATCHDOG=1 in 4 s";
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

// Without NOTIFY_SOCKET nothing is sent anywhere and the daemon runs as usual.
TEST_F(DaemonNotify, WithoutNotifySocketNothingArrives) {
  auto daemon = start({"-u", "NOTIFY_SOCKET"});
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("director: pool of 2 host(s)"); }, 10s))
      << daemon->output();
  const auto host_lists = poolwatch::test::count_host_lists(director_);
  // A few more scans (0.3 s apart) span at least one housekeeping tick (1 s).
  ASSERT_TRUE(eventually(
      [&] { return poolwatch::test::count_host_lists(director_) >= host_lists + 5; }, 15s));
  EXPECT_TRUE(notify_.messages().empty()) << notify_.dump();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(10s), 0) << daemon->output();
}

}  // namespace
