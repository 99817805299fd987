#pragma once
// The daemon's heart, on one single-threaded io_context: every interval it reads
// HOST-LIST, keeps one probe coroutine per (backend, port) running on the schedule the
// HealthTracker gives, and reconciles the director with the health verdicts through
// the ActionPlanner, one director command at a time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/credentials.hpp"
#include "poolwatch/director/director_client.hpp"
#include "poolwatch/director/pool.hpp"
#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/health/due_queue.hpp"
#include "poolwatch/health/guard_log.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/health/scan_cap_log.hpp"
#include "poolwatch/http/body_writer.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "poolwatch/http/status_page.hpp"
#include "poolwatch/http/status_view.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/service/cert_expiry_watch.hpp"
#include "poolwatch/service/event_log.hpp"
#include "poolwatch/service/not_run_episode.hpp"
#include "poolwatch/service/passive_link.hpp"
#include "poolwatch/service/ring_link.hpp"
#include "poolwatch/service/spawn.hpp"

namespace poolwatch {

class PoolWatcher {
 public:
  // Throws ConfigError when the probe settings are unusable (TLS CA file, ...).
  PoolWatcher(boost::asio::any_io_executor executor, Config config, CredentialStore credentials);
  PoolWatcher(const PoolWatcher&) = delete;
  PoolWatcher& operator=(const PoolWatcher&) = delete;

  // At most `limit` probes at once, below probe.max_in_flight when the descriptor limit
  // leaves no room for more (see fd_budget.hpp).
  void limit_probes_in_flight(std::size_t limit) { probes_.limit_in_flight(limit); }

  // Runs until request_stop(); returns when every loop has ended (or after a short
  // grace), with the director connection closed. A director command already sent when
  // the stop comes gets director_stop_grace() to be answered and recorded first.
  boost::asio::awaitable<void> run();
  // One scan for --once: reads HOST-LIST, probes every backend and port once, prints
  // the pool and each result. Returns 0 all healthy, 1 some unhealthy, 2 error.
  boost::asio::awaitable<int> run_once(std::ostream& out);
  // No new director command or hook starts from now on; probes, waits and running
  // hooks (SIGTERM, then SIGKILL) are stopped at once.
  void request_stop();
  // min(director.command_timeout, 10 s): how long a stop waits for the reply to a
  // director command in flight before it closes the connection anyway.
  Seconds director_stop_grace() const;

  // SIGHUP: settings that can change at runtime take effect (health, actions,
  // dry_run, credentials); the others are reported as needing a restart.
  void reload(const Config& config);
  void reopen_logs();
  // --debug: a reload keeps the debug level whatever the config says.
  void set_debug(bool debug) { debug_ = debug; }

  bool ready() const { return ready_; }
  // Probe loops running: one per probed backend and port once a scan has started them.
  // The checks being probed or waiting for their next probe.
  std::size_t probed_checks() const { return due_.size() + probing_.size(); }
  // A scan starts new probe loops this many at a time, the loop running between turns:
  // about 3 ms a turn (2000 made turns of 8 ms at 100 000 backends).
  static constexpr std::size_t kChecksPerTurn = 500;
  // A verdict's change brings the next scan forward to this long after the last one began.
  static constexpr std::chrono::milliseconds kRescanGap{500};
  bool stopping() const { return stopping_; }
  std::vector<BackendStatusView> status() const;
  // At most `max` backends from the first whose address is not before *from.
  std::vector<BackendStatusView> status(const IpAddress* from, std::size_t max) const;
  // GET /status and /metrics a slice at a time (http/body_writer.hpp). The writers refer
  // to this watcher: the HTTP server must stop before it is destroyed.
  BodyWriter status_body() const;
  BodyWriter metrics_body() const;
  // GET /, the HTML status page (pool_watcher_page.cpp). Its rows are chosen from the
  // whole pool, hosts_per_slice hosts a slice; the page itself, at most
  // kStatusPageMaxRows backends, is made in the last slice.
  static constexpr std::size_t kPageSliceHosts = 5000;
  BodyWriter page_body(std::size_t hosts_per_slice = kPageSliceHosts) const;
  StatusPageView status_page_view() const;
  // On a ring (ring.peer_port set): the role, the peers and the votes; else nullopt.
  std::optional<RingStatusView> ring_status() const;
  std::string status_summary() const;  // one line for sd_notify STATUS=
  PoolwatchMetrics& metrics() { return metrics_; }
  const PoolwatchMetrics& metrics() const { return metrics_; }
  // passive.enabled: binds the director events endpoint; an error message for startup
  // to report (pool_watcher_passive.cpp). Nothing to do, and nullopt, when disabled.
  std::optional<std::string> start_passive();
  // The endpoint's bound address (tests bind port 0); unspecified when disabled.
  std::optional<boost::asio::ip::tcp::endpoint> passive_endpoint() const;
  const ActionPlanner& planner() const { return planner_; }

