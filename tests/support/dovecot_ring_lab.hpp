#pragma once
// A ring of real Dovecot 2.3 directors (directorK on 127.0.0.(10+K), ring port 9090)
// over the same real backends (127.0.1.i), from the scripts of tests/e2e/lab (up.sh -r).
// Each director has its own base_dir, state_dir, log and admin socket, and lists every
// director in director_servers. Needs root, the dovecot packages, and a network
// namespace of the test's own: see tests/CMakeLists.txt (e2e.ring) and lab_network.hpp.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/director_admin.hpp"
#include "support/dovecot_lab.hpp"

namespace poolwatch::test {

class DovecotRingLab {
 public:
  struct Options {
    int directors = 3;               // 2..9
    int backends = 3;                // 1..50
    bool fast_auth_failures = true;  // up.sh -F
  };

  // Starts every director and backend and waits until each answers; not until the
  // ring has synced (wait_ring_synced). Throws std::runtime_error outside a network
  // namespace of the test's own, or with up.sh's output when the start fails. The
  // destructor stops everything and removes the lab's dir.
  static std::unique_ptr<DovecotRingLab> start(Options options);

  const std::string& dir() const { return dir_->path(); }
  int directors() const { return static_cast<int>(running_.size()); }
  // Directors are numbered 1..directors(); each throws std::out_of_range otherwise.
  std::string director_address(int director) const;  // "127.0.0.11", ...
  std::string admin_socket(int director) const;      // DIR/directorK/director-admin
  std::string config_file(int director) const;       // DIR/etc/directorK.conf
  // What the director logged so far (its log_path): the commands it says it applied.
  std::string director_log(int director) const;  // DIR/log/directorK.log
  bool director_running(int director) const;
  // The addresses of the other running directors: the synced peers a DIRECTOR-LIST of
  // `director` shows once the ring has settled.
  std::set<std::string> running_peers_of(int director) const;
  std::string backend_address(int backend_index) const {
    return dir_->backend_address(backend_index);
  }
  std::vector<std::string> backend_addresses() const { return dir_->backend_addresses(); }

  // One command on a director's admin socket and its reply (director_admin_request).
  std::vector<std::string> admin_request(int director, const std::string& command) const;
  DirectorListView director_list(int director) const;  // DIRECTOR-LIST

  // Waits until every running director says "ring synced" and has every other running
  // director, and no stopped one, on a synced left or right connection. Returns how
  // long that took; throws std::runtime_error with every DIRECTOR-LIST on timeout.
  std::chrono::milliseconds wait_ring_synced(std::chrono::milliseconds timeout) const;

  // HOST-LIST as `doveadm director status` shows it (status.sh), and parsed to
  // address -> "up" | "down".
  std::string director_status(int director) const;
  std::map<std::string, std::string> host_states(int director) const;

  // fault.sh directorK stop|kill|start|hang|resume: "stop" and "kill" take the whole
  // director instance away (its ring connections close), "start" brings it back and
  // waits for its ports, not for the ring. Throws with the script's output on failure.
  void director_fault(int director, const std::string& action);
  // fault.sh on backend i (1-based): stop|kill|start|hang|resume|auth*.
  void backend_fault(int backend_index, const std::string& action);

 private:
  DovecotRingLab(std::unique_ptr<LabDir> dir, int directors)
      : dir_(std::move(dir)), running_(static_cast<std::size_t>(directors), true) {}

  std::string director_name(int director) const;  // "directorK", range-checked
  bool ring_synced_now(std::string& why_not) const;

  std::unique_ptr<LabDir> dir_;
  std::vector<bool> running_;  // by director - 1: started and not stopped or killed since
};

}  // namespace poolwatch::test
