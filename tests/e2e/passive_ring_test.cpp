// Passive health on a ring of three real directors: each director posts its proxies'
// events to its own poolwatch, users log in through all three, and a killed backend is
// suspected by the instances, confirmed by their probes, and taken down by the ring's
// one actor, once. Runs with the Passive* suites (ctest -R e2e.passive).

#include <gtest/gtest.h>

#include <thread>

#include "support/dovecot_lab.hpp"
#include "support/mail_traffic.hpp"
#include "support/ring_daemons.hpp"

namespace poolwatch::test {
namespace {

using namespace std::chrono_literals;

class PassiveRing : public RingE2ETest {
 protected:
  // The lab and the instances, each pointed at by its director's exporter before it
  // starts (RingE2ETest::SetUp starts them without passive health).
  void SetUp() override {
    if (!in_own_network_namespace())
      GTEST_SKIP() << "the ring lab needs a network namespace of its own: run it as "
                      "`ctest -R e2e.passive` (unshare -n)";
    lab_ = DovecotRingLab::start({.directors = 3, .backends = 3, .fast_auth_failures = true});
    lab_->wait_ring_synced(kRingSyncBound);
    RingDaemons::Options options;
    options.interval = 5s;  // slow enough that the passive signal comes first
    daemons_ = std::make_unique<RingDaemons>(*lab_, options);
    for (int k = 1; k <= daemons_->instances(); ++k) enable_passive(k);
    daemons_->start_all();
    ASSERT_TRUE(wait_settled(1, kSettleBound)) << roles();
  }

  void enable_passive(int k) {
    const auto config = daemons_->config_file(k);
    const auto [appended, output] = DovecotLab::run(
        "printf 'passive:\\n  enabled: true\\n  listen: %s:9169\\n' " +
        DovecotLab::shell_quote(daemons_->address(k)) + " >> " + DovecotLab::shell_quote(config));
    ASSERT_EQ(appended, 0) << output;
    const auto director_conf = lab_->dir() + "/etc/director" + std::to_string(k) + ".conf";
    const auto [reloaded, reload_output] = DovecotLab::run(
        DovecotLab::shell_quote(POOLWATCH_BINARY) + " dovecot-config -c " +
        DovecotLab::shell_quote(config) + " >> " + DovecotLab::shell_quote(director_conf) +
        " && doveadm -c " + DovecotLab::shell_quote(director_conf) + " reload");
    ASSERT_EQ(reloaded, 0) << reload_output;
  }

  static std::vector<MailTraffic::Login> users() {
    std::vector<MailTraffic::Login> logins;
    for (int i = 1; i <= 5; ++i) logins.push_back({"user" + std::to_string(i), "userpass"});
    for (int i = 1; i <= 7; ++i) logins.push_back({"guest" + std::to_string(i), "userpass"});
    return logins;
  }
};

TEST_F(PassiveRing, EachDirectorTellsItsOwnInstanceAndTheActorDownsOnce) {
  const std::string backend = lab_->backend_address(2);
  std::vector<std::unique_ptr<MailTraffic>> traffic;
  for (int k = 1; k <= lab_->directors(); ++k)
    traffic.push_back(std::make_unique<MailTraffic>(lab_->director_address(k), 143, users(), 1s));
  std::this_thread::sleep_for(3s);
  const auto killed = Clock::now();
  lab_->backend_fault(2, "kill");
  ASSERT_TRUE(
      eventually([&] { return every_running_director_says(backend, "down"); }, kDecisionBound))
      << roles() << "\n"
      << daemons_->describe();
  const double down_everywhere = seconds_since(killed);
  for (auto& t : traffic) t->stop();
  report("kill -> down on every director {:.1f} s (interval {:.0f} s, passive on)", down_everywhere,
         interval_seconds());
  // Every instance heard its own director: each raised a suspicion and started rapid
  // rounds from it.
  for (int k = 1; k <= daemons_->instances(); ++k) {
    EXPECT_GT(daemons_->metric(k, "poolwatch_passive_suspicions_total", {{"backend", backend}})
                  .value_or(0),
              0)
        << "instance " << k << "\n"
        << daemons_->log(k);
    EXPECT_GT(daemons_->metric(k, "poolwatch_passive_rapid_rounds_total", {{"backend", backend}})
                  .value_or(0),
              0)
        << "instance " << k;
  }
  std::this_thread::sleep_for(intervals(2));
  const auto all = daemons_->all_actions();
  EXPECT_EQ(count_ok(all, "HOST-DOWN", backend), 1U) << daemons_->describe();
  EXPECT_EQ(daemons_->actions(1).size(), all.size()) << "only the actor sends";
}

}  // namespace
}  // namespace poolwatch::test
