// What a large pool costs the event loop (issue 13, item 1).
// Usage: pool_scale [HOSTS] [SECONDS] [INTERVAL]   (INTERVAL: health.interval in s, 5)
// Part 1 times the per-probe and per-scan steps on their own, in-process: the metrics
// calls made per probe result, the pool's lookups, the tracker's sync, the planner, and
// one render of /metrics and /status. A step that was quadratic is cut off after a
// budget and extrapolated from what it did by then (marked "~").
// Part 2 runs the real PoolWatcher against the fake director serving HOSTS hosts (on
// 127.64.0.0/10, where nothing listens: every probe is refused at once) for SECONDS and
// prints the longest stall of the loop seen by a 5 ms ticker, the HOST-LISTs answered,
// the longest /healthz answer while it ran, GET /metrics, /status and / over HTTP (made a
// slice at a time, interleaved with the probes), and how long a stop asked during a GET
// /metrics took.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "poolwatch/config/credentials.hpp"
#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/health/due_queue.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "poolwatch/http/status_view.hpp"
#include "poolwatch/service/pool_watcher.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/lab_network.hpp"

using namespace poolwatch;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

IpAddress address_of(std::size_t i) {
  // 127.64.0.1 upwards: loopback, away from the tests' 127.0.x addresses.
  const auto n = static_cast<unsigned>(i + 1);
  return make_ip_address(fmt::format("127.{}.{}.{}", 64 + (n >> 16), (n >> 8) & 255, n & 255));
}

std::vector<HostEntry> pool_of(std::size_t hosts) {
  std::vector<HostEntry> out;
  for (std::size_t i = 0; i < hosts; ++i)
    out.push_back(HostEntry{address_of(i), 100, 3, "", false, 0});
  return out;
}

// Runs step(i) for i in [0, n) until the budget is spent; prints the whole or an
// extrapolation of it.
void timed_loop(const char* what, std::size_t n, const std::function<void(std::size_t)>& step,
                double budget_ms = 20000) {
  const auto start = Clock::now();
  std::size_t done = 0;
  while (done < n) {
    step(done++);
    if ((done & 63) == 0 && ms_since(start) > budget_ms) break;
  }
  const double took = ms_since(start);
  if (done == n)
    std::printf("  %-44s %10.1f ms  (%.2f us each)\n", what, took,
                1000 * took / static_cast<double>(n));
  else
    std::printf("  %-44s ~%9.0f ms  (cut off after %zu of %zu: %.2f us each at the end)\n", what,
                took * static_cast<double>(n) / static_cast<double>(done), done, n,
                1000 * took / static_cast<double>(done));
}