 private:
  BackendStatusView status_view(const BackendStatus& backend) const;
  // The status page's pool table (pool_watcher_page.cpp).
  struct PageWalk;
  bool walk_page_hosts(PageWalk& walk, std::size_t max_hosts) const;
  StatusPageView status_page_view(const PageWalk& walk) const;
  void add_pool_rows(StatusPageView& view, const PageWalk& walk) const;
  PoolRowView page_row(const HostEntry& host,
                       const std::map<IpAddress, std::int64_t>& owned_since) const;
  // Lets every other ready handler run before the caller goes on.
  boost::asio::awaitable<void> yield_to_loop();
  boost::asio::awaitable<ActionPlan> plan_in_turns(const ActionPlanner::VerdictLookup& verdict_of);
  static constexpr std::size_t kHostsPerPlanTurn = 2000;  // about 2 ms a turn

  // A probe being run; cancelled when its check stops (the backend left, a reload
  // dropped the port, poolwatch stops), and then its outcome is dropped.
  struct RunningProbe {
    boost::asio::cancellation_signal cancel;
    bool cancelled = false;
  };
  // Completion of a probe: logs an escaped exception, queues the check's next probe.
  struct ProbeDone {
    PoolWatcher* watcher;
    CheckId id;
    std::shared_ptr<RunningProbe> probe;
    void operator()(std::exception_ptr e) const;
  };

  // Completion of an on_transition hook run: logs an escaped exception, counts it ended.
  struct HookDone {
    PoolWatcher* watcher;
    void operator()(std::exception_ptr e) const;
  };

  boost::asio::awaitable<void> scan();
  // scan(), with an exception it let out returned rather than thrown.
  boost::asio::awaitable<std::exception_ptr> guarded_scan();
  void report_scan_failure(std::exception_ptr failure);
  boost::asio::awaitable<void> wait_for_stop();
  boost::asio::awaitable<void> end_scan_on_stop();
  boost::asio::awaitable<void> wind_down();
  // The one loop that starts every probe, when its check is due (pool_watcher_probes.cpp).
  boost::asio::awaitable<void> start_due_probes();
  void start_probe(const CheckId& id);
  boost::asio::awaitable<void> probe_check(CheckId id, std::shared_ptr<RunningProbe> probe);
  void probe_ended(const CheckId& id, const RunningProbe& probe, std::exception_ptr failure);
  // Queues a check for its next probe, waking start_due_probes() if it is the earliest.
  void queue_check(const CheckId& id, SteadyTime due);
  void after_probe(const CheckId& id, const ProbePlan& plan, const std::string& address,
                   const ProbeOutcome& outcome);
  boost::asio::awaitable<void> once_probe(std::size_t index);
  void start_check(const CheckId& id);
  void stop_check(const CheckId& id);
  void wake_checks();
  void log_pool_changes(const PoolSnapshot& fresh);
  // The tracker's checks to probed_ and the configured ports; the probe loops start and
  // stop kChecksPerTurn at a time with the loop running between turns.
  boost::asio::awaitable<void> sync_checks();
  // Every backend's word to the metrics, kChecksPerTurn at a time.
  boost::asio::awaitable<void> publish_backend_states();
  // The director's view of the pool to the metrics: in turns of kChecksPerTurn hosts
  // when its addresses changed (the first scan: all of them), else in one pass that sets
  // only the figures that moved.
  boost::asio::awaitable<void> publish_pool(const PoolSnapshot& fresh);
  // Drops the metrics of backends no longer probed at all.
  void forget_vanished(const std::vector<CheckId>& removed);
  std::vector<IpAddress> probed_backends(const PoolSnapshot& pool) const;
  std::optional<Account> account_for(const IpAddress& a) const;
  // `address`: id.address as text, made once per check loop rather than per probe.
  void on_record(const CheckId& id, const std::string& address, const ProbeOutcome& outcome,
                 const RecordResult& r);
  // Logs the start and the end of an episode of probes poolwatch could not run.
  void report_not_run(const ProbeOutcome& outcome);
  // Exports a TLS probe's certificate expiry and logs when it comes within two weeks.
  void note_cert_expiry(const CheckId& id, const std::string& address, std::int64_t not_after);
  void log_backend_transition(const BackendTransition& t);
  void wake_scan();
  boost::asio::awaitable<void> wait_for_next_scan();

