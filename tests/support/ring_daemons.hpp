#pragma once
// One real poolwatch per director of the ring lab (dovecot_ring_lab.hpp), configured as
// docs/ring.md deploys them: each on its director's admin socket, probing from its
// director's address, serving /status and /metrics there, and exchanging signed reports
// with the others on ring.peer_port under one shared secret. Plus what the ring suites
// read back: event logs, /status, /metrics, log lines. Runs only inside the ring lab's
// network namespace (ctest's e2e.ring*).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "poolwatch/ring/peer_report.hpp"
#include "support/child_process.hpp"
#include "support/dovecot_ring_lab.hpp"
#include "support/lab_network.hpp"

namespace poolwatch::test {

// An "action" line of an instance's event log: a director command it sent.
struct RingAction {
  int instance = 0;
  std::string ts;  // as written (RFC 3339, UTC)
  std::string action;
  std::string backend;
  std::string result;
  std::string reason;
};
bool is_flush(const RingAction& action);  // HOST-RESET-USERS or HOST-FLUSH

class RingDaemons {
 public:
  struct Options {
    // health.interval, which is also the ring's: peers are polled and DIRECTOR-LIST is
    // read once an interval, and a peer answers while its report is two intervals old.
    std::chrono::milliseconds interval{1000};
    // Not the lab directors' ring port (9090): each instance listens on its director's
    // ring address, where the director itself already has 9090.
    unsigned short peer_port = 9091;
    unsigned short http_port = 9167;
    // Appended to every instance's YAML (top-level keys that the base does not set).
    std::string extra_yaml;
  };

  // Writes the shared secret, the probe password and one config per director into
  // DIR/poolwatch/ of the lab; starts nothing.
  RingDaemons(const DovecotRingLab& lab, Options options);
  ~RingDaemons();  // SIGKILLs what still runs
  RingDaemons(const RingDaemons&) = delete;
  RingDaemons& operator=(const RingDaemons&) = delete;

  int instances() const { return static_cast<int>(processes_.size()); }
  // Instance k (1-based) belongs to director k.
  std::string address(int k) const;    // "127.0.0.1K": its director's, and its probes' source
  std::string ring_name(int k) const;  // "127.0.0.1K:9090": its name (DIRECTOR-LIST's)
  // The group id instance k runs with (setpriv), so that nftables can match its own
  // sockets (meta skgid) whatever source address they use.
  unsigned group(int k) const;
  const std::string& secret() const { return secret_; }
  const Options& options() const { return options_; }
  std::string config_file(int k) const;
  std::string state_file(int k) const;

  void start(int k);
  void start_all();
  // SIGTERM and wait: the exit status, or nullopt when it did not stop within 10 s.
  std::optional<int> stop(int k);
  void kill(int k);  // SIGKILL and reap
  bool running(int k) const;

  std::string log(int k) const;  // everything instance k wrote (all its runs)
  std::vector<std::string> log_lines_containing(int k, const std::string& text) const;
  std::vector<RingAction> actions(int k) const;  // its event log's "action" lines
  std::vector<RingAction> all_actions() const;   // every instance's, by instance

  std::optional<nlohmann::json> status(int k) const;  // GET /status, parsed
  std::optional<std::string> metrics(int k) const;    // GET /metrics
  // The value of one sample of /metrics with exactly these labels.
  std::optional<double> metric(int k, const std::string& name,
                               const std::map<std::string, std::string>& labels) const;
  // The objects below come from /status; each is an empty object while it cannot be
  // read, so that .value(key, default) answers the default rather than throwing.
  nlohmann::json ring_status(int k) const;  // "ring": role, reason, self, actor, quorum, peers
  std::string role(int k) const;            // ring.role, or ""
  // The backend's own state as this instance's probes see it ("up", "down", ...), or "".
  std::string backend_state(int k, const std::string& backend) const;
  // The backend's "ring" object: verdict, votes_down, votes_up, voters, overruled.
  nlohmann::json backend_ring(int k, const std::string& backend) const;
  // The entry of ring.peers whose id is `peer` (a ring name): answering, age_ms.
  nlohmann::json peer_entry(int k, const std::string& peer) const;

  // Instance k's own report as a peer gets it: a signed GET on its ring port, the
  // reply's signature checked, the body decoded. nullopt (and *error) otherwise.
  std::optional<ring::PeerReport> signed_report(int k, std::string* error = nullptr) const;
  // Whether instance k's report holds a claim on `backend` that no release ends: the
  // ring's shared ownership of a down, as that instance knows it.
  bool publishes_claim(int k, const std::string& backend) const;

  // For a failure message: each instance's state, its last log lines and its actions.
  std::string describe(std::size_t log_lines = 25) const;

 private:
  std::string instance_yaml(int k) const;

  const DovecotRingLab& lab_;
  Options options_;
  std::string dir_;
  std::string secret_;
  std::string secret_file_;
  std::string password_file_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;  // by k - 1; null: not started
};

// Counts of the director commands that succeeded ("ok") among `actions`: of `command`
// ("HOST-DOWN", "HOST-UP", or "flush" for either flush command) for `backend`.
std::size_t count_ok(const std::vector<RingAction>& actions, const std::string& command,
                     const std::string& backend);

// The fixture of the ring e2e suites: a ring lab of three directors over three backends,
// and one poolwatch per director, settled (instance 1 acting, 2 and 3 standing by, every
// peer answering) before each test. Skips outside a network namespace of its own.
class RingE2ETest : public ::testing::Test {
 protected:
  using Clock = std::chrono::steady_clock;

  // Bounds against a hang, never targets: the measured times are printed.
  static constexpr std::chrono::milliseconds kRingSyncBound{60'000};
  static constexpr std::chrono::milliseconds kSettleBound{60'000};
  static constexpr std::chrono::milliseconds kDecisionBound{60'000};
  static constexpr std::chrono::milliseconds kPropagationBound{15'000};

  void SetUp() override;
  void TearDown() override;

  template <typename... Args>
  void report(fmt::format_string<Args...> format, Args&&... args) const {
    fmt::print("[ring e2e] {}: {}\n",
               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
               fmt::format(format, std::forward<Args>(args)...));
    std::fflush(stdout);
  }
  static double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
  double interval_seconds() const {
    return std::chrono::duration<double>(daemons_->options().interval).count();
  }
  // `count` of the daemons' intervals, as a duration.
  std::chrono::milliseconds intervals(int count) const {
    return daemons_->options().interval * count;
  }

  // Until instance `actor` acts and every other running instance stands by, each with
  // every running peer answering; false at the bound.
  bool wait_settled(int actor, std::chrono::milliseconds bound) const;
  // Every running director's HOST-LIST shows `backend` in `state` ("up" / "down").
  bool every_running_director_says(const std::string& backend, const std::string& state) const;
  // The roles of the running instances, "1=actor 2=standby 3=standby", for messages.
  std::string roles() const;
  // Lines with `text` in every director's own log, e.g. "doveadm: Host 127.0.1.2
  // changed down": the director that received a command logs it so, once.
  std::size_t director_log_lines(const std::string& text) const;
  // An administrator's down on director `director`, as `doveadm director down` sends it.
  void admin_down(int director, const std::string& backend) const;

  std::unique_ptr<DovecotRingLab> lab_;
  std::unique_ptr<RingDaemons> daemons_;
};

}  // namespace poolwatch::test