void components(std::size_t hosts) {
  std::printf("components, %zu hosts\n", hosts);
  PoolSnapshot pool;
  pool.hosts = pool_of(hosts);
  std::vector<std::string> names;
  for (const auto& h : pool.hosts) names.push_back(h.address.to_string());

  PoolwatchMetrics metrics;
  auto start = Clock::now();
  metrics.pool(pool);
  std::printf("  %-44s %10.1f ms\n", "metrics.pool(snapshot), first", ms_since(start));
  timed_loop("metrics.probe_result, each backend", hosts, [&](std::size_t i) {
    metrics.probe_result(names[i], Protocol::imap, FailureClass::connect_refused,
                         std::chrono::milliseconds(3));
  });
  timed_loop("metrics.backend_state, each backend", hosts,
             [&](std::size_t i) { metrics.backend_state(names[i], "suspect"); });
  timed_loop("metrics.backend_state, again (series exist)", hosts,
             [&](std::size_t i) { metrics.backend_state(names[i], "down"); });
  start = Clock::now();
  const auto text = metrics.render();
  std::printf("  %-44s %10.1f ms  (%zu bytes)\n", "render /metrics", ms_since(start), text.size());
  PoolSnapshot fewer;
  fewer.hosts.assign(pool.hosts.begin() + static_cast<std::ptrdiff_t>(hosts / 10),
                     pool.hosts.end());
  start = Clock::now();
  metrics.pool(fewer);
  std::printf("  %-44s %10.1f ms\n", "metrics.pool, a tenth of the hosts gone", ms_since(start));

  std::size_t found = 0;
  timed_loop("PoolSnapshot::find, each host", hosts, [&](std::size_t i) {
    found += pool.find(pool.hosts[hosts - 1 - i].address) != nullptr;
  });

  HealthConfig health;
  HealthTracker tracker(health, seeded_unit_random(1));
  std::vector<IpAddress> addresses;
  for (const auto& h : pool.hosts) addresses.push_back(h.address);
  const std::vector<PortSpec> ports{PortSpec{Protocol::imap, 143, TlsMode::plain}};
  start = Clock::now();
  auto sync = tracker.sync(addresses, ports, {}, Clock::now(), 0);
  std::printf("  %-44s %10.1f ms\n", "tracker.sync, all new", ms_since(start));
  const auto added = sync.added;
  start = Clock::now();
  sync = tracker.sync(addresses, ports, {}, Clock::now(), 0);
  std::printf("  %-44s %10.1f ms\n", "tracker.sync, unchanged", ms_since(start));
  // A reload (SIGHUP) applies the health settings to every check and plans each queued
  // check again: each one step of the loop today.
  DueQueue due;
  for (const auto& id : added) due.schedule(id, tracker.plan(id).due);
  HealthConfig reloaded = health;
  reloaded.interval = Seconds(5);
  start = Clock::now();
  tracker.set_config(reloaded, Clock::now());
  std::printf("  %-44s %10.1f ms\n", "tracker.set_config (a reload)", ms_since(start));
  start = Clock::now();
  due.reschedule_all([&](const CheckId& id) { return tracker.plan(id).due; });
  std::printf("  %-44s %10.1f ms\n", "due queue rescheduled (a reload)", ms_since(start));
  // What each probe asks of the tracker and the queue (its plan, its record, the
  // backend's state, its next due time), in due order as the probes run: lookups scattered
  // over the whole pool, whose cache misses grow with it.
  const auto in_due_order = due.take_due(SteadyTime::max(), added.size());
  const ProbeOutcome ok;
  std::size_t tracked = 0;
  timed_loop("a probe's lookups (tracker, due queue)", in_due_order.size(), [&](std::size_t i) {
    const CheckId& id = in_due_order[i];
    tracker.record(id, ok, tracker.plan(id).due, 0);  // the probe ran when it was due
    tracked += tracker.backend_state(id.address).has_value();
    if (const auto* next = tracker.plan_if_tracked(id)) due.schedule(id, next->due);
  });
  if (tracked != in_due_order.size())
    std::printf("  (state missed %zu checks)\n", in_due_order.size() - tracked);
  start = Clock::now();
  const auto statuses = tracker.status();
  std::printf("  %-44s %10.1f ms\n", "tracker.status", ms_since(start));

  ActionPlanner planner(ActionConfig{}, false);
  start = Clock::now();
  auto plan = planner.plan(pool, tracker.verdicts());
  std::printf("  %-44s %10.1f ms\n", "planner.plan (verdicts unknown)", ms_since(start));

  std::vector<BackendStatusView> views;
  for (const auto& s : statuses) {
    BackendStatusView v;
    v.address = s.address.to_string();
    v.state = "pending";
    v.checks.push_back(CheckStatusView{"imap:143", "pending", 0, "", 0, ""});
    views.push_back(std::move(v));
  }
  start = Clock::now();
  const auto json = to_json(views);
  std::printf("  %-44s %10.1f ms  (%zu bytes)\n", "render /status JSON from views", ms_since(start),
              json.size());
  if (found != hosts) std::printf("  (find missed %zu hosts)\n", hosts - found);
}

