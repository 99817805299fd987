#pragma once
// A real Dovecot 2.3 director (127.0.0.10) with real Dovecot backends (127.0.1.i) on
// loopback, driven through the shell scripts in tests/e2e/lab (up.sh, down.sh,
// fault.sh, status.sh). Needs root and the dovecot packages; the e2e suites only.

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace poolwatch::test {

class DovecotLab {
 public:
  struct Options {
    int backends = 3;                // 1..50
    bool fast_auth_failures = true;  // up.sh -F: no auth failure delay, no penalty
  };

  // Starts the lab (up.sh into a fresh dir under /tmp); throws std::runtime_error with
  // the script's output on failure. Labs left behind by a crashed test process are
  // stopped first. The destructor stops the lab and removes its dir (down.sh -p).
  static std::unique_ptr<DovecotLab> start(Options options);
  static std::unique_ptr<DovecotLab> start();

  ~DovecotLab();
  DovecotLab(const DovecotLab&) = delete;
  DovecotLab& operator=(const DovecotLab&) = delete;

  const std::string& dir() const { return dir_; }
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
  DovecotLab(std::string dir, int backends) : dir_(std::move(dir)), backends_(backends) {}

  std::string dir_;
  int backends_;
};

}  // namespace poolwatch::test
