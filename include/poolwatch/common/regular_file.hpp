#pragma once
// Opening the daemon's own files (state file, event log, log file): only a regular file,
// never through a symbolic link, never blocking on a FIFO, and never inherited by a child.
// A path pointed at /etc/shadow through a link, or at a FIFO nobody writes, must fail
// with a message, not leak a secret line or hang the start-up.

#include <sys/types.h>

#include <string>

namespace poolwatch {

struct OpenedFile {
  int fd = -1;              // -1 on failure
  int error = 0;            // errno of the failure; ENOENT: the file does not exist
  bool wrong_kind = false;  // the path is there but no regular file: `why` says what it is
  std::string why;          // "is a FIFO, not a regular file", or strerror(error)
};

// open(2) of `path` with `flags` plus O_CLOEXEC, O_NOFOLLOW, O_NOCTTY and (for the open
// only) O_NONBLOCK, then fstat: anything but a regular file is closed and refused.
// `mode` is used when flags has O_CREAT.
OpenedFile open_regular_file(const std::string& path, int flags, mode_t mode = 0);

// What a non-regular file is, for a message: "a directory", "a FIFO", "a symbolic link"...
const char* file_kind(mode_t mode);

}  // namespace poolwatch