struct LoopFigures {
  double max_stall_ms = 0;
  double max_stall_after_first_scan_ms = 0;  // the first scan starts every check at once
  Clock::time_point ready_at{};
  bool stop = false;
};

constexpr double kReportedStallMs = 10;

asio::awaitable<void> stall_meter(LoopFigures& figures, const PoolWatcher& watcher) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  const auto period = std::chrono::milliseconds(5);
  while (!figures.stop) {
    const auto due = Clock::now() + period;
    tick.expires_at(due);
    co_await tick.async_wait(asio::use_awaitable);
    if (figures.stop) break;  // the stop's own work is timed apart, not counted as a stall
    const double late = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
    if (late > figures.max_stall_ms) figures.max_stall_ms = late;
    // On the monotonic clock, to find the step in `perf record -k CLOCK_MONOTONIC`.
    if (late > kReportedStallMs)
      std::fprintf(stderr, "stall %.1f ms, from %.6f s\n", late,
                   std::chrono::duration<double>(due.time_since_epoch()).count());
    if (figures.ready_at != Clock::time_point{} &&
        Clock::now() - figures.ready_at > std::chrono::seconds(2))
      figures.max_stall_after_first_scan_ms = std::max(figures.max_stall_after_first_scan_ms, late);
    if (watcher.ready() && figures.ready_at == Clock::time_point{}) figures.ready_at = Clock::now();
  }
}

// GETs `target` from the daemon's HTTP endpoint; the time it took.
double timed_get(unsigned short port, const std::string& target, std::size_t& bytes) {
  const auto at = Clock::now();
  const auto reply = test::http_get("127.0.0.1", port, target, {}, std::chrono::seconds(300));
  bytes = reply.status == 200 ? reply.body.size() : 0;
  return ms_since(at);
}

