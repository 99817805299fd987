// Issue 13, item 8, with the built binary: every descriptor the daemon holds (HTTP
// listener, director socket, log file, event log, pidfile) is close-on-exec, so the
// on_transition hook and whatever it leaves behind inherit none of them; and a stop
// ends a hook that ignores SIGTERM, with the children in its process group, without a
// lingering grandchild keeping the HTTP port from the next start.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using poolwatch::make_ip_address;
using poolwatch::test::ChildProcess;
using poolwatch::test::eventually;
using poolwatch::test::read_text_file;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;

class DaemonDescriptors : public ::testing::Test {
 protected:
  // Addresses of this suite alone, so that it runs beside the other daemon suites.
  static constexpr const char* kHealthy = "127.0.13.1";
  static constexpr const char* kDying = "127.0.13.2";
  static constexpr const char* kHttp = "127.0.13.9";

  void SetUp() override {
    poolwatch::testing::FakeMailServerOptions options;
    options.address = kHealthy;
    healthy_ = std::make_unique<FakeMailServer>(options);
    options.address = kDying;
    options.port = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(options);
    director_.set_hosts({host(kHealthy), host(kDying)});
    http_port_ = free_port();
  }
  void TearDown() override {
    for (const char* name : {"escaped.pid", "in-group.pid"}) {
      const auto pid = pid_in(name);
      if (pid > 0) ::kill(pid, SIGKILL);
    }
  }

  static poolwatch::HostEntry host(const char* address) {
    return poolwatch::HostEntry{make_ip_address(address), 100, 0, "", false, 0};
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  pid_t pid_in(const std::string& name) const {
    const auto text = read_text_file(path(name));
    return text.empty() ? -1 : std::stoi(text);
  }

  // A port free on kHttp now: the daemon binds it, and after the stop, so does the test.
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, kHttp, &address.sin_addr);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      ADD_FAILURE() << "no free port on " << kHttp << ": " << std::strerror(errno);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  // What a restarted poolwatch does with the HTTP port (Asio sets SO_REUSEADDR too).
  static int listen_again(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, kHttp, &address.sin_addr);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    ::listen(fd, 1) == 0;
    const int error = errno;
    ::close(fd);
    return ok ? 0 : error;
  }

  // The descriptors of `pid` from 3 up that survive an exec, with what each one is.
  static std::vector<std::string> inheritable_descriptors(pid_t pid) {
    const auto dir = "/proc/" + std::to_string(pid);
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/fd")) {
      const auto fd = entry.path().filename().string();
      if (std::stoi(fd) < 3) continue;
      std::istringstream info(read_text_file(dir + "/fdinfo/" + fd));
      unsigned long flags = 0;
      for (std::string key; info >> key;)
        if (key == "flags:") info >> std::oct >> flags;
      std::error_code ec;
      if ((flags & O_CLOEXEC) == 0)
        found.push_back(std::filesystem::read_symlink(entry.path(), ec).string());
    }
    return found;
  }

  // "socket:[INODE]" of the socket listening on kHttp:http_port_, from /proc/PID/net/tcp.
  std::string listener_of(pid_t pid) const {
    std::istringstream table(read_text_file("/proc/" + std::to_string(pid) + "/net/tcp"));
    std::string line;
    std::getline(table, line);                                      // the header
    const auto local = fmt::format("090D007F:{:04X}", http_port_);  // 127.0.13.9, little-endian
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local_address, remote, state, queues, timer, retransmits, uid, timeout,
          inode;
      fields >> slot >> local_address >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (local_address == local && state == "0A") return "socket:[" + inode + "]";
    }
    return "no listener on port " + std::to_string(http_port_);
  }

  // Descriptors beyond stdin, stdout and stderr, with what each one is.
  static std::string descriptors_beyond_stdio(pid_t pid) {
    std::ostringstream found;
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
      if (std::stoi(entry.path().filename().string()) < 3) continue;
      std::error_code ec;
      found << entry.path().filename().string() << " -> "
            << std::filesystem::read_symlink(entry.path(), ec).string() << "\n";
    }
    return found.str();
  }

  static bool finished(pid_t pid) {
    if (::kill(pid, 0) != 0) return errno == ESRCH;
    const auto stat = read_text_file("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] == 'Z';
  }

  // Ignores SIGTERM (and so do its children, which inherit the disposition), starts a
  // child in its process group and one that leaves the group (setsid), then becomes a
  // sleep that still ignores SIGTERM.
  std::string hook() const {
    return dir_.write("hook.sh",
                      "#!/bin/sh\ntrap '' TERM\n"
                      "sleep 60 &\necho $! > " +
                          path("in-group.pid") +
                          "\n"
                          "setsid sleep 60 &\necho $! > " +
                          path("escaped.pid.tmp") +
                          "\n"
                          "mv " +
                          path("escaped.pid.tmp") + " " + path("escaped.pid") +
                          "\n"
                          "echo $$ > " +
                          path("hook.pid.tmp") +
                          "\n"
                          "mv " +
                          path("hook.pid.tmp") + " " + path("hook.pid") +
                          "\n"
                          "exec sleep 60\n",
                      0755);
  }

  std::string config() const {
    return dir_.write(
        "poolwatch.yml",
        "director:\n  socket: " + director_.socket_path() +
            "\nprobe:\n  ports: [\"IMAP:" + std::to_string(healthy_->port()) +
            "\"]\n  login: false\n"
            "health:\n  interval: 200ms\n  timeout: 1s\n  retry_count: 2\n  rapid_rounds: 2\n"
            "  rapid_fails_needed: 2\n  rapid_interval: 50ms\n  rapid_timeout: 1s\n"
            "  jitter_percent: 0\n"
            "http:\n  enabled: true\n  listen: " +
            std::string(kHttp) + ":" + std::to_string(http_port_) +
            "\npidfile: " + path("poolwatch.pid") + "\nstate_file: " + path("state") +
            "\nevent_log: " + path("events.jsonl") +
            "\nlog:\n  target: file\n  file: " + path("poolwatch.log") +
            "\nactions:\n  on_transition: " + hook() + "\n  on_transition_timeout: 1h\n");
  }

  TempDir dir_;
  FakeDirector director_;
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t http_port_ = 0;
};

