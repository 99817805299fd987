#include "poolwatch/service/pidfile.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace poolwatch {
namespace {

// A pidfile is a few bytes; anything longer is not ours.
constexpr std::size_t max_pidfile_bytes = 64;
// Bounded retries of the unlink race (see acquire); each round needs another instance
// to remove the file between our open and our lock.
constexpr int max_lock_attempts = 10;

std::string errno_text(int error) {
  return std::strerror(error);
}

std::string read_all(int fd) {
  char buffer[max_pidfile_bytes];
  ssize_t length = 0;
  do {
    length = ::pread(fd, buffer, sizeof buffer, 0);
  } while (length < 0 && errno == EINTR);
  if (length <= 0) return {};
  return std::string(buffer, static_cast<std::size_t>(length));
}

// True if `fd` is still the file named `path`: the holder removes the file before it
// unlocks, so a lock obtained on a since-removed file is worthless.
bool still_linked(int fd, const std::string& path) {
  struct stat by_fd {};
  struct stat by_path {};
  if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0) return false;
  return by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

}  // namespace

std::optional<pid_t> parse_pid(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
    text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0 ||
      value > 0x7fffffffLL)
    return std::nullopt;
  return static_cast<pid_t>(value);
}

Pidfile Pidfile::acquire(const std::string& path) {
  if (path.empty()) throw PidfileError("pidfile path is empty");
  for (int attempt = 0; attempt < max_lock_attempts; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
      throw PidfileError(fmt::format("cannot open pidfile {}: {}", path, errno_text(errno)));
    int locked = 0;
    do {
      locked = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (locked != 0 && errno == EINTR);
    if (locked != 0) {
      const int error = errno;
      const auto holder = parse_pid(read_all(fd));
      ::close(fd);
      if (error == EWOULDBLOCK) {
        throw PidfileError(fmt::format("poolwatch already running (pid {}, pidfile {})",
                                       holder ? std::to_string(*holder) : "unknown", path));
      }
      throw PidfileError(fmt::format("cannot lock pidfile {}: {}", path, errno_text(error)));
    }
    if (!still_linked(fd, path)) {
      ::close(fd);
      continue;
    }
    const auto stale = parse_pid(read_all(fd));
    Pidfile pidfile(path, fd, stale);
    pidfile.write_pid();
    return pidfile;
  }
  throw PidfileError(fmt::format("cannot lock pidfile {}: it keeps being replaced", path));
}

Pidfile::Pidfile(std::string path, int fd, std::optional<pid_t> stale_pid)
    : path_(std::move(path)), fd_(fd), owner_pid_(::getpid()), stale_pid_(stale_pid) {}

Pidfile::Pidfile(Pidfile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      owner_pid_(other.owner_pid_),
      stale_pid_(other.stale_pid_) {}

Pidfile& Pidfile::operator=(Pidfile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    owner_pid_ = other.owner_pid_;
    stale_pid_ = other.stale_pid_;
  }
  return *this;
}

Pidfile::~Pidfile() {
  release();
}

void Pidfile::release() {
  if (fd_ < 0) return;
  // Unlink while still locked, so an instance waiting on this inode sees it unlinked.
  if (owner_pid_ == ::getpid()) ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

void Pidfile::rewrite_pid() {
  if (fd_ < 0) throw PidfileError("pidfile is not held");
  owner_pid_ = ::getpid();
  write_pid();
}

void Pidfile::write_pid() {
  const std::string text = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_, 0) != 0)
    throw PidfileError(fmt::format("cannot write pidfile {}: {}", path_, errno_text(errno)));
  std::size_t written = 0;
  while (written < text.size()) {
    ssize_t n =
        ::pwrite(fd_, text.data() + written, text.size() - written, static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw PidfileError(fmt::format("cannot write pidfile {}: {}", path_, errno_text(errno)));
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace poolwatch
