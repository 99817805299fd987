// The alert rules and the Grafana dashboard are only useful if every metric they name
// exists: this test extracts each poolwatch_* name from them and checks it against what
// PoolwatchMetrics really exports.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "support/exposition_checker.hpp"
#include "support/source_tree.hpp"

namespace poolwatch {
namespace {

using namespace std::chrono_literals;

std::string read_doc(const std::string& name) {
  return test::read_source_file("docs/" + name);
}

std::set<std::string> referenced_names(const std::string& text) {
  static const std::regex name(R"(poolwatch_[A-Za-z0-9_:]*)");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it)
    out.insert(it->str());
  return out;
}

// Every sample name the daemon exports, from a render after every facade method ran.
std::set<std::string> exported_names() {
  PoolwatchMetrics m;
  PoolSnapshot pool;
  HostEntry host;
  host.address = make_ip_address("10.0.0.1");
  host.down = false;
  pool.hosts = {host};
  m.pool(pool);
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 1ms);
  m.backend_state("10.0.0.1", "up");
  m.cert_expiry("10.0.0.1", 1700000000);
  m.probe_lateness(2ms);
  m.transition("10.0.0.1", "down", "up");
  m.action_sent(director::HostCommand::up, "10.0.0.1", "ok");
  m.action_suppressed(director::HostCommand::down, "10.0.0.1", SuppressedBecause::scan_cap);
  m.pool_guard_engaged(false);
  m.director_connected(true);
  m.director_reconnect();
  m.scan_duration(1s);
  m.probes_in_flight(1);
  m.ring("actor", 3, 3, {{"10.0.0.1", 0, 3, "no_quorum"}});
  auto parsed = test::check_exposition(m.render());
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  std::set<std::string> names;
  for (const auto& s : parsed.samples) names.insert(s.name);
  for (const auto& f : parsed.families) names.insert(f.name);
  // Every registered family must have shown up, or the list above is incomplete.
  for (const auto* family : m.registry().families())
    EXPECT_TRUE(parsed.family(family->name())) << family->name() << " not exercised";
  return names;
}

TEST(Dashboards, AlertRulesUseOnlyExportedMetrics) {
  auto text = read_doc("alerts.yml");
  auto exported = exported_names();
  auto used = referenced_names(text);
  EXPECT_GE(used.size(), 5u);
  for (const auto& name : used) EXPECT_TRUE(exported.contains(name)) << name;
}

TEST(Dashboards, AlertRulesAreWellFormedAndCoverTheMainStories) {
  auto root = YAML::Load(read_doc("alerts.yml"));
  ASSERT_TRUE(root["groups"].IsSequence());
  std::set<std::string> alerts;
  std::string all_exprs;
  for (const auto& group : root["groups"]) {
    ASSERT_TRUE(group["name"]);
    for (const auto& rule : group["rules"]) {
      ASSERT_TRUE(rule["alert"]) << "every rule is an alert";
      ASSERT_TRUE(rule["expr"]) << rule["alert"].as<std::string>();
      ASSERT_TRUE(rule["labels"]["severity"]) << rule["alert"].as<std::string>();
      ASSERT_TRUE(rule["annotations"]["summary"]) << rule["alert"].as<std::string>();
      EXPECT_TRUE(alerts.insert(rule["alert"].as<std::string>()).second) << "duplicate alert";
      all_exprs += rule["expr"].as<std::string>() + "\n";
    }
  }
  for (auto story :
       {"poolwatch_backend_state", "poolwatch_pool_guard_engaged", "poolwatch_director_connected",
        "poolwatch_probe_results_total", "poolwatch_tls_earliest_cert_expiry_seconds"})
    EXPECT_NE(all_exprs.find(story), std::string::npos) << story;
}

TEST(Dashboards, GrafanaDashboardUsesOnlyExportedMetrics) {
  auto text = read_doc("grafana-dashboard.json");
  auto dashboard = nlohmann::json::parse(text);  // throws (fails) when not JSON
  ASSERT_TRUE(dashboard["panels"].is_array());
  std::size_t targets = 0;
  for (const auto& panel : dashboard["panels"])
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      EXPECT_TRUE(target["expr"].is_string());
      ++targets;
    }
  EXPECT_GE(targets, 10u);
  auto exported = exported_names();
  auto used = referenced_names(text);
  for (const auto& name : used) EXPECT_TRUE(exported.contains(name)) << name;
  // The dashboard shows every family the daemon exports.
  PoolwatchMetrics m;
  for (const auto* family : m.registry().families()) {
    auto base = family->name();
    bool shown = std::any_of(used.begin(), used.end(),
                             [&](const std::string& n) { return n.starts_with(base); });
    EXPECT_TRUE(shown) << base << " is on no panel";
  }
}

TEST(Dashboards, NameExtractionFindsMisspelledNames) {
  auto used = referenced_names("rate(poolwatch_probe_result_total[5m]) and poolwatch_up");
  auto exported = exported_names();
  EXPECT_EQ(used, (std::set<std::string>{"poolwatch_probe_result_total", "poolwatch_up"}));
  for (const auto& name : used) EXPECT_FALSE(exported.contains(name)) << name;
}

}  // namespace
}  // namespace poolwatch
