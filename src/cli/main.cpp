// poolwatch: keeps a Dovecot director's backend pool healthy.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <iostream>
#include <sstream>
#include <vector>

#include "poolwatch/cli/cli.hpp"
#include "poolwatch/cli/dovecot_config_command.hpp"
#include "poolwatch/cli/probe_command.hpp"
#include "poolwatch/cli/status_command.hpp"
#include "poolwatch/config/credentials.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/service/daemonize.hpp"
#include "poolwatch/service/fd_budget.hpp"
#include "poolwatch/service/logging.hpp"
#include "poolwatch/service/pidfile.hpp"
#include "poolwatch/service/pool_watcher.hpp"
#include "poolwatch/service/sd_notify.hpp"
#include "poolwatch/service/spawn.hpp"

namespace asio = boost::asio;
using namespace poolwatch;

namespace {

struct Daemon {
  PoolWatcher& watcher;
  HttpServer* http;
  const SdNotifier& notifier;
  std::vector<std::string> argv;  // to re-read the config with the same overrides on HUP
  // Once a second, or at half of systemd's WatchdogSec when that is shorter.
  std::chrono::microseconds housekeeping_period = std::chrono::seconds(1);
  asio::steady_timer* housekeeping_tick = nullptr;  // cancelled on stop: exit at once
  bool watchdog = false;  // WATCHDOG_USEC set, and WATCHDOG_PID unset or ours
};

std::chrono::microseconds housekeeping_period(std::optional<std::chrono::microseconds> watchdog) {
  const std::chrono::microseconds second = std::chrono::seconds(1);
  if (!watchdog) return second;
  return std::clamp(*watchdog / 2, std::chrono::microseconds(1000), second);
}

// Readiness for /readyz and systemd, the STATUS= line and the watchdog.
asio::awaitable<void> housekeeping(Daemon& d) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  d.housekeeping_tick = &tick;
  bool told_ready = false;
  std::string last_status;
  while (!d.watcher.stopping()) {
    if (d.http) d.http->set_ready(d.watcher.ready());
    if (d.watcher.ready() && !told_ready) {
      told_ready = true;
      d.notifier.ready(d.watcher.status_summary());
    }
    if (auto s = d.watcher.status_summary(); s != last_status) {
      d.notifier.status(s);
      last_status = std::move(s);
    }
    if (d.watchdog) d.notifier.watchdog();
    tick.expires_after(d.housekeeping_period);
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  d.housekeeping_tick = nullptr;
}

void reload(Daemon& d) {
  d.notifier.reloading();
  std::vector<const char*> argv;
  for (const auto& a : d.argv) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto parsed = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  if (auto* options = std::get_if<CliOptions>(&parsed)) {
    d.watcher.reload(options->config);
  } else {
    auto message = err.str();
    while (!message.empty() && message.back() == '\n') message.pop_back();
    spdlog::error("config reload failed, keeping the running config: {}", message);
  }
  d.watcher.reopen_logs();
  d.notifier.ready(d.watcher.status_summary());
}

asio::awaitable<void> signal_loop(Daemon& d) {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM, SIGQUIT);
  signals.add(SIGHUP);
  while (!d.watcher.stopping()) {
    boost::system::error_code ec;
    const int sig = co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading config and credentials, reopening logs");
      reload(d);
      continue;
    }
    spdlog::info("signal {}: shutting down", sig);
    d.notifier.stopping();
    d.watcher.request_stop();
  }
}

asio::awaitable<void> daemon_main(Daemon& d) {
  co_await d.watcher.run();
  if (d.http) d.http->stop();
  if (d.housekeeping_tick) d.housekeeping_tick->cancel();
}