  // The ring (ring.peer_port set): this instance's vote on every backend it probes, and
  // the step that says whether it may act and with which verdicts.
  std::vector<ring::BackendReport> local_votes() const;
  boost::asio::awaitable<std::optional<std::map<IpAddress, BackendVerdict>>> ring_turn();
  boost::asio::awaitable<void> ring_turn_without_pool(std::string error);
  bool held_by_poolwatch(const IpAddress& address) const;

  // Passive health (pool_watcher_passive.cpp): a suspicion from the director's events
  // makes the backend's checks suspect now; a down that followed one is measured.
  void on_passive_suspicion(const IpAddress& address, const passive::Suspicion& suspicion);
  void note_passive_outcome(const BackendTransition& t);

  // Actions (pool_watcher_actions.cpp).
  boost::asio::awaitable<void> execute(ActionPlan plan);
  void report_suppressed(const ActionPlan& plan);
  // The planner's owned set may have changed: the ring's shared set follows, then the
  // state file.
  void ownership_changed();
  void save_state();
  void run_hook(std::string_view event, const IpAddress& a, const std::string& reason);
  boost::asio::awaitable<void> hook(std::string event, std::string address, std::string reason);

  boost::asio::any_io_executor executor_;
  Config config_;
  CredentialStore credentials_;
  DirectorClient director_;
  ProbeRunner probes_;
  HealthTracker tracker_;
  ActionPlanner planner_;
  GuardLog guard_log_;       // the pool guard's log lines: a change, or a summary a minute
  ScanCapLog scan_cap_log_;  // the same for the actions max_actions_per_scan postponed
  PoolwatchMetrics metrics_;
  std::unique_ptr<RingLink> ring_;        // set when ring.peer_port is
  std::unique_ptr<PassiveLink> passive_;  // set when passive.enabled is
  // Backends a passive signal made suspect: when its first fault came.
  std::map<IpAddress, std::chrono::steady_clock::time_point> passive_suspects_;
  // The planner's owned set when the ring last followed it.
  std::vector<OwnedHost> planner_before_;
  EventLog events_;
  NotRunEpisode not_run_;
  CertExpiryWatch cert_expiry_;
  boost::asio::steady_timer scan_wake_;
  boost::asio::steady_timer stop_timer_;
  WaitGroup loops_;
  WaitGroup hooks_;

  DueQueue due_;                                              // checks waiting to be probed
  std::map<CheckId, std::shared_ptr<RunningProbe>> probing_;  // checks being probed
  boost::asio::steady_timer due_timer_;                       // start_due_probes() sleeps on it
  PoolSnapshot pool_;
  std::uint64_t pool_version_ = 0;  // a new pool_ each time: a page's walk starts again
  bool have_pool_ = false;
  // The backends the tracker's checks were last synced to, and whether they or their
  // ports may differ from those checks although the pool is the same (a reload).
  std::vector<IpAddress> probed_;
  bool checks_dirty_ = true;
  bool ready_ = false;
  bool stopping_ = false;
  bool rescan_requested_ = false;
  // The running scan's start, and when the next may start (wake_scan() brings it forward).
  SteadyTime scan_started_{};
  SteadyTime next_scan_{};
  // scan() is waiting for the director (HOST-LIST, or execute()'s commands).
  bool director_busy_ = false;
  bool debug_ = false;
  std::uint64_t seen_reconnects_ = 0;
  std::string last_scan_error_;
  // For the status page: when HOST-LIST was last answered, why the last one failed ("" if
  // it did not), and the pool guard's word on the last plan.
  std::int64_t last_host_list_unix_ = 0;
  std::string last_host_list_error_;
  std::string guard_text_;
  std::chrono::steady_clock::time_point last_scan_error_logged_{};

  struct OnceResult {
    ProbeTarget target;
    ProbeOutcome outcome;
  };
  std::vector<OnceResult> once_results_;
};

}  // namespace poolwatch
