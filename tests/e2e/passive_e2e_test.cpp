// Passive health against the real lab director (issue 14): its stats process posts the
// proxies' events to poolwatch (the snippet `poolwatch dovecot-config` prints), users log
// in through it every second, and a backend is killed. The time from the kill to the
// director's HOST-DOWN is measured with passive off and on, same health settings; a
// storm of wrong passwords must take nothing down and start no rapid round. Runs in a
// network namespace of its own (ctest -R e2e.passive).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/child_process.hpp"
#include "support/dovecot_lab.hpp"
#include "support/lab_network.hpp"
#include "support/mail_traffic.hpp"

using namespace std::chrono_literals;
using poolwatch::test::ChildProcess;
using poolwatch::test::DovecotLab;
using poolwatch::test::eventually;
using poolwatch::test::MailTraffic;
using poolwatch::test::TempDir;

namespace {

class PassiveE2E : public ::testing::Test {
 protected:
  using Clock = std::chrono::steady_clock;
  static constexpr unsigned short kMetricsPort = 9167;
  // The health settings of both runs. A 10 s interval as in production; a rapid round
  // of 5 polls of which 3 must fail (the default needs 8 of 10 at 1 s).
  static constexpr const char* kHealth =
      "health:\n  interval: 10s\n  timeout: 5s\n  retry_count: 3\n  rapid_rounds: 5\n"
      "  rapid_fails_needed: 3\n  rapid_interval: 1s\n  rapid_timeout: 2s\n"
      "  jitter_percent: 5\n";

  void SetUp() override {
    if (!poolwatch::test::in_own_network_namespace())
      GTEST_SKIP() << "the passive lab needs a network namespace of its own: run it as "
                      "`ctest -R e2e.passive` (unshare -n)";
    lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
    password_file_ = dir_.write("probe.password", "probepass\n", 0600);
  }

  std::string write_config(bool passive) {
    std::string yaml = "director:\n  socket: " + lab_->admin_socket() +
                       "\nprobe:\n  ports: [IMAP:143]\n"
                       "credentials:\n  default_user: \"probe-%{backend_host}\"\n"
                       "  default_password_file: " +
                       password_file_ + "\n" + kHealth +
                       "http:\n  enabled: true\n  listen: 127.0.0.1:9167\n"
                       "passive:\n  enabled: " +
                       (passive ? "true" : "false") +
                       "\n  listen: 127.0.0.1:9168\n  failures: 3\n  window: 10s\n"
                       "pidfile: " +
                       dir_.path() + "/poolwatch.pid\nstate_file: " + dir_.path() + "/state-" +
                       (passive ? "passive" : "active") + "\n";
    return dir_.write("poolwatch.yml", yaml);
  }

  // What `poolwatch dovecot-config` prints goes into the director's config, reloaded.
  void point_director_at(const std::string& config) {
    const auto snippet_file = dir_.path() + "/exporter.conf";
    const auto director_conf = lab_->dir() + "/etc/director.conf";
    // Its cautions (passive off in the first run) go to stderr, not into dovecot.conf.
    const auto [printed, cautions] = DovecotLab::run(
        DovecotLab::shell_quote(POOLWATCH_BINARY) + " dovecot-config -c " +
        DovecotLab::shell_quote(config) + " 2>&1 >" + DovecotLab::shell_quote(snippet_file));
    ASSERT_EQ(printed, 0) << cautions;
    const auto snippet = poolwatch::test::read_text_file(snippet_file);
    ASSERT_NE(snippet.find("event_exporter poolwatch"), std::string::npos) << snippet;
    ASSERT_NE(snippet.find("http://127.0.0.1:9168/dovecot-events"), std::string::npos) << snippet;
    const auto [reloaded, output] =
        DovecotLab::run("cat " + DovecotLab::shell_quote(snippet_file) + " >> " +
                        DovecotLab::shell_quote(director_conf) + " && doveadm -c " +
                        DovecotLab::shell_quote(director_conf) + " reload");
    ASSERT_EQ(reloaded, 0) << output;
  }