TEST_F(DaemonDescriptors, TheHookInheritsNothingAndAStopEndsItsGroupAndFreesThePort) {
  ChildProcess daemon({POOLWATCH_BINARY, "run", "--foreground", "-c", config()},
                      path("daemon.out"));
  const auto log = [this] { return read_text_file(path("poolwatch.log")); };
  ASSERT_TRUE(eventually(
      [&] { return log().find("director: pool of 2 host(s)") != std::string::npos; }, 15s))
      << daemon.output() << log();
  dying_.reset();  // connection refused from now on: HOST-DOWN, then the hook
  ASSERT_TRUE(eventually([&] { return pid_in("hook.pid") > 0; }, 20s)) << log();
  const pid_t hook_pid = pid_in("hook.pid");
  const pid_t in_group = pid_in("in-group.pid");
  const pid_t escaped = pid_in("escaped.pid");
  ASSERT_GT(in_group, 0);
  ASSERT_GT(escaped, 0);

  // The daemon's own descriptors: the pidfile, the log, the event log and the HTTP
  // listener are close-on-exec. (Asio's other sockets and its timerfd are not; the hook
  // is kept from them by the spawn itself, below.)
  const auto inheritable = inheritable_descriptors(daemon.pid());
  const auto listener = listener_of(daemon.pid());
  ASSERT_TRUE(listener.starts_with("socket:[")) << listener;
  for (const auto& own :
       {path("poolwatch.pid"), path("poolwatch.log"), path("events.jsonl"), listener})
    EXPECT_EQ(std::count(inheritable.begin(), inheritable.end(), own), 0)
        << own << " is not close-on-exec; all of the daemon's:\n"
        << descriptors_beyond_stdio(daemon.pid());
  // What the hook and a process that left its group kept of them: nothing.
  EXPECT_EQ(descriptors_beyond_stdio(hook_pid), "");
  EXPECT_EQ(descriptors_beyond_stdio(escaped), "");

  daemon.signal(SIGTERM);
  const auto status = daemon.wait(20s);  // a bound against a hang, not a speed test
  ASSERT_TRUE(status.has_value()) << "the stop waited on the hook that ignores SIGTERM\n" << log();
  EXPECT_EQ(*status, 0) << daemon.output() << log();
  EXPECT_TRUE(eventually([&] { return finished(hook_pid); }, 5s)) << "hook " << hook_pid;
  EXPECT_TRUE(eventually([&] { return finished(in_group); }, 5s))
      << "the hook's child " << in_group << " survived the stop";
  ASSERT_FALSE(finished(escaped)) << "the escaped grandchild should still run for this test";
  EXPECT_EQ(listen_again(http_port_), 0)
      << "the port is still held: " << std::strerror(listen_again(http_port_));
}
