#include "poolwatch/service/sd_notify.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace poolwatch {
namespace {

// A datagram socket playing systemd's notification socket.
class NotifyListener {
 public:
  // Bound to `address`: a path, or "@name" for an abstract name.
  explicit NotifyListener(const std::string& address) : address_(address) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address.data(), address.size());
    if (address.front() == '@') addr.sun_path[0] = '\0';
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                         (address.front() == '@' ? 0 : 1));
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), length), 0) << std::strerror(errno);
  }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;
  ~NotifyListener() { ::close(fd_); }

  // The next datagram, or nullopt if none arrives within the failure guard.
  std::optional<std::string> receive(int timeout_ms = 5000) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, timeout_ms) != 1) return std::nullopt;
    char buffer[4096];
    ssize_t length = ::recv(fd_, buffer, sizeof buffer, 0);
    if (length < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(length));
  }

 private:
  std::string address_;
  int fd_ = -1;
};

class SdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sd_notify_test.XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string socket_path() const { return (dir_ / "notify").string(); }

  std::filesystem::path dir_;
};

TEST_F(SdNotifyTest, ReadySendsOneDatagramWithStatus) {
  NotifyListener listener(socket_path());
  SdNotifier notifier(socket_path());
  ASSERT_TRUE(notifier.enabled());
  EXPECT_FALSE(notifier.ready("monitoring 3 backends"));
  EXPECT_EQ(listener.receive(), "READY=1\nSTATUS=monitoring 3 backends");
}

TEST_F(SdNotifyTest, EachMessageKind) {
  NotifyListener listener(socket_path());
  SdNotifier notifier(socket_path());
  EXPECT_FALSE(notifier.ready());
  EXPECT_EQ(listener.receive(), "READY=1");
  EXPECT_FALSE(notifier.status("2 of 3 backends up"));
  EXPECT_EQ(listener.receive(), "STATUS=2 of 3 backends up");
  EXPECT_FALSE(notifier.watchdog());
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
  EXPECT_FALSE(notifier.stopping());
  EXPECT_EQ(listener.receive(), "STOPPING=1");
  EXPECT_FALSE(notifier.stopping("SIGTERM"));
  EXPECT_EQ(listener.receive(), "STOPPING=1\nSTATUS=SIGTERM");
}

TEST_F(SdNotifyTest, ReloadingCarriesMonotonicTime) {
  NotifyListener listener(socket_path());
  SdNotifier notifier(socket_path());
  EXPECT_FALSE(notifier.reloading("reading config"));
  auto datagram = listener.receive();
  ASSERT_TRUE(datagram);
  ASSERT_TRUE(datagram->starts_with("RELOADING=1\nMONOTONIC_USEC=")) << *datagram;
  auto usec_start = std::strlen("RELOADING=1\nMONOTONIC_USEC=");
  auto newline = datagram->find('\n', usec_start);
  ASSERT_NE(newline, std::string::npos);
  auto usec = datagram->substr(usec_start, newline - usec_start);
  EXPECT_FALSE(usec.empty());
  EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
  EXPECT_EQ(datagram->substr(newline), "\nSTATUS=reading config");
}

TEST_F(SdNotifyTest, AbstractSocketName) {
  static std::atomic<int> counter{0};
  std::string name =
      "@poolwatch-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  NotifyListener listener(name);
  SdNotifier notifier(name);
  EXPECT_FALSE(notifier.watchdog());
  EXPECT_EQ(listener.receive(), "WATCHDOG=1");
}

TEST_F(SdNotifyTest, StatusCannotInjectAssignments) {
  NotifyListener listener(socket_path());
  SdNotifier notifier(socket_path());
  EXPECT_FALSE(notifier.status("bad\nREADY=1\r\tend"));
  EXPECT_EQ(listener.receive(), "STATUS=bad READY=1  end");
}

TEST(StatusAssignment, LongStatusIsCapped) {
  std::string status(5000, 'x');
  auto assignment = status_assignment(status);
  EXPECT_EQ(assignment.size(), std::strlen("STATUS=") + 1024);
}

TEST(SdNotifier, DisabledIsANoOp) {
  SdNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.ready("x"));
  EXPECT_FALSE(notifier.watchdog());
}

TEST_F(SdNotifyTest, FromEnvironmentFollowsNotifySocket) {
  const char* saved = std::getenv("NOTIFY_SOCKET");
  std::optional<std::string> previous = saved ? std::optional<std::string>(saved) : std::nullopt;

  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(SdNotifier::from_environment().enabled());
  EXPECT_FALSE(SdNotifier::from_environment().ready());

  NotifyListener listener(socket_path());
  ::setenv("NOTIFY_SOCKET", socket_path().c_str(), 1);
  auto notifier = SdNotifier::from_environment();
  EXPECT_EQ(notifier.socket_address(), socket_path());
  EXPECT_FALSE(notifier.ready());
  EXPECT_EQ(listener.receive(), "READY=1");

  if (previous)
    ::setenv("NOTIFY_SOCKET", previous->c_str(), 1);
  else
    ::unsetenv("NOTIFY_SOCKET");
}

TEST_F(SdNotifyTest, MissingSocketIsAnErrorValue) {
  SdNotifier notifier((dir_ / "absent").string());
  auto error = notifier.ready();
  EXPECT_TRUE(error);
  EXPECT_EQ(error, std::errc::no_such_file_or_directory) << error.message();
}

TEST(SdNotifier, RejectsUnsupportedAndOverlongAddresses) {
  EXPECT_EQ(SdNotifier("vsock:2:1234").ready(), std::errc::address_family_not_supported);
  EXPECT_EQ(SdNotifier("/" + std::string(200, 'a')).ready(), std::errc::filename_too_long);
}

TEST(WatchdogInterval, FromUsecAndPid) {
  using std::chrono::microseconds;
  EXPECT_EQ(watchdog_interval("30000000", nullptr, 42), microseconds(30000000));
  EXPECT_EQ(watchdog_interval("30000000", "42", 42), microseconds(30000000));
  EXPECT_EQ(watchdog_interval("30000000", "43", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval(nullptr, "42", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("0", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("30s", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("-5", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("99999999999999999999999", nullptr, 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("1000", "x42", 42), std::nullopt);
}

TEST(WatchdogInterval, ReadsTheEnvironment) {
  ::setenv("WATCHDOG_USEC", "5000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(5000000));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(watchdog_interval(), std::nullopt);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(watchdog_interval(), std::nullopt);
}

}  // namespace
}  // namespace poolwatch
