// The status page's half of PoolWatcher: what GET / shows, gathered from the tracker,
// the director's last HOST-LIST, the planner (or the ring) and the event log; the HTML
// itself is http/status_page.cpp's.
#include <algorithm>
#include <chrono>
#include <map>

#include "poolwatch/common/text.hpp"
#include "poolwatch/http/status_page.hpp"
#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace {

// The page refreshes about as often as the checks run, within bounds a browser handles.
int refresh_seconds(const HealthConfig& health) {
  const auto interval = static_cast<int>(health.interval.count());
  return std::clamp(interval, 2, 60);
}

PageEventView page_event(const Event& e) {
  PageEventView v;
  v.unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(e.ts.time_since_epoch()).count();
  v.kind = e.event;
  v.backend = e.backend;
  v.reason = e.reason;
  if (e.event == "transition")
    v.what =
        (e.protocol.empty() ? std::string("backend") : e.protocol) + " " + e.from + " -> " + e.to;
  else if (e.event == "action")
    v.what = e.action + " " + e.result;
  else
    v.what = e.action + " not sent";
  return v;
}

// Rows that need a look first (down, suspect, not probed), then the healthy ones, each
// in address order; the page's cap then only ever hides healthy backends first.
void order_and_cap(StatusPageView& view) {
  std::stable_partition(view.rows.begin(), view.rows.end(), [](const PoolRowView& r) {
    return r.backend.state != "up" || r.director_state == "D";
  });
  if (view.rows.size() > kStatusPageMaxRows) {
    view.rows_not_shown = view.rows.size() - kStatusPageMaxRows;
    view.rows.resize(kStatusPageMaxRows);
  }
}

}  // namespace

void PoolWatcher::add_pool_rows(StatusPageView& view) const {
  std::map<IpAddress, OwnedHost> owned;
  for (auto& o : ring_ ? ring_->owned_hosts() : planner_.owned()) owned.emplace(o.address, o);
  std::map<IpAddress, std::size_t> row_of;
  for (const auto& backend : tracker_.status()) {
    row_of.emplace(backend.address, view.rows.size());
    PoolRowView row;
    row.backend = status_view(backend);
    view.rows.push_back(std::move(row));
  }
  // A host the director lists that is not probed (skip_disabled) is shown too.
  for (const auto& host : pool_.hosts) {
    auto [it, added] = row_of.emplace(host.address, view.rows.size());
    if (added) {
      PoolRowView unprobed;
      unprobed.backend.address = host.address.to_string();
      view.rows.push_back(std::move(unprobed));
    }
    auto& row = view.rows[it->second];
    row.director_state = host.down ? (*host.down ? "D" : "U") : "?";
    row.vhosts = host.vhost_count;
    row.users = host.user_count;
  }
  for (auto& row : view.rows) {
    const auto address = IpAddress::parse(row.backend.address);
    const auto held = address ? owned.find(*address) : owned.end();
    if (held != owned.end()) {
      row.down_by = "poolwatch";
      row.down_since_unix = held->second.since;
    } else if (row.director_state == "D") {
      row.down_by = "administrator";
      const auto* host = address ? pool_.find(*address) : nullptr;
      row.down_since_unix = host ? host->last_updown_change.value_or(0) : 0;
    }
  }
}

StatusPageView PoolWatcher::status_page_view() const {
  StatusPageView view;
  view.now_unix = unix_now();
  view.refresh_seconds = refresh_seconds(config_.health);
  view.dry_run = config_.dry_run;
  view.director_socket = config_.director.socket;
  view.director_connected = director_.connected();
  view.last_host_list_unix = last_host_list_unix_;
  view.last_host_list_error = last_host_list_error_;
  view.guard_blocking = guard_log_.blocking();
  view.guard_text = guard_text_;
  add_pool_rows(view);
  order_and_cap(view);
  const auto& recent = events_.recent();
  const auto shown = std::min(recent.size(), kStatusPageEvents);
  for (auto it = recent.rbegin(); it != recent.rbegin() + static_cast<std::ptrdiff_t>(shown); ++it)
    view.events.push_back(page_event(*it));
  view.ring = ring_status();
  return view;
}

BodyWriter PoolWatcher::page_body() const {
  return whole_body(render_status_page(status_page_view()));
}

}  // namespace poolwatch
