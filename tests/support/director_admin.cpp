#include "support/director_admin.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "poolwatch/common/line_buffer.hpp"

namespace poolwatch::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kAdminHandshake = "VERSION\tdirector-doveadm\t1\t0\n";
// The server refuses longer request lines; replies are short lines of addresses.
constexpr std::size_t kMaxLine = 1024;

// An open admin connection that reads lines until a fixed deadline.
class AdminConnection {
 public:
  AdminConnection(const std::string& socket_path, Clock::time_point deadline)
      : socket_path_(socket_path), deadline_(deadline) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(address.sun_path)) fail("socket path too long");
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    // A unix connect to a listening socket completes at once, so no deadline is needed.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      fail("connect");
    }
  }
  ~AdminConnection() { ::close(fd_); }
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  void write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("send");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  std::string read_line() {
    while (!lines_.has_line()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) {
        errno = ETIMEDOUT;
        fail("read");
      }
      pollfd readable{fd_, POLLIN, 0};
      const int ready = ::poll(&readable, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno != EINTR) fail("poll");
      if (ready <= 0) continue;  // interrupted or timed out: the deadline check decides
      std::array<char, 4096> chunk{};
      const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) errno = ECONNRESET;
      if (n <= 0) fail("read (closed before the reply ended)");
      if (lines_.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n))) !=
          LineBuffer::Status::ok) {
        fail("read (line too long)");
      }
    }
    return *lines_.next_line();
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(
        fmt::format("director admin {}: {}: {}", socket_path_, what, std::strerror(errno)));
  }

 private:
  std::string socket_path_;
  Clock::time_point deadline_;
  int fd_ = -1;
  LineBuffer lines_{kMaxLine};
};

bool is_list_command(std::string_view command) {
  const std::string_view name = command.substr(0, command.find('\t'));
  return name.ends_with("-LIST") || name == "HOST-LIST-REMOVED";
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

}  // namespace

std::vector<std::string> director_admin_request(const std::string& socket_path,
                                                const std::string& command,
                                                std::chrono::milliseconds timeout) {
  AdminConnection connection(socket_path, Clock::now() + timeout);
  // The server speaks first; its line is checked before anything is sent.
  const std::string greeting = connection.read_line();
  if (greeting.rfind("VERSION\tdirector-doveadm\t1\t", 0) != 0) {
    throw std::runtime_error(
        fmt::format("director admin {}: unexpected greeting '{}'", socket_path, greeting));
  }
  connection.write_all(std::string(kAdminHandshake) + command + "\n");
  std::vector<std::string> reply;
  if (!is_list_command(command)) {
    reply.push_back(connection.read_line());
    return reply;
  }
  for (std::string line = connection.read_line(); !line.empty(); line = connection.read_line()) {
    reply.push_back(std::move(line));
  }
  return reply;
}

// Only the fields the lab needs: a self line is `ip port self last_failed status ...`, a
// connection line `ip port left|right|in|out last_failed status ...` (§2.3).
DirectorListView parse_director_list(std::vector<std::string> lines) {
  DirectorListView view;
  for (const auto& line : lines) {
    const auto fields = split_tabs(line);
    if (fields.size() < 5) continue;
    if (fields[2] == "self") {
      view.self_status = fields[4];
    } else if ((fields[2] == "left" || fields[2] == "right") && fields[4] == "synced") {
      view.synced_peers.insert(fields[0]);
    }
  }
  view.lines = std::move(lines);
  return view;
}

}  // namespace poolwatch::test