int run_daemon(const CliOptions& options, int argc, char** argv) {
  const bool interactive = options.foreground || options.once || options.debug;
  // Credentials first: a refused file is reported on the terminal, not in a daemon log.
  auto credentials = CredentialStore::load(options.config.credentials);
  Pidfile pidfile;
  if (!options.once && !options.config.pidfile.empty()) {
    try {
      pidfile = Pidfile::acquire(options.config.pidfile);
    } catch (const PidfileError& e) {
      std::cerr << "poolwatch: " << e.what() << "\n";
      return 1;
    }
  }
  if (!interactive) daemonize(pidfile.held() ? &pidfile : nullptr);
  LogConfig log = options.config.log;
  if (options.once && !options.debug) log.level = "warn";  // stdout carries the report
  setup_logging(log, interactive, options.debug);
  for (const auto& warning : options.warnings) spdlog::warn("dovemon config: {}", warning);
  if (const auto stale = pidfile.stale_pid())
    spdlog::info("pidfile {}: taken over from pid {}, which is gone", pidfile.path(), *stale);

  // After the log is set up, which says what the descriptor limit allows.
  const std::size_t probes_at_once = apply_fd_budget(options.config.probe.max_in_flight);
  // One thread runs the loop and every operation on its sockets and timers, so the
  // reactor's lock per descriptor is not needed (0.4k instructions a probe). The scheduler
  // keeps its lock: a TLS probe's PTR lookup completes from the resolver's own thread.
  asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  PoolWatcher watcher(io.get_executor(), options.config, std::move(credentials));
  watcher.limit_probes_in_flight(probes_at_once);
  watcher.set_debug(options.debug);

  if (options.once) {
    int code = 2;
    asio::co_spawn(io, watcher.run_once(std::cout), [&](std::exception_ptr e, int c) {
      if (e) spdlog::error("scan failed unexpectedly");
      code = e ? 2 : c;
    });
    io.run();
    return code;
  }

  std::unique_ptr<HttpServer> http;
  if (options.config.http.enabled) {
    HttpHandlers handlers;
    handlers.metrics = [&watcher] { return watcher.metrics_body(); };
    handlers.status = [&watcher] { return watcher.status_body(); };
    handlers.page = [&watcher] { return watcher.page_body(); };
    http = std::make_unique<HttpServer>(io.get_executor(), options.config.http, handlers);
    if (auto ec = http->start())
      throw ConfigError("http.listen " + options.config.http.listen + ": " + ec.message());
    spdlog::info("http: metrics and status on {}", options.config.http.listen);
  }

  if (auto problem = watcher.start_passive())
    throw ConfigError("passive.listen " + options.config.passive.listen + ": " + *problem);

  const auto notifier = SdNotifier::from_environment();
  Daemon d{watcher, http.get(), notifier, std::vector<std::string>(argv, argv + argc)};
  // After daemonize: WATCHDOG_PID, when set, names the process systemd watches.
  const auto watchdog = watchdog_interval();
  d.watchdog = watchdog.has_value();
  d.housekeeping_period = housekeeping_period(watchdog);
  spawn_logged(io.get_executor(), signal_loop(d), "signal handler");
  spawn_logged(io.get_executor(), housekeeping(d), "housekeeping");
  spawn_logged(io.get_executor(), daemon_main(d), "scan loop");
  io.run();
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that resets a connection must show up as an error_code, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  auto parsed = parse_command_line(argc, argv, std::cout, std::cerr);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const auto& options = std::get<CliOptions>(parsed);
  try {
    switch (options.command) {
      case Command::probe:
        return run_probe_command(options, std::cout, std::cerr);
      case Command::status: {
        StatusCommandOptions status{options.status.url, options.status.json, options.config.http};
        status.watch = options.status.watch;
        status.watch_interval = std::chrono::milliseconds(
            static_cast<std::int64_t>(options.status.interval_seconds * 1000));
        return run_status_command(status, std::cout, std::cerr);
      }
      case Command::dovecot_config:
        return print_dovecot_config(options.config.passive, std::cout, std::cerr);
      case Command::run:
        return run_daemon(options, argc, argv);
    }
  } catch (const ConfigError& e) {
    std::cerr << "poolwatch: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "poolwatch: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
