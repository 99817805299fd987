// The pool as HOST-LIST gives it, to the checks that probe it: which backends are
// probed, what joined and left, and starting and stopping their probe loops in turns.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace asio = boost::asio;

// A first scan of 100 000 backends adds 100 000 backends to the tracker and starts their
// probe loops: about 0.5 s in all, so it is done a turn of checks at a time. A stop asked
// between turns leaves the rest undone; their loops would end at once.
asio::awaitable<void> PoolWatcher::sync_checks() {
  std::set<IpAddress> start_down;
  for (const auto& owned : ring_ ? ring_->owned_hosts() : planner_.owned())
    start_down.insert(owned.address);
  auto job = HealthTracker::begin_sync(probed_, config_.probe.ports, std::move(start_down));
  const std::size_t backends_per_turn =
      std::max<std::size_t>(1, kChecksPerTurn / std::max<std::size_t>(1, job.ports.size()));
  while (!job.finished) {
    auto step =
        tracker_.sync_some(job, backends_per_turn, std::chrono::steady_clock::now(), unix_now());
    for (const auto& t : step.transitions) log_backend_transition(t);
    forget_vanished(step.removed);
    // Stopped at once: a loop left running would record a probe of a check that is gone.
    for (const auto& id : step.removed) stop_check(id);
    for (const auto& id : step.added) start_check(id);
    co_await yield_to_loop();
    if (stopping_) co_return;
  }
}

// A port dropped by a reload or a backend held down since before a restart changes the
// word without any probe result: every backend's is published, not only probed ones.
// A page of the tracker at a time: the whole status() of 100 000 backends, copied in one
// step, held the loop as long as the publishing did.
asio::awaitable<void> PoolWatcher::publish_backend_states() {
  std::optional<IpAddress> from;
  for (;;) {
    // One more than a turn publishes: where the next page starts.
    const auto page = tracker_.status(from ? &*from : nullptr, kChecksPerTurn + 1);
    const std::size_t count = std::min(page.size(), kChecksPerTurn);
    for (std::size_t i = 0; i < count; ++i)
      metrics_.backend_state(page[i].address.to_string(), to_string(page[i].state));
    if (page.size() <= kChecksPerTurn) co_return;
    from = page.back().address;
    co_await yield_to_loop();
    if (stopping_) co_return;
  }
}

asio::awaitable<void> PoolWatcher::publish_pool(const PoolSnapshot& fresh) {
  if (have_pool_ && fresh.same_addresses_as(pool_)) {
    metrics_.pool(fresh, &pool_);
    co_return;
  }
  metrics_.pool_totals(fresh);
  std::set<std::string, std::less<>> listed;
  std::size_t done = 0;
  for (const auto& host : fresh.hosts) {
    auto backend = host.address.to_string();
    metrics_.pool_host(host, backend);
    listed.insert(std::move(backend));
    if (++done % kChecksPerTurn != 0) continue;
    co_await yield_to_loop();
    if (stopping_) co_return;
  }
  metrics_.pool_end(std::move(listed));
}

// The log names at most this many hosts per change, then says how many more: a pool of
// 100 000 made a 1.5 MB first line, and a director that lost its list 100 000 lines.
constexpr std::size_t kHostsNamedInTheLog = 20;

void PoolWatcher::log_pool_changes(const PoolSnapshot& fresh) {
  if (!have_pool_) {
    std::string list;
    for (std::size_t i = 0; i < std::min(fresh.hosts.size(), kHostsNamedInTheLog); ++i) {
      if (!list.empty()) list += ' ';
      list += fresh.hosts[i].address.to_string();
      if (fresh.hosts[i].down.value_or(false)) list += "(down)";
    }
    if (fresh.hosts.size() > kHostsNamedInTheLog)
      list += fmt::format(" and {} more", fresh.hosts.size() - kHostsNamedInTheLog);
    spdlog::info("director: pool of {} host(s): {}", fresh.hosts.size(), list);
    return;
  }
  if (fresh.same_addresses_as(pool_)) return;
  std::size_t joined = 0;
  for (const auto& h : fresh.hosts)
    if (!pool_.find(h.address) && ++joined <= kHostsNamedInTheLog)
      spdlog::info("director: host {} joined the pool", h.address.to_string());
  std::size_t left = 0;
  for (const auto& h : pool_.hosts)
    if (!fresh.find(h.address) && ++left <= kHostsNamedInTheLog)
      spdlog::info("director: host {} left the pool; forgetting it", h.address.to_string());
  if (joined > kHostsNamedInTheLog)
    spdlog::info("director: {} more host(s) joined the pool", joined - kHostsNamedInTheLog);
  if (left > kHostsNamedInTheLog)
    spdlog::info("director: {} more host(s) left the pool; forgetting them",
                 left - kHostsNamedInTheLog);
}

void PoolWatcher::forget_vanished(const std::vector<CheckId>& removed) {
  std::set<IpAddress> gone;
  for (const auto& id : removed)
    if (!tracker_.backend_state(id.address)) gone.insert(id.address);
  for (const auto& address : gone) {
    metrics_.forget_backend(address.to_string());
    cert_expiry_.forget(address.to_string());
    if (passive_) passive_->forget(address);
  }
}

std::vector<IpAddress> PoolWatcher::probed_backends(const PoolSnapshot& pool) const {
  std::vector<IpAddress> out;
  for (const auto& h : pool.hosts) {
    if (config_.actions.skip_disabled && h.vhost_count == 0) continue;
    if (!account_for(h.address) && !credentials_.probe_without_account()) continue;
    out.push_back(h.address);
  }
  return out;
}

}  // namespace poolwatch
