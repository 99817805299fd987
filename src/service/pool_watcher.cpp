#include "poolwatch/service/pool_watcher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <set>

#include "poolwatch/common/text.hpp"
#include "poolwatch/health/state_file.hpp"
#include "poolwatch/service/hook_runner.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

std::vector<OwnedHost> load_owned(const std::string& path) {
  if (path.empty()) return {};
  auto loaded = load_state_file(path, unix_now());
  if (!loaded.hosts.empty())
    spdlog::info("state: {} host(s) were taken down by poolwatch before this start ({})",
                 loaded.hosts.size(), path);
  return std::move(loaded.hosts);
}

}  // namespace

PoolWatcher::PoolWatcher(asio::any_io_executor executor, Config config, CredentialStore credentials)
    : executor_(executor),
      config_(std::move(config)),
      credentials_(std::move(credentials)),
      director_(executor, config_.director),
      probes_(executor, config_.probe),
      tracker_(config_.health, seeded_unit_random(std::random_device{}())),
      planner_(config_.actions, config_.dry_run, load_owned(config_.state_file)),
      metrics_(MetricsOptions{config_.metrics.per_backend_latency}),
      ring_(config_.ring.enabled() ? std::make_unique<RingLink>(executor, config_, metrics_)
                                   : nullptr),
      events_(config_.event_log),
      scan_wake_(executor),
      stop_timer_(executor),
      loops_(executor),
      hooks_(executor),
      due_timer_(executor) {
  stop_timer_.expires_at(asio::steady_timer::time_point::max());
  // The daemon logs and exports failure reasons, never transcripts.
  probes_.keep_transcripts(false);
  if (ring_ && ring_->started_without_ownership_file()) ring_->adopt_when_named(planner_.owned());
}

void PoolWatcher::request_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_timer_.cancel();
  scan_wake_.cancel();
  if (ring_) ring_->stop();
  if (passive_) passive_->stop();
  due_timer_.cancel();
  for (auto& [id, probe] : probing_) {
    probe->cancelled = true;
    probe->cancel.emit(asio::cancellation_type::terminal);
  }
}

asio::awaitable<void> PoolWatcher::wait_for_stop() {
  boost::system::error_code ec;
  while (!stopping_) co_await stop_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> PoolWatcher::run() {
  spdlog::info("poolwatch {} watching {} ({} port(s) per backend, interval {:.1f} s{})",
               POOLWATCH_VERSION, config_.director.socket, config_.probe.ports.size(),
               config_.health.interval.count(), config_.dry_run ? ", dry-run" : "");
  spawn_logged(executor_, start_due_probes(), "probe scheduler");
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    scan_started_ = started;
    rescan_requested_ = false;
    const auto ended = co_await (guarded_scan() || end_scan_on_stop());
    if (ended.index() == 0 && std::get<0>(ended)) report_scan_failure(std::get<0>(ended));
    metrics_.scan_duration(std::chrono::steady_clock::now() - started);
    if (stopping_) break;
    next_scan_ =
        rescan_requested_
            ? started + kRescanGap
            : started + std::chrono::duration_cast<SteadyDuration>(config_.health.interval);
    co_await wait_for_next_scan();
  }
  co_await wind_down();
}

// `||` waits for the first side to *succeed*: an exception from scan() would not end
// the race, the loop would sit in it until a stop and the exception would then be
// dropped, leaving the daemon running, not ready, with nothing in the log. So the scan
// hands back what escaped it instead of throwing.
asio::awaitable<std::exception_ptr> PoolWatcher::guarded_scan() {
  std::exception_ptr failure;
  try {
    co_await scan();
  } catch (...) {
    failure = std::current_exception();
  }
  co_return failure;
}

// The loop goes on (the next scan may succeed: the fault may be passing), not ready, and
// says so; the same error again is repeated at most once a minute.
void PoolWatcher::report_scan_failure(std::exception_ptr failure) {
  ready_ = false;
  const auto message = exception_message(failure);
  const auto now = std::chrono::steady_clock::now();
  if (message == last_scan_error_ && now - last_scan_error_logged_ < std::chrono::minutes(1)) {
    spdlog::debug("scan failed by an unexpected error: {}", message);
    return;
  }
  last_scan_error_ = message;
  last_scan_error_logged_ = now;
  spdlog::error(
      "scan failed by an unexpected error: {}; not ready, no actions; retrying every "
      "scan (this line at most once a minute while it repeats)",
      message);
}

Seconds PoolWatcher::director_stop_grace() const {
  return std::min(config_.director.command_timeout, Seconds(10));
}

// Ends a scan as soon as a stop is asked for, unless it is waiting for the director with
// a connection open: the command may be on the wire, and closing before its reply
// crashes directors 2.2.33-2.3.2 and loses whether a HOST-DOWN took effect (the state
// file would not name the host, so after a restart it would pass for an admin's down
// and never come back). That command gets a bounded grace; scan() then records its
// result as usual, and execute() sends nothing after it. A scan still connecting
// (handshake) waits too, at most director.connect_timeout.
asio::awaitable<void> PoolWatcher::end_scan_on_stop() {
  co_await wait_for_stop();
  if (!director_busy_ || !director_.connected()) co_return;
  const Seconds grace = director_stop_grace();
  spdlog::info("stopping: waiting up to {:.1f} s for the director to answer the command in flight",
               grace.count());
  asio::steady_timer timer(executor_);
  timer.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(grace));
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!ec)
    spdlog::warn("stopping: no reply from the director within {:.1f} s; closing the connection",
                 grace.count());
}

