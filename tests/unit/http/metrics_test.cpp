#include "poolwatch/http/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch {
namespace {

using namespace std::chrono_literals;
using director::HostCommand;
using metrics::Registry;
using test::check_exposition;
using Labels = std::map<std::string, std::string>;

test::Exposition checked(const std::string& text) {
  auto parsed = check_exposition(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text() << "---\n" << text;
  return parsed;
}

// --- the checker itself: it must reject what Prometheus would misread ---------------

TEST(ExpositionChecker, AcceptsAWellFormedText) {
  auto parsed = check_exposition(
      "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
      "# HELP h Lat.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
      "h_sum 4.5\nh_count 2\n");
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("a_total", {{"x", "1"}}), 3);
  EXPECT_EQ(parsed.value("h_sum"), 4.5);
}

TEST(ExpositionChecker, RejectsEachKindOfMistake) {
  const char* head = "# HELP m M.\n# TYPE m gauge\n";
  const std::vector<std::string> bad = {
      "m 1\n",                                       // no HELP/TYPE
      std::string(head) + "m 1",                     // no final LF
      std::string(head) + "\nm 1\n",                 // blank line
      std::string(head) + "# HELP m again\nm 1\n",   // HELP twice
      std::string(head) + "m 1\n# TYPE m gauge\n",   // TYPE after samples
      std::string(head) + "m 1\nm 2\n",              // duplicate series
      std::string(head) + "m{a=\"x\",a=\"y\"} 1\n",  // repeated label
      std::string(head) + "m{a=\"x\\t\"} 1\n",       // bad escape
      std::string(head) + "m{a=\"x} 1\n",            // unterminated value
      std::string(head) + "m{1a=\"x\"} 1\n",         // bad label name
      std::string(head) + "m{__a=\"x\"} 1\n",        // reserved label name
      std::string(head) + "m inf\n",                 // bad value spelling
      std::string(head) + "m 1 1700000000\n",        // timestamp
      std::string(head) + "m{a=\"x\",} 1\n",         // trailing comma
      "# HELP c C.\n# TYPE c counter\nc -1\n",       // negative counter
      std::string(head) + "# HELP n N.\n# TYPE n gauge\nn 1\nm{a=\"2\"} 1\n",  // not contiguous
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  // no +Inf
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
      "h_sum 1\nh_count 1\n",  // not cumulative
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
      "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // le not increasing
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // count
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",           // no _sum
      "# HELP h H.\n# TYPE h histogram\nh 1\n",  // bare histogram sample
  };
  for (const auto& text : bad) EXPECT_FALSE(check_exposition(text).ok()) << text;
}

// --- registry --------------------------------------------------------------------

TEST(MetricsRegistry, RendersCountersAndGaugesWithHelpAndType) {
  Registry registry;
  auto& requests = registry.counter("x_requests_total", "Requests.", {"code"});
  auto& temperature = registry.gauge("x_temperature", "Temperature.");
  requests.inc({"200"});
  requests.inc({"200"}, 2);
  requests.inc({"500"});
  requests.inc({"500"}, -5);  // ignored: counters only go up
  temperature.set({}, -3.5);
  EXPECT_EQ(registry.render(),
            "# HELP x_requests_total Requests.\n# TYPE x_requests_total counter\n"
            "x_requests_total{code=\"200\"} 3\nx_requests_total{code=\"500\"} 1\n"
            "# HELP x_temperature Temperature.\n# TYPE x_temperature gauge\n"
            "x_temperature -3.5\n");
  checked(registry.render());
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto& g = registry.gauge("x_g", "Back\\slash and\nnewline.", {"v"});
  const std::string nasty = "a\\b\"c\nd}e,f=g";
  g.set({nasty}, 1);
  auto text = registry.render();
  EXPECT_NE(text.find("x_g{v=\"a\\\\b\\\"c\\nd}e,f=g\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP x_g Back\\\\slash and\\nnewline.\n"), std::string::npos) << text;
  auto parsed = checked(text);
  EXPECT_EQ(parsed.value("x_g", {{"v", nasty}}), 1);
  EXPECT_EQ(parsed.family("x_g")->help, "Back\\slash and\nnewline.");
}

TEST(MetricsRegistry, FormatsSpecialValues) {
  EXPECT_EQ(metrics::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(metrics::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(metrics::format_value(std::nan("")), "NaN");
  EXPECT_EQ(metrics::format_value(3), "3");
  EXPECT_EQ(metrics::format_value(0.25), "0.25");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInf) {
  Registry registry;
  auto& h = registry.histogram("x_seconds", "Durations.", {"op"}, {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0}) h.observe({"read"}, v);
  auto parsed = checked(registry.render());
  auto bucket = [&](const char* le) {
    return parsed.value("x_seconds_bucket", {{"op", "read"}, {"le", le}});
  };
  EXPECT_EQ(bucket("0.1"), 2);  // le is inclusive: 0.1 lands in the 0.1 bucket
  EXPECT_EQ(bucket("1"), 3);
  EXPECT_EQ(bucket("10"), 4);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(parsed.value("x_seconds_count", {{"op", "read"}}), 5);
  EXPECT_DOUBLE_EQ(*parsed.value("x_seconds_sum", {{"op", "read"}}), 55.65);
}

TEST(MetricsRegistry, RefusesBadOrDuplicateNamesAtRegistration) {
  Registry registry;
  registry.histogram("x_lat", "L.", {}, {1});
  EXPECT_THROW(registry.counter("x_lat", "again"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("x_lat_count", "clashes with the histogram"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("9x", "bad name"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("x_ok", "bad label", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge("x_ok", "reserved", {"__x"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge("x_ok", "twice", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("x_h", "le", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("x_h", "order", {}, {2, 1}), std::invalid_argument);
  EXPECT_NO_THROW(registry.gauge("x_ok", "fine", {"a"}));
}

TEST(MetricsRegistry, WrongLabelCountDropsTheSampleWithoutThrowing) {
  Registry registry;
  auto& c = registry.counter("x_total", "C.", {"a", "b"});
  EXPECT_NO_THROW(c.inc({"only-one"}));
  EXPECT_EQ(c.series_count(), 0u);
}

TEST(MetricsRegistry, RemoveMatchingDropsOnlyThatLabelValue) {
  Registry registry;
  auto& c = registry.counter("x_total", "C.", {"backend", "kind"});
  auto& g = registry.gauge("x_g", "G.");
  c.inc({"10.0.0.1", "a"});
  c.inc({"10.0.0.1", "b"});
  c.inc({"10.0.0.2", "a"});
  g.set({}, 7);
  registry.remove_matching("backend", "10.0.0.1");
  EXPECT_EQ(c.series_count(), 1u);
  EXPECT_EQ(c.value({"10.0.0.2", "a"}), 1);
  EXPECT_EQ(g.value({}), 7);
}

// remove_matching finds a label value's series without a walk: the first label by the
// map's order, the others by an index built on first use. Both must stay exact as series
// come and go around them.
TEST(MetricsRegistry, RemoveMatchingOnTheFirstLabelKeepsValuesItIsAPrefixOf) {
  Registry registry;
  auto& c = registry.counter("x_total", "C.", {"backend", "kind"});
  for (const char* backend : {"10.0.0.1", "10.0.0.10", "10.0.0.1x", "10.0.0."})
    for (const char* kind : {"a", "b"}) c.inc({backend, kind});
  c.remove_matching("backend", "10.0.0.1");
  EXPECT_EQ(c.series_count(), 6u);
  EXPECT_EQ(c.find({"10.0.0.1", "a"}), nullptr);
  EXPECT_EQ(c.value({"10.0.0.10", "a"}), 1);
  EXPECT_EQ(c.value({"10.0.0.", "b"}), 1);
  c.remove_matching("backend", "absent");
  EXPECT_EQ(c.series_count(), 6u);
}

TEST(MetricsRegistry, RemoveMatchingOnALaterLabelFollowsSeriesAddedAndRemovedSince) {
  Registry registry;
  auto& c = registry.counter("y_total", "C.", {"action", "backend", "result"});
  c.inc({"down", "10.0.0.1", "ok"});
  c.inc({"up", "10.0.0.2", "ok"});
  c.remove_matching("backend", "10.0.0.1");  // builds the index
  EXPECT_EQ(c.series_count(), 1u);
  c.inc({"down", "10.0.0.1", "error"});  // after the index exists
  c.inc({"flush", "10.0.0.1", "ok"});
  c.inc({"down", "10.0.0.3", "ok"});
  c.remove({"up", "10.0.0.2", "ok"});  // one series, removed by its labels
  c.remove_matching("result", "error");
  EXPECT_EQ(c.series_count(), 2u);
  c.remove_matching("backend", "10.0.0.1");
  EXPECT_EQ(c.series_count(), 1u);
  EXPECT_EQ(c.value({"down", "10.0.0.3", "ok"}), 1);
  c.clear();
  c.inc({"down", "10.0.0.1", "ok"});
  c.remove_matching("backend", "10.0.0.1");
  EXPECT_EQ(c.series_count(), 0u);
  c.remove_matching("backend", "10.0.0.3");  // removed by clear(): the index knows
  EXPECT_EQ(c.series_count(), 0u);
}

TEST(MetricsRegistry, RemoveMatchingOnAHistogram) {
  Registry registry;
  auto& h = registry.histogram("z_seconds", "H.", {"protocol", "backend"}, {1, 2});
  h.observe({"imap", "10.0.0.1"}, 0.5);
  h.observe({"pop3", "10.0.0.1"}, 1.5);
  h.observe({"imap", "10.0.0.2"}, 3);
  registry.remove_matching("backend", "10.0.0.1");
  EXPECT_EQ(h.series_count(), 1u);
  ASSERT_NE(h.find({"imap", "10.0.0.2"}), nullptr);
  h.observe({"pop3", "10.0.0.1"}, 1.5);
  registry.remove_matching("protocol", "imap");
  EXPECT_EQ(h.series_count(), 1u);
  EXPECT_NE(h.find({"pop3", "10.0.0.1"}), nullptr);
}

// A series' labels are kept as one string with '\0' after each value: values holding
// '\0' or '\1' (the escape) must still be series of their own, render as given, and be
// found and removed by their value.
TEST(MetricsRegistry, LabelValuesWithTheKeysSeparatorStayDistinct) {
  using namespace std::string_literals;
  Registry registry;
  auto& c = registry.counter("k_total", "C.", {"a", "b"});
  const std::vector<metrics::LabelValues> labels = {
      {"x", "y"}, {"x\0y"s, ""}, {"x", "\0y"s}, {"x\1"s, "y"}, {"x\1\2"s, ""}, {"", ""}, {"x", ""}};
  for (std::size_t i = 0; i < labels.size(); ++i) c.inc(labels[i], static_cast<double>(i + 1));
  EXPECT_EQ(c.series_count(), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    EXPECT_EQ(c.value(labels[i]), static_cast<double>(i + 1)) << i;
  for (const auto& l : labels)
    EXPECT_EQ(metrics::detail::decode_labels(metrics::detail::encode_labels(l)), l);
  const auto text = registry.render();
  EXPECT_NE(text.find("k_total{a=\"x\1\",b=\"y\"} 4\n"s), std::string::npos) << text;
  EXPECT_NE(text.find("k_total{a=\"\",b=\"\"} 6\n"), std::string::npos) << text;
  c.remove_matching("a", "x");  // not "x\0y", "x\1" or "x\1\2"
  EXPECT_EQ(c.series_count(), 4u);
  EXPECT_EQ(c.value({"x\0y"s, ""}), 2);
  c.remove_matching("b", "\0y"s);
  c.remove_matching("b", "");
  EXPECT_EQ(c.series_count(), 1u);
  EXPECT_EQ(c.value({"x\1"s, "y"}), 4);
}

// A sliced render resumes where it stopped, in the order of the values (first label
// first), as one render does.
TEST(MetricsRegistry, SlicedRenderMatchesOneRender) {
  Registry registry;
  auto& c = registry.counter("s_total", "C.", {"backend", "kind"});
  for (const char* backend : {"10.0.0.1", "10.0.0.10", "10.0.0.2", "10.0.0."})
    for (const char* kind : {"b", "a", ""}) c.inc({backend, kind});
  auto& h = registry.histogram("s_seconds", "H.", {"backend"}, {1});
  for (const char* backend : {"b", "a", "ab"}) h.observe({backend}, 0.5);
  std::string sliced;
  metrics::RenderCursor cursor;
  while (!registry.render_some(sliced, cursor, 2)) {
  }
  EXPECT_EQ(sliced, registry.render());
  const auto text = registry.render();
  EXPECT_LT(text.find("backend=\"10.0.0.\",kind=\"\""), text.find("backend=\"10.0.0.1\",kind"));
  EXPECT_LT(text.find("backend=\"10.0.0.1\",kind=\"b\""), text.find("backend=\"10.0.0.10\""));
}

// --- the daemon's named metrics ----------------------------------------------------

HostEntry host(const char* ip, std::uint32_t vhosts, std::uint32_t users,
               std::optional<bool> down) {
  HostEntry h;
  h.address = make_ip_address(ip);
  h.vhost_count = vhosts;
  h.user_count = users;
  h.down = down;
  return h;
}

TEST(PoolwatchMetrics, FreshRegistryIsValidAndHasBuildInfo) {
  PoolwatchMetrics m;
  auto parsed = checked(m.render());
  EXPECT_EQ(parsed.value("poolwatch_build_info", {{"version", POOLWATCH_VERSION}}), 1);
  EXPECT_EQ(parsed.value("poolwatch_director_connected"), 0);
  EXPECT_EQ(parsed.value("poolwatch_director_reconnects_total"), 0);
}

TEST(PoolwatchMetrics, ScriptedCallsGiveExactValues) {
  PoolwatchMetrics m;
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 20ms);
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 40ms);
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::connect_refused, 1ms);
  m.probe_result("10.0.0.2", Protocol::lmtp, FailureClass::auth_temporary, 3s);
  m.backend_state("10.0.0.1", "suspect");
  m.transition("10.0.0.1", "up", "suspect");
  m.action_sent(HostCommand::down, "10.0.0.2", "ok");
  m.action_suppressed(HostCommand::down, "10.0.0.3", SuppressedBecause::pool_guard);
  m.action_suppressed(HostCommand::up, "10.0.0.3", SuppressedBecause::manual_down);
  m.pool_guard_engaged(true);
  m.director_connected(true);
  m.director_reconnect();
  m.director_reconnect();
  m.scan_duration(1500ms);
  m.probes_in_flight(7);

  auto p = checked(m.render());
  using L = Labels;
  EXPECT_EQ(p.value("poolwatch_probe_results_total",
                    L{{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"outcome", "ok"}}),
            2);
  EXPECT_EQ(
      p.value("poolwatch_probe_results_total",
              L{{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"outcome", "connect_refused"}}),
      1);
  EXPECT_EQ(
      p.value("poolwatch_probe_results_total",
              L{{"backend", "10.0.0.2"}, {"protocol", "lmtp"}, {"outcome", "auth_temporary"}}),
      1);
  EXPECT_EQ(p.value("poolwatch_probe_duration_seconds_count",
                    L{{"backend", "10.0.0.1"}, {"protocol", "imap"}}),
            3);
  EXPECT_DOUBLE_EQ(*p.value("poolwatch_probe_duration_seconds_sum",
                            L{{"backend", "10.0.0.1"}, {"protocol", "imap"}}),
                   0.061);
  EXPECT_EQ(p.value("poolwatch_probe_duration_seconds_bucket",
                    L{{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"le", "0.025"}}),
            2);
  for (auto state : {"up", "rapid", "down"})
    EXPECT_EQ(p.value("poolwatch_backend_state", L{{"backend", "10.0.0.1"}, {"state", state}}), 0)
        << state;
  EXPECT_EQ(p.value("poolwatch_backend_state", L{{"backend", "10.0.0.1"}, {"state", "suspect"}}),
            1);
  EXPECT_EQ(
      p.value("poolwatch_backend_transitions_total", L{{"backend", "10.0.0.1"}, {"to", "suspect"}}),
      1);
  EXPECT_EQ(p.value("poolwatch_director_actions_total",
                    L{{"action", "down"}, {"backend", "10.0.0.2"}, {"result", "ok"}}),
            1);
  EXPECT_EQ(p.value("poolwatch_actions_suppressed_total",
                    L{{"action", "down"}, {"backend", "10.0.0.3"}, {"reason", "pool_guard"}}),
            1);
  EXPECT_EQ(p.value("poolwatch_actions_suppressed_total",
                    L{{"action", "up"}, {"backend", "10.0.0.3"}, {"reason", "manual_down"}}),
            1);
  EXPECT_EQ(p.value("poolwatch_pool_guard_engaged"), 1);
  EXPECT_EQ(p.value("poolwatch_director_connected"), 1);
  EXPECT_EQ(p.value("poolwatch_director_reconnects_total"), 2);
  EXPECT_EQ(p.value("poolwatch_scan_duration_seconds_bucket", L{{"le", "1"}}), 0);
  EXPECT_EQ(p.value("poolwatch_scan_duration_seconds_bucket", L{{"le", "2.5"}}), 1);
  EXPECT_EQ(p.value("poolwatch_probes_in_flight"), 7);
}

TEST(PoolwatchMetrics, BackendStateStaysOneHot) {
  PoolwatchMetrics m;
  m.backend_state("10.0.0.1", "down");
  m.backend_state("10.0.0.1", "weird");  // a state name the facade does not know
  m.backend_state("10.0.0.1", "up");
  auto p = checked(m.render());
  auto series = p.find("poolwatch_backend_state", {{"backend", "10.0.0.1"}});
  ASSERT_EQ(series.size(), 4u);  // the non-standard state left no stale series
  double total = 0;
  for (const auto* s : series) total += s->value;
  EXPECT_EQ(total, 1);
  EXPECT_EQ(p.value("poolwatch_backend_state", {{"backend", "10.0.0.1"}, {"state", "up"}}), 1);
}

TEST(PoolwatchMetrics, RingSeriesAreReplacedByEachEvaluation) {
  PoolwatchMetrics m;
  m.ring("actor", 3, 3,
         {{"10.0.0.1", 0, 3, ""}, {"10.0.0.2", 1, 2, "unreachable_from_this_director_only"}});
  m.ring("standby", 3, 2, {{"10.0.0.1", 0, 2, ""}});
  auto p = checked(m.render());
  EXPECT_EQ(p.value("poolwatch_ring_role", {{"role", "standby"}}), 1);
  EXPECT_EQ(p.value("poolwatch_ring_role", {{"role", "actor"}}), 0);
  EXPECT_EQ(p.value("poolwatch_ring_peers", {{"state", "answering"}}), 2);
  EXPECT_EQ(p.value("poolwatch_ring_peers", {{"state", "listed"}}), 3);
  EXPECT_EQ(p.value("poolwatch_ring_votes", {{"backend", "10.0.0.1"}, {"verdict", "up"}}), 2);
  // The backend the last evaluation did not name, and its overruling, are gone.
  EXPECT_TRUE(p.find("poolwatch_ring_votes", {{"backend", "10.0.0.2"}}).empty());
  EXPECT_TRUE(p.find("poolwatch_ring_overruled", {}).empty());
}

// Alert rules and dashboards select on these label values: renaming an enumerator must
// not rename its label.
TEST(PoolwatchMetrics, ActionAndReasonLabelsAreTheDocumentedValues) {
  PoolwatchMetrics m;
  const std::pair<HostCommand, std::string> actions[] = {{HostCommand::down, "down"},
                                                         {HostCommand::up, "up"},
                                                         {HostCommand::flush, "flush"},
                                                         {HostCommand::reset_users, "reset_users"}};
  const std::pair<SuppressedBecause, std::string> reasons[] = {
      {SuppressedBecause::pool_guard, "pool_guard"},
      {SuppressedBecause::dry_run, "dry_run"},
      {SuppressedBecause::manual_down, "manual_down"},
      {SuppressedBecause::scan_cap, "cap"}};
  for (const auto& [action, label] : actions) {
    m.action_sent(action, "10.0.0.1", "ok");
    for (const auto& [reason, reason_label] : reasons)
      m.action_suppressed(action, "10.0.0.1", reason);
  }
  auto p = checked(m.render());
  for (const auto& [action, label] : actions) {
    EXPECT_EQ(p.value("poolwatch_director_actions_total",
                      Labels{{"action", label}, {"backend", "10.0.0.1"}, {"result", "ok"}}),
              1)
        << label;
    for (const auto& [reason, reason_label] : reasons)
      EXPECT_EQ(
          p.value("poolwatch_actions_suppressed_total",
                  Labels{{"action", label}, {"backend", "10.0.0.1"}, {"reason", reason_label}}),
          1)
          << label << " " << reason_label;
  }
}

TEST(PoolwatchMetrics, PoolExportsDirectorViewAndForgetsVanishedBackends) {
  PoolwatchMetrics m;
  PoolSnapshot first;
  first.hosts = {host("10.0.0.1", 100, 5, false), host("10.0.0.2", 0, 0, true),
                 host("10.0.0.3", 100, 1, std::nullopt)};
  m.pool(first);
  m.probe_result("10.0.0.2", Protocol::pop3, FailureClass::timeout, 10s);
  m.backend_state("10.0.0.2", "down");
  m.action_sent(HostCommand::down, "10.0.0.2", "ok");
  auto p = checked(m.render());
  EXPECT_EQ(p.value("poolwatch_pool_hosts"), 3);
  EXPECT_EQ(p.value("poolwatch_pool_down_hosts"), 1);
  EXPECT_EQ(p.value("poolwatch_backend_vhost_count", {{"backend", "10.0.0.1"}}), 100);
  EXPECT_EQ(p.value("poolwatch_backend_users", {{"backend", "10.0.0.1"}}), 5);
  EXPECT_EQ(p.value("poolwatch_backend_director_up", {{"backend", "10.0.0.1"}}), 1);
  EXPECT_EQ(p.value("poolwatch_backend_director_up", {{"backend", "10.0.0.2"}}), 0);
  EXPECT_FALSE(p.value("poolwatch_backend_director_up", {{"backend", "10.0.0.3"}}));

  PoolSnapshot second;
  second.hosts = {host("10.0.0.1", 100, 6, false)};
  m.pool(second);
  auto text = m.render();
  checked(text);
  EXPECT_EQ(text.find("10.0.0.2"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.0.0.3"), std::string::npos) << text;
  EXPECT_NE(text.find("poolwatch_backend_users{backend=\"10.0.0.1\"} 6"), std::string::npos);
}

// A scan passes the previous snapshot: with the same hosts only moved figures are set,
// and the result must be what a full export of the new snapshot gives.
TEST(PoolwatchMetrics, PoolAgainstThePreviousSnapshotExportsWhatAFullExportWould) {
  PoolSnapshot first;
  first.hosts = {host("10.0.0.1", 100, 5, false), host("10.0.0.2", 0, 0, true),
                 host("10.0.0.3", 100, 1, false)};
  PoolSnapshot same_hosts;  // users moved, one host went down, one came up
  same_hosts.hosts = {host("10.0.0.1", 100, 7, false), host("10.0.0.2", 0, 0, false),
                      host("10.0.0.3", 100, 1, true)};
  PoolSnapshot other_hosts;  // as many hosts, one of them another address
  other_hosts.hosts = {host("10.0.0.1", 100, 7, false), host("10.0.0.4", 10, 2, false),
                       host("10.0.0.3", 100, 1, true)};
  for (const auto* next : {&same_hosts, &other_hosts}) {
    PoolwatchMetrics incremental;
    incremental.pool(first);
    incremental.pool(*next, &first);
    PoolwatchMetrics full;
    full.pool(*next);
    EXPECT_EQ(incremental.render(), full.render());
  }
  PoolwatchMetrics m;
  m.pool(first);
  m.pool(same_hosts, &first);
  auto p = checked(m.render());
  EXPECT_EQ(p.value("poolwatch_backend_users", {{"backend", "10.0.0.1"}}), 7);
  EXPECT_EQ(p.value("poolwatch_backend_director_up", {{"backend", "10.0.0.2"}}), 1);
  EXPECT_EQ(p.value("poolwatch_backend_director_up", {{"backend", "10.0.0.3"}}), 0);
  EXPECT_EQ(p.value("poolwatch_pool_down_hosts"), 1);
}

TEST(PoolwatchMetrics, ForgetBackendRemovesEverySeriesOfIt) {
  PoolwatchMetrics m;
  m.probe_result("::1", Protocol::imap, FailureClass::none, 1ms);
  m.backend_state("::1", "up");
  m.action_suppressed(HostCommand::down, "::1", SuppressedBecause::dry_run);
  m.probe_result("::2", Protocol::imap, FailureClass::none, 1ms);
  m.forget_backend("::1");
  auto text = m.render();
  checked(text);
  EXPECT_EQ(text.find("\"::1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"::2\""), std::string::npos) << text;
}

TEST(PoolwatchMetrics, AProbeThatDidNotRunIsCountedWithoutADuration) {
  PoolwatchMetrics m;
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 20ms);
  m.probe_result("10.0.0.1", Protocol::imap, FailureClass::local_resource, 0ms);
  auto p = checked(m.render());
  const Labels backend{{"backend", "10.0.0.1"}, {"protocol", "imap"}};
  auto not_run = backend;
  not_run["outcome"] = "local_resource";
  EXPECT_EQ(p.value("poolwatch_probe_results_total", not_run), 1);
  EXPECT_EQ(p.value("poolwatch_probe_duration_seconds_count", backend), 1);
}

TEST(PoolwatchMetrics, OutcomeLabelsAreDistinctSnakeCase) {
  std::set<std::string_view> seen;
  for (int i = 0; i <= static_cast<int>(FailureClass::local_resource); ++i) {
    auto label = outcome_label(static_cast<FailureClass>(i));
    EXPECT_TRUE(metrics::is_valid_label_name(label)) << label;  // snake_case, no spaces
    EXPECT_TRUE(seen.insert(label).second) << label;
  }
}

}  // namespace
}  // namespace poolwatch
