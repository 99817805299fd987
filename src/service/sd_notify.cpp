#include "poolwatch/service/sd_notify.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace poolwatch {
namespace {

// Far below the datagram limit; a status line is for humans in `systemctl status`.
constexpr std::size_t max_status_length = 1024;

std::optional<unsigned long long> parse_unsigned(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::string_view view(text);
  unsigned long long value = 0;
  auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (error != std::errc() || end != view.data() + view.size()) return std::nullopt;
  return value;
}

class SocketHandle {
 public:
  explicit SocketHandle(int fd) : fd_(fd) {}
  SocketHandle(const SocketHandle&) = delete;
  SocketHandle& operator=(const SocketHandle&) = delete;
  ~SocketHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string with_status(std::string_view head, std::string_view status) {
  std::string state(head);
  if (!status.empty()) {
    state += '\n';
    state += status_assignment(status);
  }
  return state;
}

}  // namespace

SdNotifier::SdNotifier(std::string socket_address) : socket_address_(std::move(socket_address)) {}

SdNotifier SdNotifier::from_environment() {
  const char* address = std::getenv("NOTIFY_SOCKET");
  return SdNotifier(address == nullptr ? std::string() : std::string(address));
}

std::error_code SdNotifier::notify(std::string_view state) const {
  if (!enabled()) return {};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const bool abstract = socket_address_.front() == '@';
  if (!abstract && socket_address_.front() != '/')
    return std::make_error_code(std::errc::address_family_not_supported);
  if (socket_address_.size() > sizeof(address.sun_path) ||
      (!abstract && socket_address_.size() == sizeof(address.sun_path)))
    return std::make_error_code(std::errc::filename_too_long);
  std::memcpy(address.sun_path, socket_address_.data(), socket_address_.size());
  // An abstract name starts with a NUL byte and its length is exact, not NUL-terminated.
  if (abstract) address.sun_path[0] = '\0';
  const auto address_length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address_.size());

  SocketHandle socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (socket.get() < 0) return {errno, std::system_category()};

  iovec payload{};
  payload.iov_base = const_cast<char*>(state.data());
  payload.iov_len = state.size();
  msghdr message{};
  message.msg_name = &address;
  message.msg_namelen = address_length;
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  ssize_t sent = 0;
  do {
    sent = ::sendmsg(socket.get(), &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return {errno, std::system_category()};
  if (static_cast<std::size_t>(sent) != state.size())
    return std::make_error_code(std::errc::message_size);
  return {};
}

std::error_code SdNotifier::ready(std::string_view status_text) const {
  return notify(with_status("READY=1", status_text));
}

std::error_code SdNotifier::status(std::string_view status_text) const {
  return notify(status_assignment(status_text));
}

std::error_code SdNotifier::watchdog() const {
  return notify("WATCHDOG=1");
}

std::error_code SdNotifier::reloading(std::string_view status_text) const {
  // systemd >= 253 (Type=notify-reload) wants the monotonic time of the reload start to
  // tell this reload from an earlier one; older versions ignore the extra assignment.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  return notify(with_status(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec), status_text));
}

std::error_code SdNotifier::stopping(std::string_view status_text) const {
  return notify(with_status("STOPPING=1", status_text));
}

std::string status_assignment(std::string_view status) {
  std::string assignment = "STATUS=";
  const std::size_t length = std::min(status.size(), max_status_length);
  for (std::size_t i = 0; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(status[i]);
    assignment += (byte < 0x20 || byte == 0x7f) ? ' ' : status[i];
  }
  return assignment;
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  return watchdog_interval(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"), ::getpid());
}

std::optional<std::chrono::microseconds> watchdog_interval(const char* watchdog_usec,
                                                           const char* watchdog_pid, pid_t self) {
  auto usec = parse_unsigned(watchdog_usec);
  if (!usec || *usec == 0) return std::nullopt;
  if (watchdog_pid != nullptr) {
    // The variables are inherited by children; only the named process is watched.
    auto pid = parse_unsigned(watchdog_pid);
    if (!pid || *pid != static_cast<unsigned long long>(self)) return std::nullopt;
  }
  if (*usec > static_cast<unsigned long long>(std::chrono::microseconds::max().count()))
    return std::nullopt;
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(*usec));
}

}  // namespace poolwatch