asio::awaitable<void> PoolWatcher::wind_down() {
  spdlog::info("stopping: {} probe(s) to end", loops_.count());
  asio::steady_timer grace(executor_);
  grace.expires_after(std::chrono::milliseconds(600));
  if (loops_.count() > 0) co_await (loops_.wait() || grace.async_wait(asio::use_awaitable));
  // request_stop() told the running hooks to end: SIGTERM, SIGKILL after kHookKillGrace.
  if (hooks_.count() > 0) {
    spdlog::info("stopping: {} on_transition hook(s) to end", hooks_.count());
    grace.expires_after(kHookKillGrace + std::chrono::milliseconds(500));
    co_await (hooks_.wait() || grace.async_wait(asio::use_awaitable));
  }
  co_await director_.shutdown(std::chrono::milliseconds(250));
}

// A backend that changed its verdict is acted on at once, not an interval later; the gap
// after the last scan's start keeps a burst of transitions from hammering the director.
// A wake during the wait only brings the next scan forward: cancelling the wait outright
// made every transition a HOST-LIST at once, ~130 a second while the first probes of 1000
// backends came in.
void PoolWatcher::wake_scan() {
  rescan_requested_ = true;
  next_scan_ = std::min(next_scan_, scan_started_ + kRescanGap);
  scan_wake_.cancel();
}

// Until next_scan_, which wake_scan() may bring forward, or a stop.
asio::awaitable<void> PoolWatcher::wait_for_next_scan() {
  while (!stopping_ && std::chrono::steady_clock::now() < next_scan_) {
    scan_wake_.expires_at(next_scan_);
    boost::system::error_code ec;
    co_await scan_wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> PoolWatcher::scan() {
  std::optional<ScopedFlag> busy(std::in_place, director_busy_);
  auto result = co_await director_.host_list();
  busy.reset();
  if (stopping_) co_return;  // answered within the stop grace: nothing more to do
  while (director_.reconnects() > seen_reconnects_) {
    ++seen_reconnects_;
    metrics_.director_reconnect();
  }
  metrics_.director_connected(director_.connected());
  if (!result.pool) {
    spdlog::warn("director: HOST-LIST failed: {}; no actions until it answers", result.error);
    last_host_list_error_ = result.error;
    ready_ = false;
    if (ring_) co_await ring_turn_without_pool(std::move(result.error));
    co_return;
  }
  // Nearly every scan lists the same hosts as the last one: then the pool's metrics are
  // set only where a figure moved, and the tracker's checks and the backends' words
  // stand, so the scan skips the walks of the pool that would change nothing (at 100 000
  // backends each held the loop 50-150 ms every scan).
  log_pool_changes(*result.pool);
  co_await publish_pool(*result.pool);
  if (stopping_) co_return;
  pool_ = std::move(*result.pool);
  ++pool_version_;
  have_pool_ = true;
  ready_ = true;
  last_host_list_unix_ = unix_now();
  last_host_list_error_.clear();
  auto backends = probed_backends(pool_);
  if (checks_dirty_ || backends != probed_) {
    checks_dirty_ = false;
    probed_ = std::move(backends);
    // Each step walks the pool: the loop runs (probes, /healthz, a stop) between them.
    co_await yield_to_loop();
    if (stopping_) co_return;
    co_await sync_checks();
    if (stopping_) co_return;
    co_await publish_backend_states();
    if (stopping_) co_return;
  }
  co_await yield_to_loop();
  if (stopping_) co_return;

  // Alone, each backend's verdict is the tracker's own; in a ring, the ring's.
  std::optional<std::map<IpAddress, BackendVerdict>> ring_verdicts;
  if (ring_) {
    ring_verdicts = co_await ring_turn();
    if (!ring_verdicts || stopping_) co_return;
  }
  const ActionPlanner::VerdictLookup verdict_of =
      [this, &ring_verdicts](const IpAddress& address) -> const BackendVerdict* {
    if (!ring_verdicts) return tracker_.verdict_of(address);
    const auto found = ring_verdicts->find(address);
    return found == ring_verdicts->end() ? nullptr : &found->second;
  };
  planner_before_ = planner_.owned();
  auto plan = co_await plan_in_turns(verdict_of);
  busy.emplace(director_busy_);
  co_await execute(std::move(plan));
  // Every scan, not only on a change: the actor confirms the claims it holds.
  if (ring_) ring_->planner_changed(planner_before_, planner_.owned());
}

asio::awaitable<void> PoolWatcher::yield_to_loop() {
  co_await asio::post(executor_, asio::use_awaitable);
}

std::optional<Account> PoolWatcher::account_for(const IpAddress& a) const {
  if (!config_.probe.login) return std::nullopt;
  return credentials_.account_for(a, a.to_string());
}

void PoolWatcher::log_backend_transition(const BackendTransition& t) {
  const auto address = t.address.to_string();
  if (t.from == Verdict::unknown && t.to == Verdict::up) {
    spdlog::info("backend {}: healthy", address);
  } else {
    spdlog::info("backend {}: {} -> {}: {}", address, to_string(t.from), to_string(t.to), t.reason);
  }
  metrics_.transition(address, to_string(t.from), to_string(t.to));
  note_passive_outcome(t);
  events_.transition(std::chrono::system_clock::now(), address, "", to_string(t.from),
                     to_string(t.to), t.reason);
  if (t.to != Verdict::unknown) wake_scan();
}

}  // namespace poolwatch