// Polls /healthz until told to stop: the longest answer seen.
void healthz_poller(unsigned short port, const std::atomic<bool>& stop, double& longest_ms) {
  while (!stop) {
    std::size_t bytes = 0;
    longest_ms = std::max(longest_ms, timed_get(port, "/healthz", bytes));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// What GET / holds the loop for: choosing the page's rows in one step, as the page was
// made until 2026-12-02, against the longest slice of its writer now. Measured on the
// loop, the slices back to back, which is a stall of its own: the loop's figures so far
// are taken first.
struct PageFigures {
  LoopFigures loop_before;
  double one_step_ms = 0;
  double longest_slice_ms = 0;
  std::size_t slices = 0;
};

PageFigures page_figures(asio::io_context& io, const PoolWatcher& watcher,
                         const LoopFigures& loop) {
  std::promise<PageFigures> done;
  asio::post(io, [&watcher, &done, &loop] {
    PageFigures f;
    f.loop_before = loop;
    auto start = Clock::now();
    (void)watcher.status_page_view();
    f.one_step_ms = ms_since(start);
    const auto writer = watcher.page_body();
    std::string body;
    for (bool complete = false; !complete; ++f.slices) {
      start = Clock::now();
      complete = writer(body);
      f.longest_slice_ms = std::max(f.longest_slice_ms, ms_since(start));
    }
    done.set_value(f);
  });
  return done.get_future().get();
}

// interval: at 5 s and 100 000 hosts the loop is saturated by probes alone, and the
// ticker then measures the queue behind them; a longer one shows the longest single step.
void daemon(std::size_t hosts, int seconds, double interval) {
  std::printf("daemon against the fake director, %zu hosts, %d s, interval %.0f s\n", hosts,
              seconds, interval);
  testing::FakeDirector director(pool_of(hosts));
  Config config;
  config.director = director.client_config();
  config.director.command_timeout = Seconds(30);
  config.probe.ports = {PortSpec{Protocol::imap, 1, TlsMode::plain}};  // refused
  config.probe.login = false;
  config.health.interval = Seconds(interval);
  config.dry_run = true;  // the figures are the loop's, not the director's commands

  asio::io_context io(1);
  PoolWatcher watcher(io.get_executor(), config, CredentialStore{});
  HttpHandlers handlers;
  handlers.metrics = [&watcher] { return watcher.metrics_body(); };
  handlers.status = [&watcher] { return watcher.status_body(); };
  handlers.page = [&watcher] { return watcher.page_body(); };
  HttpServer http(io.get_executor(), HttpConfig{true, "127.0.0.1:0"}, handlers);
  if (http.start()) return;
  const auto port = http.local_endpoint().port();
  LoopFigures figures;
  const auto started = Clock::now();
  asio::co_spawn(io, watcher.run(), [](std::exception_ptr) {});
  asio::co_spawn(io, stall_meter(figures, watcher), [](std::exception_ptr) {});
  std::thread loop([&io] { io.run(); });

  std::atomic<bool> stop_polling{false};
  double healthz_ms = 0;
  std::thread poller(healthz_poller, port, std::cref(stop_polling), std::ref(healthz_ms));
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  std::size_t metrics_bytes = 0, status_bytes = 0;
  const double metrics_ms = timed_get(port, "/metrics", metrics_bytes);
  const double status_ms = timed_get(port, "/status", status_bytes);
  std::size_t page_bytes = 0;
  const double page_ms = timed_get(port, "/", page_bytes);
  stop_polling = true;
  poller.join();
  const auto page = page_figures(io, watcher, figures);

  // A stop asked while a /metrics is being made must not wait for it.
  std::size_t ignored = 0;
  std::thread scrape([port, &ignored] { timed_get(port, "/metrics", ignored); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto asked = Clock::now();
  asio::post(io, [&] {
    figures.stop = true;
    http.stop();
    watcher.request_stop();
  });
  loop.join();
  const double stop_ms = ms_since(asked);
  scrape.join();

  std::printf("  %-44s %10.1f ms\n", "longest loop stall (5 ms ticker)",
              page.loop_before.max_stall_ms);
  std::printf("  %-44s %10.1f ms\n", "  from 2 s after ready on",
              page.loop_before.max_stall_after_first_scan_ms);
  if (figures.ready_at != Clock::time_point{})
    std::printf("  %-44s %10.1f ms\n", "ready after",
                std::chrono::duration<double, std::milli>(figures.ready_at - started).count());
  else
    std::printf("  %-44s %10s\n", "ready after", "never");
  std::printf("  %-44s %10zu\n", "HOST-LISTs answered", test::count_host_lists(director));
  std::printf("  %-44s %10.1f ms\n", "longest /healthz answer meanwhile", healthz_ms);
  std::printf("  %-44s %10.1f ms  (%zu bytes)\n", "GET /metrics", metrics_ms, metrics_bytes);
  std::printf("  %-44s %10.1f ms  (%zu bytes)\n", "GET /status", status_ms, status_bytes);
  std::printf("  %-44s %10.1f ms  (%zu bytes)\n", "GET / (the status page)", page_ms, page_bytes);
  std::printf("  %-44s %10.1f ms\n", "  its rows chosen in one step", page.one_step_ms);
  std::printf("  %-44s %10.1f ms  (%zu slices)\n", "  its longest slice", page.longest_slice_ms,
              page.slices);
  std::printf("  %-44s %10.1f ms\n", "stop during a GET /metrics took", stop_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t hosts = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  const double interval = argc > 3 ? std::atof(argv[3]) : 5;
  spdlog::set_level(spdlog::level::warn);  // a line per backend would measure the terminal
  components(hosts);
  // The daemon's per-scan warnings (HOST-DOWNs postponed by max_actions_per_scan for
  // every refused host) would measure the terminal too.
  spdlog::set_level(spdlog::level::err);
  if (seconds > 0) daemon(hosts, seconds, interval);
  return 0;
}
