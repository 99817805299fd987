#include "poolwatch/http/status_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

namespace {

// Okabe-Ito colours, which the common kinds of colour blindness still tell apart; each
// state also says its word and carries a mark, so colour is never the only sign.
constexpr std::string_view kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:0;padding:.75rem;color:#111;background:#fafafa}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.05rem;margin:1rem 0 .4rem}
.summary{margin:.2rem 0;font-size:.95rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:#fff}
th,td{border:1px solid #ccc;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}
.state{display:inline-block;padding:0 .35rem;border-radius:.2rem;font-weight:600;white-space:nowrap}
.state-ok{background:#cfe3f3;color:#00365a}.state-ok::before{content:"\2713 "}
.state-bad{background:#f6d2b8;color:#6b2a00;border:2px solid #d55e00}.state-bad::before{content:"\2716 "}
.state-warn{background:#fbe5b0;color:#5a3c00;border:1px dashed #e69f00}.state-warn::before{content:"! "}
.state-other{background:#e4e4e4;color:#333}
tr.row-bad td:first-child{border-left:6px solid #d55e00}
ul.checks{margin:0;padding-left:1rem}.reason{color:#444;word-break:break-word}
.scroll{overflow-x:auto}
@media (max-width:700px){
table.cards thead{display:none}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:auto}
table.cards tr{margin-bottom:.6rem;border:1px solid #aaa}
table.cards td{border:none;border-bottom:1px solid #eee}
table.cards td::before{content:attr(data-label) ": ";font-weight:600}
}
)css";

// The class a state word is drawn with.
std::string_view state_class(std::string_view word) {
  if (word == "up" || word == "ok" || word == "connected" || word == "open" || word == "U")
    return "state-ok";
  if (word == "down" || word == "disconnected" || word == "blocking" || word == "D")
    return "state-bad";
  if (word == "suspect" || word == "rapid" || word == "recovering" || word == "expires soon")
    return "state-warn";
  return "state-other";
}

void state_badge(std::string& out, std::string_view word, std::string_view shown) {
  fmt::format_to(std::back_inserter(out), R"(<span class="state {}">{}</span>)", state_class(word),
                 html_escape(ascii_upper(shown)));
}

void state_badge(std::string& out, std::string_view word) {
  state_badge(out, word, word.empty() ? std::string_view("not probed") : word);
}

std::string latency_text(double ms) {
  return ms > 0 ? fmt::format("{:.1f} ms", ms) : "-";
}

void cell(std::string& out, std::string_view label, std::string_view escaped_html,
          std::string_view css_class = "") {
  fmt::format_to(std::back_inserter(out), R"(<td data-label="{}"{}>{}</td>)", label,
                 css_class.empty() ? "" : fmt::format(R"( class="{}")", css_class), escaped_html);
}

std::string director_cell(const PoolRowView& row) {
  std::string html;
  const std::string_view word = row.director_state == "U"   ? "up"
                                : row.director_state == "D" ? "down"
                                                            : "unknown";
  state_badge(html, row.director_state, fmt::format("{} ({})", word, row.director_state));
  return html;
}

std::string checks_cell(const BackendStatusView& b) {
  if (b.checks.empty()) return "-";
  std::string html = R"(<ul class="checks">)";
  for (const auto& c : b.checks) {
    html += R"(<li class="check" data-check=")" + html_escape(c.name) + "\">";
    html += "<span class=\"check-name\">" + html_escape(c.name) + "</span> ";
    state_badge(html, c.state);
    html += " " + html_escape(latency_text(c.last_latency_ms));
    if (!c.last_reason.empty())
      html += R"( <span class="reason">)" + html_escape(c.last_reason) + "</span>";
    html += "</li>";
  }
  return html + "</ul>";
}

// The earliest certificate expiry of the backend's TLS checks, in days, with the words
// EXPIRES SOON when it is within the log's warning window.
std::string cert_cell(const BackendStatusView& b, std::int64_t now) {
  if (!b.cert_expiry_unix) return "-";
  const auto days = days_until(*b.cert_expiry_unix, now);
  std::string html;
  if (days < kCertExpiryWarnDays) {
    state_badge(html, "expires soon");
    html += ' ';
  }
  return html + html_escape(cert_expiry_text(*b.cert_expiry_unix, now));
}

std::string down_by_cell(const PoolRowView& row, std::int64_t now) {
  if (row.down_by.empty()) return "-";
  std::string html = "<span class=\"down-by\">" + html_escape(row.down_by) + "</span>";
  if (row.down_since_unix > 0)
    html += " since " + html_escape(utc_text(row.down_since_unix)) + " (" +
            html_escape(age_text(row.down_since_unix, now)) + ")";
  return html;
}

void pool_row(std::string& out, const PoolRowView& row, std::int64_t now) {
  const auto& b = row.backend;
  const bool bad = b.state == "down" || row.director_state == "D";
  fmt::format_to(std::back_inserter(out),
                 R"(<tr class="backend{}" data-backend="{}" data-state="{}" data-director="{}">)",
                 bad ? " row-bad" : "", html_escape(b.address), html_escape(b.state),
                 html_escape(row.director_state));
  cell(out, "backend", html_escape(b.address), "address");
  cell(out, "director", director_cell(row));
  cell(out, "vhosts", std::to_string(row.vhosts));
  cell(out, "users", std::to_string(row.users));
  std::string verdict;
  state_badge(verdict, b.state);
  cell(out, "poolwatch", verdict, "verdict");
  cell(out, "since", html_escape(age_text(b.since_unix, now)));
  cell(out, "reason", b.reason.empty() ? "-" : html_escape(b.reason), "reason");
  cell(out, "checks", checks_cell(b));
  cell(out, "certificate", cert_cell(b, now), "certificate");
  cell(out, "down by", down_by_cell(row, now));
  out += "</tr>\n";
}

void pool_section(std::string& out, const StatusPageView& v) {
  out += R"(<section id="pool"><h2>Pool</h2><div class="scroll"><table class="cards">)";
  out +=
      "<thead><tr><th>Backend</th><th>Director</th><th>vhosts</th><th>Users</th>"
      "<th>poolwatch</th><th>Since</th><th>Reason</th><th>Checks (state, latency, "
      "last reason)</th><th>Certificate</th><th>Down by</th></tr></thead><tbody>\n";
  for (const auto& row : v.rows) pool_row(out, row, v.now_unix);
  out += "</tbody></table></div>";
  if (v.rows.empty()) out += "<p>No backend known yet.</p>";
  if (v.rows_not_shown > 0)
    out += fmt::format(
        "<p>{} more backends not shown (the ones not up come first); /status lists them.</p>",
        v.rows_not_shown);
  out += "</section>\n";
}

void director_section(std::string& out, const StatusPageView& v) {
  out += R"(<section id="director"><h2>Director</h2><p>Connection: )";
  state_badge(out, v.director_connected ? "connected" : "disconnected");
  out += " <code>" + html_escape(v.director_socket) + "</code></p><p>Last HOST-LIST: ";
  out += v.last_host_list_unix > 0
             ? html_escape(utc_text(v.last_host_list_unix)) + " (" +
                   html_escape(age_text(v.last_host_list_unix, v.now_unix)) + ")"
             : std::string("none yet");
  if (!v.last_host_list_error.empty())
    out += R"(; the last one failed: <span class="reason">)" + html_escape(v.last_host_list_error) +
           "</span>";
  out += "</p>";
  if (v.dry_run) out += "<p><strong>DRY-RUN:</strong> actions are logged, not sent.</p>";
  out += "</section>\n";
}

void guard_section(std::string& out, const StatusPageView& v) {
  out += R"(<section id="guard"><h2>Pool guard</h2><p>)";
  state_badge(out, v.guard_blocking ? "blocking" : "open");
  out += " " + (v.guard_text.empty() ? std::string("no scan yet") : html_escape(v.guard_text));
  out += "</p></section>\n";
}

void ring_section(std::string& out, const RingStatusView& ring) {
  out += R"(<section id="ring"><h2>Ring</h2><p>Role: )";
  state_badge(out, ring.role);
  out += " " + html_escape(ring.reason) + "</p>";
  out += fmt::format("<p>Acting: {}; {} of {} directors answering, quorum {}.</p>",
                     ring.actor.empty() ? "nobody" : html_escape(ring.actor), ring.answering,
                     ring.listed, ring.quorum);
  out += "</section>\n";
}

void event_time(std::string& out, std::int64_t unix_ms) {
  out += html_escape(utc_text(unix_ms / 1000));
}

void events_section(std::string& out, const StatusPageView& v) {
  out += fmt::format(R"(<section id="events"><h2>Last {} events</h2>)", kStatusPageEvents);
  if (v.events.empty()) {
    out += "<p>None since poolwatch started.</p></section>\n";
    return;
  }
  out += R"(<div class="scroll"><table class="cards"><thead><tr><th>Time</th><th>Event</th>)"
         "<th>Backend</th><th>What</th><th>Reason</th></tr></thead><tbody>\n";
  for (const auto& e : v.events) {
    out += R"(<tr class="event"><td data-label="time">)";
    event_time(out, e.unix_ms);
    out += "</td>";
    cell(out, "event", html_escape(e.kind));
    cell(out, "backend", html_escape(e.backend));
    cell(out, "what", html_escape(e.what));
    cell(out, "reason", e.reason.empty() ? "-" : html_escape(e.reason), "reason");
    out += "</tr>\n";
  }
  out += "</tbody></table></div></section>\n";
}

std::size_t count_state(const StatusPageView& v, std::string_view state) {
  return static_cast<std::size_t>(std::count_if(
      v.rows.begin(), v.rows.end(), [state](const auto& r) { return r.backend.state == state; }));
}

}  // namespace

std::string html_escape(std::string_view text, std::size_t max_length) {
  const auto printable = printable_excerpt(text, max_length, false);
  std::string out;
  out.reserve(printable.size() + printable.size() / 8);
  for (const char c : printable) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string age_text(std::int64_t since_unix, std::int64_t now_unix) {
  if (since_unix <= 0) return "-";
  auto s = std::max<std::int64_t>(0, now_unix - since_unix);
  if (s < 120) return fmt::format("{}s ago", s);
  if (s < 2 * 3600) return fmt::format("{}m ago", s / 60);
  if (s < 2 * 86400) return fmt::format("{}h ago", s / 3600);
  return fmt::format("{}d ago", s / 86400);
}

std::string utc_text(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string cert_expiry_text(std::int64_t expiry_unix, std::int64_t now_unix) {
  const auto days = days_until(expiry_unix, now_unix);
  const auto text = days < 0 ? fmt::format("cert expired {} days ago", -days)
                             : fmt::format("cert expires in {} days", days);
  return fmt::format("{} ({})", text, utc_text(expiry_unix));
}

std::string render_status_page(const StatusPageView& v) {
  std::string out;
  out.reserve(4096 + v.rows.size() * 1024 + v.events.size() * 256);
  const auto down = count_state(v, "down");
  const auto total = v.rows.size() + v.rows_not_shown;
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n",
                     std::clamp(v.refresh_seconds, 1, 3600));
  out += fmt::format("<title>poolwatch: {} backends, {} down</title>\n", total, down);
  out += "<style>";
  out += kStyle;
  out += "</style></head><body>\n<header><h1>poolwatch</h1>";
  out += fmt::format(
      R"(<p class="summary" id="summary">{} backends{}: {} up, {} down, {} suspect. As of {}.</p>)",
      total, v.rows_not_shown > 0 ? fmt::format(" ({} shown)", v.rows.size()) : "",
      count_state(v, "up"), down, count_state(v, "suspect") + count_state(v, "rapid"),
      html_escape(utc_text(v.now_unix)));
  out += "</header>\n";
  pool_section(out, v);
  director_section(out, v);
  guard_section(out, v);
  if (v.ring) ring_section(out, *v.ring);
  events_section(out, v);
  out += "</body></html>\n";
  return out;
}

}  // namespace poolwatch