  std::unique_ptr<ChildProcess> start_daemon(const std::string& config) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{POOLWATCH_BINARY, "run", "--foreground", "-c", config},
        dir_.path() + "/poolwatch-" + std::to_string(++daemons_) + ".log");
  }

  static std::string metrics() {
    return poolwatch::test::http_get("127.0.0.1", kMetricsPort, "/metrics").body;
  }

  // The sum of a metric's series whose line contains every one of `parts`.
  static double metric_sum(const std::string& text, const std::string& name,
                           const std::vector<std::string>& parts = {}) {
    double sum = 0;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
      bool all = true;
      for (const auto& part : parts) all = all && line.find(part) != std::string::npos;
      if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }

  std::string director_state(const std::string& address) const {
    return poolwatch::test::parse_director_status(lab_->director_status())[address];
  }

  static std::vector<MailTraffic::Login> users(const std::string& password) {
    std::vector<MailTraffic::Login> logins;
    for (int i = 1; i <= 5; ++i) logins.push_back({"user" + std::to_string(i), password});
    // Users no backend knows: on a live backend their logins fail for their own sake.
    for (int i = 1; i <= 7; ++i) logins.push_back({"guest" + std::to_string(i), password});
    return logins;
  }

  // Kills backend 2 with traffic flowing; the seconds until the director lists it down.
  double kill_to_host_down(bool passive) {
    const auto config = write_config(passive);
    point_director_at(config);
    auto daemon = start_daemon(config);
    EXPECT_TRUE(
        eventually([&] { return daemon->output_contains("backend 127.0.1.2: healthy"); }, 40s))
        << daemon->output();
    MailTraffic traffic(lab_->director_address(), 143, users("userpass"), 1s);
    std::this_thread::sleep_for(5s);  // traffic flowing, sessions mapped
    const auto killed = Clock::now();
    lab_->fault(2, "kill");
    const bool down = eventually([&] { return director_state("127.0.1.2") == "down"; }, 90s);
    const std::chrono::duration<double> took = Clock::now() - killed;
    const auto text = metrics();
    traffic.stop();
    EXPECT_TRUE(down) << daemon->output();
    if (passive) {
      EXPECT_GT(metric_sum(text, "poolwatch_passive_events_total",
                           {"127.0.1.2", "class=\"backend_fault\""}),
                0)
          << text;
      EXPECT_GT(metric_sum(text, "poolwatch_passive_rapid_rounds_total"), 0) << text;
      // The down followed a suspicion well within active detection's worst case.
      EXPECT_GT(metric_sum(text, "poolwatch_passive_detection_saved_seconds_total", {"127.0.1.2"}),
                0)
          << text;
    }
    daemon->signal(SIGTERM);
    EXPECT_TRUE(daemon->wait(10s).has_value());
    EXPECT_FALSE(daemon->output_contains("probepass"));
    lab_->fault(2, "start");
    return took.count();
  }

  TempDir dir_;
  std::unique_ptr<DovecotLab> lab_;
  std::string password_file_;
  int daemons_ = 0;
};

TEST_F(PassiveE2E, KilledBackendIsDownInAThirdOfTheTimeWithPassiveOn) {
  const double active = kill_to_host_down(false);
  // The lab again from scratch: the director forgot nothing of the first run otherwise.
  lab_.reset();
  lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
  const double passive = kill_to_host_down(true);
  const auto figures = fmt::format(
      "kill -> HOST-DOWN with user traffic: passive off {:.1f} s, passive on {:.1f} s "
      "(ratio {:.2f})",
      active, passive, passive / active);
  std::cout << "[ figures  ] " << figures << std::endl;
  RecordProperty("kill_to_host_down_active_s", fmt::format("{:.1f}", active));
  RecordProperty("kill_to_host_down_passive_s", fmt::format("{:.1f}", passive));
  EXPECT_LE(passive, active / 3) << figures;
}

TEST_F(PassiveE2E, AWrongPasswordStormDownsNothingAndStartsNoRapidRound) {
  const auto config = write_config(true);
  point_director_at(config);
  auto daemon = start_daemon(config);
  ASSERT_TRUE(
      eventually([&] { return daemon->output_contains("backend 127.0.1.3: healthy"); }, 40s))
      << daemon->output();
  {
    // Every user, wrong password, several times a second each, for 20 s.
    MailTraffic storm(lab_->director_address(), 143, users("wrong-password"), 200ms);
    std::this_thread::sleep_for(20s);
    storm.stop();
    EXPECT_EQ(storm.logins_ok(), 0);
    EXPECT_GT(storm.logins_failed(), 100);
  }
  const auto text = metrics();
  EXPECT_GT(metric_sum(text, "poolwatch_passive_events_total", {"class=\"user_fault\""}), 100)
      << text;
  EXPECT_EQ(metric_sum(text, "poolwatch_passive_events_total", {"class=\"backend_fault\""}), 0);
  EXPECT_EQ(metric_sum(text, "poolwatch_passive_suspicions_total"), 0) << text;
  EXPECT_EQ(metric_sum(text, "poolwatch_passive_rapid_rounds_total"), 0) << text;
  for (const auto& address : lab_->backend_addresses())
    EXPECT_EQ(director_state(address), "up") << address;
  EXPECT_FALSE(daemon->output_contains("rapid")) << daemon->output();
  EXPECT_FALSE(daemon->output_contains("wrong-password")) << daemon->output();
  daemon->signal(SIGTERM);
  EXPECT_TRUE(daemon->wait(10s).has_value());
}

}  // namespace
