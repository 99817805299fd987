// Self-test of the ring lab (support/dovecot_ring_lab): three real directors that form
// one ring, and the faults the ring suites will make. Runs only in a network namespace
// of its own (ctest's e2e.ring wraps the binary in `unshare -n`); elsewhere it skips.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/dovecot_ring_lab.hpp"
#include "support/lab_network.hpp"

namespace poolwatch::test {
namespace {

using namespace std::chrono_literals;

class RingLab : public ::testing::Test {
 protected:
  using Clock = std::chrono::steady_clock;

  // Bounds against a hang, not targets: the measured times are printed. §9 of the
  // protocol notes saw a sync "within a few seconds" and a HOST-DOWN "within a second".
  static constexpr std::chrono::milliseconds kRingSyncBound = 60s;
  static constexpr std::chrono::milliseconds kPropagationBound = 10s;
  static constexpr unsigned short kImapPort = 143;

  void SetUp() override {
    if (!in_own_network_namespace()) {
      GTEST_SKIP() << "the ring lab needs a network namespace of its own: run it as "
                      "`ctest -R e2e.ring` (unshare -n)";
    }
    const auto started = Clock::now();
    lab_ = DovecotRingLab::start({.directors = 3, .backends = 3, .fast_auth_failures = true});
    const auto up = since(started);
    const auto sync = lab_->wait_ring_synced(kRingSyncBound);
    // up.sh starts the directors one after the other and returns once every port of
    // every instance answers; the ring usually forms meanwhile.
    report("lab up (every port answers) in {:.0f} ms, ring synced {} ms after that", up.count(),
           sync.count());
  }

  static std::chrono::duration<double, std::milli> since(Clock::time_point start) {
    return Clock::now() - start;
  }

  template <typename... Args>
  void report(fmt::format_string<Args...> format, Args&&... args) const {
    fmt::print("[ring lab] {}: {}\n",
               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
               fmt::format(format, std::forward<Args>(args)...));
  }

  bool every_running_director_says(const std::string& backend, const std::string& state) const {
    for (int director = 1; director <= lab_->directors(); ++director) {
      if (lab_->director_running(director) && lab_->host_states(director)[backend] != state) {
        return false;
      }
    }
    return true;
  }

  std::unique_ptr<DovecotRingLab> lab_;
};

TEST_F(RingLab, EveryDirectorHasTheOtherTwoOnSyncedConnectionsAndTheSameBackends) {
  const std::map<std::string, std::string> all_up{
      {"127.0.1.1", "up"}, {"127.0.1.2", "up"}, {"127.0.1.3", "up"}};
  for (int director = 1; director <= 3; ++director) {
    SCOPED_TRACE(lab_->director_address(director));
    const DirectorListView view = lab_->director_list(director);
    EXPECT_TRUE(view.ring_synced()) << view.self_status;
    EXPECT_EQ(view.synced_peers, lab_->running_peers_of(director));
    EXPECT_EQ(view.synced_peers.size(), 2U);
    EXPECT_EQ(lab_->host_states(director), all_up);
  }
}

TEST_F(RingLab, HostDownSentToOneDirectorReachesEveryHostList) {
  const std::string backend = lab_->backend_address(2);
  const auto sent = Clock::now();
  const auto reply = lab_->admin_request(2, "HOST-DOWN\t" + backend);
  const auto answered = since(sent);
  ASSERT_EQ(reply, std::vector<std::string>{"OK"});

  int looks = 0;
  EXPECT_TRUE(eventually(
      [&] {
        ++looks;
        return every_running_director_says(backend, "down");
      },
      kPropagationBound));
  // An upper bound: each look runs doveadm three times.
  const auto everywhere = since(sent);
  report(
      "HOST-DOWN to director2: OK after {:.1f} ms; D in all three HOST-LISTs at look {}, "
      "{:.0f} ms after sending",
      answered.count(), looks, everywhere.count());
  for (int director = 1; director <= 3; ++director) {
    EXPECT_EQ(lab_->host_states(director)[lab_->backend_address(1)], "up") << director;
  }
}

TEST_F(RingLab, RejectRuleRefusesTheBlockedSourceOnlyUntilRemoved) {
  const std::string blocked_source = lab_->director_address(1);
  const std::string other_source = lab_->director_address(2);
  const std::string backend = lab_->backend_address(2);
  ASSERT_FALSE(connect_from(blocked_source, backend, kImapPort));

  NftRejectRule rule(blocked_source, backend);
  EXPECT_EQ(connect_from(blocked_source, backend, kImapPort), std::errc::connection_refused);
  EXPECT_FALSE(connect_from(other_source, backend, kImapPort)) << "another source connects";
  EXPECT_FALSE(connect_from(blocked_source, lab_->backend_address(1), kImapPort))
      << "the blocked source reaches the other backends";

  rule.remove();
  EXPECT_FALSE(connect_from(blocked_source, backend, kImapPort));
}

TEST_F(RingLab, KilledBackendRefusesEverySourceUntilStarted) {
  const std::string backend = lab_->backend_address(3);
  lab_->backend_fault(3, "kill");
  for (int director = 1; director <= 3; ++director) {
    EXPECT_EQ(connect_from(lab_->director_address(director), backend, kImapPort),
              std::errc::connection_refused);
  }
  lab_->backend_fault(3, "start");
  EXPECT_FALSE(connect_from(lab_->director_address(1), backend, kImapPort));
}

// The ring suites' "the actor's whole director stopped": the other two notice through
// DIRECTOR-LIST, keep a ring of two, and the stopped one rejoins with the ring's state.
TEST_F(RingLab, StoppedDirectorLeavesTheOthersDirectorListAndRejoinsWithTheRingsState) {
  const std::string stopped_address = lab_->director_address(3);
  const auto stopping = Clock::now();
  lab_->director_fault(3, "stop");
  const auto stopped = since(stopping);
  const auto two_synced = lab_->wait_ring_synced(kRingSyncBound);
  for (int director = 1; director <= 2; ++director) {
    const DirectorListView view = lab_->director_list(director);
    EXPECT_EQ(view.synced_peers, lab_->running_peers_of(director)) << director;
    EXPECT_EQ(view.synced_peers.count(stopped_address), 0U) << director;
  }

  const std::string backend = lab_->backend_address(1);
  ASSERT_EQ(lab_->admin_request(1, "HOST-DOWN\t" + backend), std::vector<std::string>{"OK"});

  const auto starting = Clock::now();
  lab_->director_fault(3, "start");
  const auto ports_up = since(starting);
  const auto three_synced = lab_->wait_ring_synced(kRingSyncBound);
  EXPECT_EQ(lab_->director_list(1).synced_peers, lab_->running_peers_of(1));
  EXPECT_EQ(lab_->host_states(3)[backend], "down") << "a rejoining director takes the ring's hosts";
  report(
      "director3 stopped in {:.0f} ms (master gone), the other two synced {} ms later; "
      "started again in {:.0f} ms (ports answer), ring of three synced {} ms later",
      stopped.count(), two_synced.count(), ports_up.count(), three_synced.count());
}

}  // namespace
}  // namespace poolwatch::test
