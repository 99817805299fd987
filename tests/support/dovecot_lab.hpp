#pragma once
// A real Dovecot 2.3 director (127.0.0.10) with real Dovecot backends (127.0.1.i) on
// loopback, driven through the shell scripts in tests/e2e/lab (up.sh, down.sh,
// fault.sh, status.sh). Needs root and the dovecot packages; the e2e suites only.
// support/dovecot_ring_lab.hpp starts a ring of directors from the same scripts.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace poolwatch::test {

// The directory of one running lab and the scripts that act on it; every kind of lab
// owns one, so that starting, stopping and cleaning up after a crash have one home.
class LabDir {
 public:
  // Stops the labs of test processes that crashed (their owner pid is gone), makes a
  // fresh /tmp/poolwatch-lab-XXXXXX and runs `up.sh -n backends up_options` there.
  // Throws std::runtime_error with the script's output on failure, after cleaning up.
  static std::unique_ptr<LabDir> up(int backends, const std::string& up_options);

  ~LabDir();  // down.sh -p: every instance stopped, the dir removed
  LabDir(const LabDir&) = delete;
  LabDir& operator=(const LabDir&) = delete;

  const std::string& path() const { return path_; }
  int backends() const { return backends_; }
  std::string backend_address(int backend_index) const;  // 1-based; throws out of range
  std::vector<std::string> backend_addresses() const;

  // Runs `script -d DIR arguments` (arguments already shell-quoted) and returns its
  // output; throws std::runtime_error with the output when the script fails.
  std::string script(const std::string& script, const std::string& arguments) const;

 private:
  LabDir(std::string path, int backends) : path_(std::move(path)), backends_(backends) {}

  std::string path_;
  int backends_;
};

class DovecotLab {
 public:
  struct Options {
    int backends = 3;                // 1..50
    bool fast_auth_failures = true;  // up.sh -F: no auth failure delay, no penalty
    // up.sh -P: one long-lived imap-login and pop3-login per backend (Dovecot's
    // high-performance mode), the only mode in which Dovecot 2.3 resumes TLS sessions.
    bool reused_login_processes = false;
  };

  // Starts the lab (up.sh into a fresh dir under /tmp); throws std::runtime_error with
  // the script's output on failure. Labs left behind by a crashed test process are
  // stopped first. The destructor stops the lab and removes its dir (down.sh -p).
  static std::unique_ptr<DovecotLab> start(Options options);
  // up.sh -x: with more director_mail_servers that run no Dovecot, addresses or A-B
  // ranges in 127.66.0.0/16 (a bench's large pool; HOST-SET one by one is quadratic).
  // Not in Options: the suites brace-initialise it, and a new member breaks them.
  static std::unique_ptr<DovecotLab> start(Options options, const std::string& extra_mail_servers);
  static std::unique_ptr<DovecotLab> start();

  const std::string& dir() const { return dir_->path(); }
  std::string admin_socket() const;                      // DIR/director/director-admin
  std::string ca_file() const;                           // DIR/ssl/ca.pem
  std::vector<std::string> backend_addresses() const;    // "127.0.1.1", ...
  std::string director_address() const;                  // "127.0.0.10"
  std::string backend_address(int backend_index) const;  // 1-based

  // fault.sh: stop|kill|start|hang|resume|authfail|authtemp|authok|state on backend i
  // (1-based). Throws std::runtime_error with the script's output if it fails.
  void fault(int backend_index, const std::string& action);

  // Output of `doveadm director status`; throws if doveadm fails.
  std::string director_status() const;

  // Runs a shell command with stdin from /dev/null; returns {exit code, stdout+stderr}.
  // The output goes through a temp file, never a pipe: a Dovecot master started by the
  // command would keep a pipe open forever. A signal death gives 128 + signal.
  static std::pair<int, std::string> run(const std::string& command);

  // The lab's shell scripts, POOLWATCH_SOURCE_DIR "/tests/e2e/lab".
  static std::string scripts_dir();

  // Single-quotes a word for the shell.
  static std::string shell_quote(const std::string& word);

 private:
  explicit DovecotLab(std::unique_ptr<LabDir> dir) : dir_(std::move(dir)) {}

  std::unique_ptr<LabDir> dir_;
};

// `doveadm director status` output as address -> "up" or "down" (header line skipped).
std::map<std::string, std::string> parse_director_status(const std::string& status);

}  // namespace poolwatch::test
