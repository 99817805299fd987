#pragma once
// The single-instance lock: a pidfile held open with an exclusive flock for the whole
// run. The lock, not the pid in the file, decides whether another instance runs, so a
// stale file left by a crash (or a reused pid) never blocks a start, and two starts at
// the same moment cannot both win.

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace poolwatch {

// Another instance holds the lock, or the file cannot be created/locked/written. The
// message is meant for the operator as it is.
class PidfileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Pidfile {
 public:
  // Opens or creates `path` (mode 0644, never following a symlink), locks it with
  // flock(LOCK_EX|LOCK_NB) and writes our pid. Throws PidfileError, e.g.
  // "poolwatch already running (pid 1234, pidfile /run/poolwatch/poolwatch.pid)".
  static Pidfile acquire(const std::string& path);

  Pidfile() = default;
  Pidfile(Pidfile&& other) noexcept;
  Pidfile& operator=(Pidfile&& other) noexcept;
  Pidfile(const Pidfile&) = delete;
  Pidfile& operator=(const Pidfile&) = delete;
  // release().
  ~Pidfile();

  // Removes the file and drops the lock, but only in the process that wrote the pid: a
  // forked child that exits must not delete its parent's pidfile (poolmon PR #4).
  void release();

  // Rewrites the file with the current pid, after a fork (daemonize) moved the run to a
  // child. The lock is shared with the child through the inherited descriptor.
  void rewrite_pid();

  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  pid_t owner_pid() const { return owner_pid_; }
  // The pid found in a file that nobody had locked (a crashed earlier run), if any.
  std::optional<pid_t> stale_pid() const { return stale_pid_; }

 private:
  Pidfile(std::string path, int fd, std::optional<pid_t> stale_pid);
  void write_pid();

  std::string path_;
  int fd_ = -1;
  pid_t owner_pid_ = 0;
  std::optional<pid_t> stale_pid_;
};

// "1234\n" -> 1234; nullopt for anything that is not one positive decimal pid.
std::optional<pid_t> parse_pid(std::string_view text);

}  // namespace poolwatch
