#include "poolwatch/common/regular_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace poolwatch {

const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

namespace {

OpenedFile refused(int error, std::string why) {
  return {-1, error, false, std::move(why)};
}

OpenedFile wrong_kind(int error, mode_t mode) {
  return {-1, error, true, fmt::format("is {}, not a regular file", file_kind(mode))};
}

// The open failed: ELOOP from O_NOFOLLOW and ENXIO from a FIFO or socket opened for writing
// without a reader say little, so name what the path is.
OpenedFile open_failed(const std::string& path, int error) {
  struct stat info {};
  if ((error == ELOOP || error == ENXIO || error == EISDIR) && ::lstat(path.c_str(), &info) == 0 &&
      !S_ISREG(info.st_mode))
    return wrong_kind(error, info.st_mode);
  return refused(error, std::strerror(error));
}

}  // namespace

OpenedFile open_regular_file(const std::string& path, int flags, mode_t mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode);
  if (fd < 0) return open_failed(path, errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return refused(error, std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return wrong_kind(EINVAL, info.st_mode);
  }
  // Blocking again, as the callers' reads and writes expect (a regular file ignores it,
  // but the flag would be visible to whoever shares the descriptor).
  if ((flags & O_NONBLOCK) == 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return {fd, 0, false, {}};
}

}  // namespace poolwatch
