// The status page's half of PoolWatcher: what GET / shows, gathered from the tracker,
// the director's last HOST-LIST, the planner (or the ring) and the event log; the HTML
// itself is http/status_page.cpp's.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

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

// A host needs a look when poolwatch does not call it up, or the director lists it down.
bool needs_a_look(const HostEntry& host, const std::optional<CheckState>& state) {
  return state != CheckState::up || host.down.value_or(false);
}

}  // namespace

// The rows of one page, chosen from the director's list as it was when the walk began.
struct PoolWatcher::PageWalk {
  std::uint64_t pool_version = 0;
  std::size_t next = 0;                  // the next host of pool_.hosts to look at
  std::vector<std::size_t> first, then;  // indexes into pool_.hosts: needing a look, healthy
};

// The rows shown are chosen before any is made: those that need a look first, then the
// healthy ones, each in the director's order, up to kStatusPageMaxRows. That costs a
// state lookup per host, 10-20 ms at 100 000 hosts, so it is done max_hosts hosts at a
// time; a new HOST-LIST meanwhile starts the walk again. True once every host was seen.
bool PoolWatcher::walk_page_hosts(PageWalk& walk, std::size_t max_hosts) const {
  if (walk.pool_version != pool_version_) walk = PageWalk{pool_version_, 0, {}, {}};
  const auto end = std::min(pool_.hosts.size(), walk.next + max_hosts);
  for (; walk.next < end; ++walk.next) {
    const auto& host = pool_.hosts[walk.next];
    auto& list = needs_a_look(host, tracker_.backend_state(host.address)) ? walk.first : walk.then;
    if (list.size() < kStatusPageMaxRows) list.push_back(walk.next);
  }
  return walk.next >= pool_.hosts.size();
}

PoolRowView PoolWatcher::page_row(const HostEntry& host,
                                  const std::map<IpAddress, std::int64_t>& owned_since) const {
  PoolRowView row;
  const auto status = tracker_.status(&host.address, 1);
  if (!status.empty() && status.front().address == host.address)
    row.backend = status_view(status.front());
  else
    row.backend.address = host.address.to_string();  // not probed (skip_disabled)
  row.director_state = host.down ? (*host.down ? "D" : "U") : "?";
  row.vhosts = host.vhost_count;
  row.users = host.user_count;
  if (const auto held = owned_since.find(host.address); held != owned_since.end()) {
    row.down_by = "poolwatch";
    row.down_since_unix = held->second;
  } else if (host.down.value_or(false)) {
    row.down_by = "administrator";
    row.down_since_unix = host.last_updown_change.value_or(0);
  }
  return row;
}

void PoolWatcher::add_pool_rows(StatusPageView& view, const PageWalk& walk) const {
  std::map<IpAddress, std::int64_t> owned_since;
  for (const auto& o : ring_ ? ring_->owned_hosts() : planner_.owned())
    owned_since.emplace(o.address, o.since);
  auto shown = walk.first;
  shown.insert(shown.end(), walk.then.begin(), walk.then.end());
  shown.resize(std::min(shown.size(), kStatusPageMaxRows));
  view.rows_not_shown = pool_.hosts.size() - shown.size();
  for (const auto index : shown) view.rows.push_back(page_row(pool_.hosts[index], owned_since));
}

StatusPageView PoolWatcher::status_page_view() const {
  PageWalk walk;
  walk_page_hosts(walk, pool_.hosts.size());
  return status_page_view(walk);
}

StatusPageView PoolWatcher::status_page_view(const PageWalk& walk) const {
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
  add_pool_rows(view, walk);
  const auto& recent = events_.recent();
  const auto shown = std::min(recent.size(), kStatusPageEvents);
  for (auto it = recent.rbegin(); it != recent.rbegin() + static_cast<std::ptrdiff_t>(shown); ++it)
    view.events.push_back(page_event(*it));
  view.ring = ring_status();
  return view;
}

BodyWriter PoolWatcher::page_body(std::size_t hosts_per_slice) const {
  auto walk = std::make_shared<PageWalk>();
  return [this, walk, hosts_per_slice](std::string& body) {
    if (!walk_page_hosts(*walk, std::max<std::size_t>(hosts_per_slice, 1))) return false;
    body += render_status_page(status_page_view(*walk));
    return true;
  };
}

}  // namespace poolwatch
