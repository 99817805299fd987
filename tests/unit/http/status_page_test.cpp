#include "poolwatch/http/status_page.hpp"

#include <gtest/gtest.h>

#include <string>

namespace poolwatch {
namespace status_page_test {

constexpr std::int64_t kNow = 1700000000;  // 2023-11-14 22:13:20 UTC

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

PoolRowView row(std::string address, std::string state, std::string director) {
  PoolRowView r;
  r.backend.address = std::move(address);
  r.backend.state = std::move(state);
  r.director_state = std::move(director);
  r.vhosts = 100;
  r.users = 7;
  return r;
}

StatusPageView a_pool() {
  StatusPageView v;
  v.now_unix = kNow;
  v.refresh_seconds = 5;
  v.director_socket = "/run/dovecot/director-admin";
  v.director_connected = true;
  v.last_host_list_unix = kNow - 3;
  v.guard_text = "1 of 3 hosts may be down at once";
  v.rows.push_back(row("127.0.1.1", "up", "U"));
  auto down = row("127.0.1.2", "down", "D");
  down.backend.since_unix = kNow - 42;
  down.backend.reason = "held down by poolwatch: imap:143: connection refused";
  CheckStatusView check;
  check.name = "imap:143";
  check.state = "down";
  check.consecutive_failures = 4;
  check.last_outcome = "refused";
  check.last_latency_ms = 0.4;
  check.last_reason = "connection refused";
  down.backend.checks.push_back(check);
  down.down_by = "poolwatch";
  down.down_since_unix = kNow - 40;
  v.rows.push_back(down);
  auto admin = row("127.0.1.3", "up", "D");
  admin.down_by = "administrator";
  v.rows.push_back(admin);
  PageEventView event;
  event.unix_ms = (kNow - 40) * 1000;
  event.kind = "action";
  event.backend = "127.0.1.2";
  event.what = "HOST-DOWN ok";
  event.reason = "imap:143 down";
  v.events.push_back(event);
  return v;
}

TEST(HtmlEscape, TurnsMarkupIntoText) {
  EXPECT_EQ(html_escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(html_escape(R"(a "b" & c)"), "a &quot;b&quot; &amp; c");
  EXPECT_EQ(html_escape("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is kept
}

TEST(HtmlEscape, ReplacesControlsAndBrokenUtf8AndCaps) {
  EXPECT_EQ(html_escape("a\nb\x1b[31m"), "a?b?[31m");
  EXPECT_EQ(html_escape("\xff"), "\xef\xbf\xbd");
  const auto long_text = html_escape(std::string(10000, '<'), 100);
  EXPECT_LE(long_text.size(), 100u * 4 + 3);
  EXPECT_TRUE(long_text.ends_with("...")) << long_text;
}

TEST(StatusPage, IsOneSelfContainedDocument) {
  const auto html = render_status_page(a_pool());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find(R"(<meta http-equiv="refresh" content="5">)"), std::string::npos);
  EXPECT_NE(html.find(R"(<meta name="viewport")"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_TRUE(html.ends_with("</html>\n"));
}

TEST(StatusPage, ListsEveryBackendWithItsStateInWords) {
  const auto html = render_status_page(a_pool());
  for (const char* a : {"127.0.1.1", "127.0.1.2", "127.0.1.3"})
    EXPECT_EQ(occurrences(html, std::string("data-backend=\"") + a + "\""), 1u) << a;
  EXPECT_NE(html.find(R"(data-backend="127.0.1.2" data-state="down" data-director="D")"),
            std::string::npos);
  EXPECT_NE(html.find(">DOWN</span>"), std::string::npos);
  EXPECT_NE(html.find(">UP</span>"), std::string::npos);
  EXPECT_NE(html.find(">DOWN (D)</span>"), std::string::npos);
  EXPECT_NE(html.find("connection refused"), std::string::npos);
  EXPECT_NE(html.find("0.4 ms"), std::string::npos);
  EXPECT_NE(html.find("42s ago"), std::string::npos);
  EXPECT_NE(html.find(">poolwatch</span> since 2023-11-14 22:12:40 UTC (40s ago)"),
            std::string::npos);
  EXPECT_NE(html.find(">administrator</span>"), std::string::npos);
  EXPECT_NE(html.find("3 backends: 2 up, 1 down, 0 suspect"), std::string::npos);
}

TEST(StatusPage, ShowsDirectorGuardAndEvents) {
  auto v = a_pool();
  v.guard_blocking = true;
  v.guard_text = "holding back 2 HOST-DOWN(s)";
  v.director_connected = false;
  v.last_host_list_error = "connection refused";
  const auto html = render_status_page(v);
  EXPECT_NE(html.find(">DISCONNECTED</span>"), std::string::npos);
  EXPECT_NE(html.find("/run/dovecot/director-admin"), std::string::npos);
  EXPECT_NE(html.find("the last one failed"), std::string::npos);
  EXPECT_NE(html.find(">BLOCKING</span> holding back 2 HOST-DOWN(s)"), std::string::npos);
  EXPECT_NE(html.find("HOST-DOWN ok"), std::string::npos);
  EXPECT_NE(html.find("2023-11-14 22:12:40 UTC"), std::string::npos);
}

TEST(StatusPage, EscapesEveryValueFromTheNetwork) {
  auto v = a_pool();
  const std::string hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
  v.rows[1].backend.reason = hostile;
  v.rows[1].backend.checks[0].last_reason = hostile;
  v.rows[1].backend.checks[0].name = hostile;
  v.events[0].reason = hostile;
  v.events[0].what = hostile;
  v.guard_text = hostile;
  v.last_host_list_error = hostile;
  v.director_socket = hostile;
  const auto html = render_status_page(v);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("\"'>"), std::string::npos);
  EXPECT_EQ(occurrences(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 9u);
}

TEST(StatusPage, SaysWhenRowsAreLeftOutAndWhenEmpty) {
  auto v = a_pool();
  v.rows_not_shown = 1000;
  auto html = render_status_page(v);
  EXPECT_NE(html.find("1000 more backends not shown"), std::string::npos);
  EXPECT_NE(html.find("1003 backends (3 shown)"), std::string::npos);
  v = StatusPageView{};
  html = render_status_page(v);
  EXPECT_NE(html.find("No backend known yet"), std::string::npos);
  EXPECT_NE(html.find("none yet"), std::string::npos);
  EXPECT_NE(html.find("None since poolwatch started"), std::string::npos);
}

TEST(StatusPage, AgesAndTimes) {
  EXPECT_EQ(age_text(0, kNow), "-");
  EXPECT_EQ(age_text(kNow - 5, kNow), "5s ago");
  EXPECT_EQ(age_text(kNow - 600, kNow), "10m ago");
  EXPECT_EQ(age_text(kNow - 3 * 3600, kNow), "3h ago");
  EXPECT_EQ(age_text(kNow - 3 * 86400, kNow), "3d ago");
  EXPECT_EQ(age_text(kNow + 50, kNow), "0s ago");  // a clock step back
  EXPECT_EQ(utc_text(kNow), "2023-11-14 22:13:20 UTC");
  EXPECT_EQ(utc_text(0), "-");
}

// The earliest certificate expiry shows in days; within the log's two weeks it is marked in
// words, not by colour alone; a backend without TLS shows none.
TEST(StatusPage, ShowsCertificateExpiryAndMarksTheSoonOnes) {
  auto v = a_pool();
  v.rows[0].backend.cert_expiry_unix = kNow + 40 * 86400 + 60;
  v.rows[1].backend.cert_expiry_unix = kNow + 10 * 86400 + 60;
  const auto html = render_status_page(v);
  EXPECT_NE(html.find("cert expires in 40 days (2023-12-24 22:14:20 UTC)"), std::string::npos);
  EXPECT_NE(html.find("cert expires in 10 days (2023-11-24 22:14:20 UTC)"), std::string::npos);
  EXPECT_EQ(occurrences(html, ">EXPIRES SOON</span>"), 1u);
  EXPECT_EQ(occurrences(html, "<th>Certificate</th>"), 1u);
  EXPECT_EQ(occurrences(html, "cert expire"), 2u);  // the third backend has no TLS check
}

}  // namespace status_page_test
}  // namespace poolwatch
