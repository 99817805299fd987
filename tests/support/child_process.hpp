#pragma once
// The built poolwatch binary as a child process for integration and e2e tests: its
// output goes to a file (never a pipe the test would have to drain), it can be
// signalled, and its exit is awaited with a bound.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace poolwatch::test {

class ChildProcess {
 public:
  // Starts argv[0] with argv, stdin from /dev/null, stdout+stderr appended to log_path.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // SIGKILLs a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // The exit status (exit code, or 128+signal) once the child ended within timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string output() const;  // everything it wrote so far
  bool output_contains(const std::string& text) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> status_;
};

// The whole text of a file; empty when it cannot be read (/proc entries included).
std::string read_text_file(const std::string& path);

// Polls pred every 100 ms until it holds or timeout passes. For state outside this
// process (a daemon's log, a director's host list) that no event reports.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Runs a command to completion with a bound: {exit status, stdout+stderr}.
std::pair<int, std::string> run_command(std::vector<std::string> argv,
                                        std::chrono::milliseconds timeout);

// A fresh private temp dir (mode 0700) removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes a file with the given mode and returns its path.
  std::string write(const std::string& name, const std::string& content,
                    unsigned mode = 0600) const;

 private:
  std::string path_;
};

}  // namespace poolwatch::test
