#pragma once
// GET /: the status page an operator glances at, as HAProxy's stats page. One
// self-contained HTML document (inline CSS, no script, no external asset) that refreshes
// itself, fits a phone, and names every state in words so that colour is never the only
// sign. Pure: the daemon fills a StatusPageView, render_status_page() makes the text.
// Every value goes through html_escape(): a backend's reason is text from the network.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/http/status_view.hpp"

namespace poolwatch {

// One row of the pool table: the director's view of a host beside poolwatch's.
struct PoolRowView {
  BackendStatusView backend;   // address, poolwatch's verdict and checks ("" state: not probed)
  std::string director_state;  // "U", "D" or "?" (a director older than 2.2.19)
  std::uint32_t vhosts = 0;
  std::uint32_t users = 0;
  std::string down_by;               // "poolwatch", "administrator" or "" (not down)
  std::int64_t down_since_unix = 0;  // 0: unknown
};

// One line of the event log (transition, action or suppressed action), as kept in memory.
struct PageEventView {
  std::int64_t unix_ms = 0;
  std::string kind;  // "transition", "action", "suppressed"
  std::string backend;
  std::string what;  // "imap:143 up -> down", "HOST-DOWN ok"
  std::string reason;
};

struct StatusPageView {
  std::int64_t now_unix = 0;
  int refresh_seconds = 5;
  bool dry_run = false;
  std::string director_socket;
  bool director_connected = false;
  std::int64_t last_host_list_unix = 0;  // 0: none yet
  std::string last_host_list_error;      // "" when the last HOST-LIST was answered
  bool guard_blocking = false;
  std::string guard_text;  // the guard's limit and what it holds back
  std::vector<PoolRowView> rows;
  std::size_t rows_not_shown = 0;     // a pool larger than the page's cap
  std::vector<PageEventView> events;  // newest first
  std::optional<RingStatusView> ring;
};

// The rows a page shows at most; /status has the whole pool.
inline constexpr std::size_t kStatusPageMaxRows = 500;
// The event lines a page shows.
inline constexpr std::size_t kStatusPageEvents = 50;
// The bytes of one value a page shows; longer text is cut and ends in "...".
inline constexpr std::size_t kStatusPageMaxValue = 400;

// Text made safe as HTML element content and as a quoted attribute value: & < > " ' become
// entities, and control bytes, bidirectional controls and bytes that are not UTF-8 are
// replaced (printable_excerpt). Cut at max_length bytes.
std::string html_escape(std::string_view text, std::size_t max_length = kStatusPageMaxValue);

// "42s ago", "5m ago", "3h ago", "2d ago"; "-" for 0 (unknown).
std::string age_text(std::int64_t since_unix, std::int64_t now_unix);

// "2026-12-02 05:30:12 UTC"; "-" for 0.
std::string utc_text(std::int64_t unix_seconds);

// "cert expires in 9 days (2026-12-11 05:30:12 UTC)", or "cert expired 2 days ago (...)":
// the page's certificate cell and `poolwatch status` say it alike.
std::string cert_expiry_text(std::int64_t expiry_unix, std::int64_t now_unix);

std::string render_status_page(const StatusPageView& view);

}  // namespace poolwatch
