#include "poolwatch/service/daemonize.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>

namespace poolwatch {
namespace {

// The daemon reports through a pipe: one '\0' byte means "running", anything else is
// the error text. EOF without a byte means it died before it could say.
void report(int fd, const std::string& message) {
  const char* data = message.empty() ? "" : message.c_str();
  std::size_t size = message.empty() ? 1 : message.size();
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void wait_for_daemon(int read_fd, pid_t intermediate) {
  int status = 0;
  while (::waitpid(intermediate, &status, 0) < 0 && errno == EINTR) {
  }
  std::string message;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(read_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buffer, static_cast<std::size_t>(n));
    if (message.size() > 4096) break;
  }
  if (message.size() == 1 && message[0] == '\0') ::_exit(0);
  if (message.empty()) message = "the daemon process exited before it was ready";
  std::fprintf(stderr, "poolwatch: cannot daemonize: %s\n", message.c_str());
  ::_exit(1);
}

std::string redirect_stdio() {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return std::string("cannot open /dev/null: ") + std::strerror(errno);
  for (int target = 0; target <= 2; ++target) {
    if (::dup2(null_fd, target) < 0) {
      std::string error = std::string("cannot redirect stdio: ") + std::strerror(errno);
      ::close(null_fd);
      return error;
    }
  }
  if (null_fd > 2) ::close(null_fd);
  return {};
}

}  // namespace

void daemonize(Pidfile* pidfile) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::system_category(), "pipe");
  std::fflush(nullptr);
  const pid_t intermediate = ::fork();
  if (intermediate < 0) {
    const int error = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::system_error(error, std::system_category(), "fork");
  }
  if (intermediate > 0) {
    ::close(pipe_fds[1]);
    wait_for_daemon(pipe_fds[0], intermediate);
  }

  ::close(pipe_fds[0]);
  const int status_fd = pipe_fds[1];
  // A new session without a controlling terminal; the second fork makes sure the daemon
  // is not a session leader and so can never acquire one again.
  if (::setsid() < 0) {
    report(status_fd, std::string("setsid: ") + std::strerror(errno));
    ::_exit(1);
  }
  const pid_t daemon_pid = ::fork();
  if (daemon_pid < 0) {
    report(status_fd, std::string("fork: ") + std::strerror(errno));
    ::_exit(1);
  }
  if (daemon_pid > 0) ::_exit(0);

  std::string error;
  if (::chdir("/") != 0) error = std::string("chdir /: ") + std::strerror(errno);
  if (error.empty() && pidfile != nullptr && pidfile->held()) {
    try {
      pidfile->rewrite_pid();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (error.empty()) error = redirect_stdio();
  if (!error.empty()) {
    report(status_fd, error);
    ::_exit(1);
  }
  report(status_fd, {});
  ::close(status_fd);
}

}  // namespace poolwatch
