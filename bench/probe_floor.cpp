// poolwatch's CPU per probe against the floor measured in the same run (issue 15).
// Usage (in a network namespace of its own):
//   unshare --net sh -c 'ip link set lo up && exec build/bench/probe_floor [N...]'
// For each N (default 200 1000 2000 10000): child processes play N backends on
// 127.64.0.1 upwards with IMAP, POP3 and LMTP listeners; the fake director (in-process)
// lists them; the real poolwatch binary runs against them in dry-run, greeting only,
// timeout 5 s, interval 5 s (10 s from N = 10 000). After a scan of warm-up its CPU
// (utime+stime from /proc) is taken over two intervals and divided by the probes the fake
// backends accepted meanwhile; its RSS and one GET /metrics (time, size) are taken at
// the end. Then the floor runs at the same rate for as long: the same connects and
// dialogues from one thread of this process with epoll and nothing else, once as poolwatch
// talks (greeting, LOGOUT/QUIT/LHLO) and once greeting only; then the coroutine floor
// (coroutine_floor.hpp), poolwatch's dialogues as one Asio coroutine a probe and nothing
// else, with deadlines and without. Last, /metrics of such a
// pool is rendered in-process with and without the per-backend latency histograms.
// With --tls (probe_floor --tls [N...]) the backends serve implicit TLS on IMAP 10993 and
// POP3 10995 (tls_floor_rig.hpp) and each N runs twice, poolwatch and the TLS floor with
// session resumption on, then off: the figures, the resumed share, and what resumption
// saves per probe. Its interval grows with N so that the rig, whose fake backends make
// the TLS server's side of every handshake on the same machine, is asked for at most
// kTlsRigProbesPerSecond probes a second (this 2-core VM saturated at 800); --interval S
// sets the interval of every N instead, plain or TLS.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "coroutine_floor.hpp"
#include "floor_rig.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "support/child_process.hpp"
#include "support/fake_director.hpp"
#include "support/lab_network.hpp"
#include "support/test_certs.hpp"
#include "tls_floor_rig.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<bench::BackendPort> kPorts = {
    {Protocol::imap, 10143}, {Protocol::pop3, 10110}, {Protocol::lmtp, 10024}};
// --tls: implicit TLS, as Dovecot's 993 and 995.
const std::vector<bench::BackendPort> kTlsPorts = {{Protocol::imap, 10993},
                                                   {Protocol::pop3, 10995}};
constexpr unsigned short kHttpPort = 19167;

std::vector<HostEntry> pool_of(std::size_t hosts) {
  std::vector<HostEntry> out;
  for (std::size_t i = 0; i < hosts; ++i)
    out.push_back(HostEntry{make_ip_address(bench::backend_address(i)), 100, 0, "", false, 0});
  return out;
}

// What a run measures: the plain ports, or (--tls) the implicit TLS ones with session
// resumption on or off.
struct Mode {
  bool tls = false;
  bool resumption = true;
};

std::string ports_text(const std::vector<bench::BackendPort>& ports, bool tls) {
  std::string text;
  for (const auto& p : ports) {
    const char* name = p.protocol == Protocol::imap   ? "imap"
                       : p.protocol == Protocol::pop3 ? "pop3"
                                                      : "lmtp";
    text += fmt::format("{}{{protocol: {}, port: {}, tls: {}}}", text.empty() ? "" : ", ", name,
                        p.port, tls ? "implicit" : "plain");
  }
  return text;
}

std::string daemon_config(const test::TempDir& dir, const std::string& director_socket,
                          int interval_s, const std::vector<bench::BackendPort>& ports, Mode mode) {
  const std::string tls = mode.tls ? fmt::format("\n  tls:\n    session_resumption: {}",
                                                 mode.resumption ? "true" : "false")
                                   : "";
  return dir.write("poolwatch.yml",
                   "director:\n  socket: " + director_socket + "\nprobe:\n  ports: [" +
                       ports_text(ports, mode.tls) + "]\n  login: false" + tls +
                       "\nhealth:\n  interval: " + std::to_string(interval_s) +
                       "s\n  timeout: 5s\nhttp:\n  enabled: true\n  listen: 127.0.0.1:" +
                       std::to_string(kHttpPort) + "\npidfile: " + dir.path() +
                       "/poolwatch.pid\nstate_file: " + dir.path() +
                       "/state\nlog:\n  target: file\n  file: " + dir.path() +
                       "/poolwatch.log\n  level: warn\ndry_run: true\n");
}

// From poolwatch_probe_lateness_seconds: the smallest bucket bound every probe started
// within (+Inf when some were later than the last bound) and how many started more
// than 1 s late. Absent (total < 0) before the metric existed.
struct Lateness {
  double total = -1;
  double within = 0;
  double over_1s = 0;
};

Lateness lateness_of(const std::string& exposition) {
  const std::string name = "poolwatch_probe_lateness_seconds_bucket{le=\"";
  std::vector<std::pair<std::string, double>> buckets;  // cumulative, +Inf last
  for (auto at = exposition.find(name); at != std::string::npos;
       at = exposition.find(name, at + 1)) {
    const auto from = at + name.size();
    auto le = exposition.substr(from, exposition.find('"', from) - from);
    buckets.emplace_back(std::move(le),
                         std::atof(exposition.c_str() + exposition.find("} ", at) + 2));
  }
  Lateness out;
  if (buckets.empty()) return out;
  out.total = buckets.back().second;
  out.within = HUGE_VAL;
  for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
    if (it->first == "1") out.over_1s = out.total - it->second;
    if (it->second == out.total && it->first != "+Inf") out.within = std::atof(it->first.c_str());
  }
  return out;
}

struct DaemonFigures {
  double probes_per_s = 0;
  double cpu_per_probe_us = 0;
  bench::ContextSwitches switches_per_probe;
  std::size_t rss_kib = 0;
  double metrics_ms = 0;
  std::size_t metrics_bytes = 0;
  Lateness lateness;
  double resumed_share = 0;  // of the handshakes the backends made in the window
  // poolwatch_tls_handshakes_total at the end: full, resumed.
  double handshakes_full = 0, handshakes_resumed = 0;
};

bench::ContextSwitches per_probe(const bench::ContextSwitches& s, double probes) {
  if (probes <= 0) return {};
  return {s.voluntary / probes, s.involuntary / probes};
}

// "0.61+0.45": voluntary and involuntary context switches per probe.
std::string switches_text(const bench::ContextSwitches& s) {
  return fmt::format("{:.2f}+{:.2f}", s.voluntary, s.involuntary);
}

double sample_of(const std::string& exposition, const std::string& series) {
  const auto at = exposition.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atof(exposition.c_str() + at + series.size() + 2);
}

// poolwatch's command line; under BENCH_WRAPPER's command when set, to profile it (e.g.
// BENCH_WRAPPER="/usr/bin/heaptrack -o /tmp/hp", a full path; the CPU and RSS figures are
// then the wrapper's, and each N's run writes the same output file).
std::vector<std::string> daemon_command(const std::string& config) {
  std::vector<std::string> command;
  if (const char* wrapper = std::getenv("BENCH_WRAPPER")) {
    std::istringstream words(wrapper);
    for (std::string word; words >> word;) command.push_back(word);
  }
  for (const char* arg : {POOLWATCH_BINARY, "run", "--foreground", "-c"}) command.emplace_back(arg);
  command.push_back(config);
  return command;
}

// SIGTERM to poolwatch. A wrapper (heaptrack, perf) runs it as a child and does not pass
// the signal on: poolwatch, found by its config's unique path, is signalled itself, or it
// would outlive the bench and go on probing.
void stop_daemon(test::ChildProcess& daemon, const std::string& config) {
  if (std::getenv("BENCH_WRAPPER") == nullptr) {
    daemon.signal(SIGTERM);
    return;
  }
  // "[/]tmp/...": a pattern that matches poolwatch's command line but not the shell's
  // that runs pkill, which holds the pattern as typed.
  const std::string command =
      "pkill -TERM -f -- '[" + config.substr(0, 1) + "]" + config.substr(1) + "'";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "%s: no process\n", command.c_str());
}

DaemonFigures run_daemon(std::size_t hosts, const bench::GreetingBackends& backends, int interval_s,
                         const std::vector<bench::BackendPort>& ports, Mode mode) {
  testing::FakeDirector director(pool_of(hosts));
  test::TempDir dir;
  const auto config = daemon_config(dir, director.socket_path(), interval_s, ports, mode);
  test::ChildProcess daemon(daemon_command(config), dir.path() + "/daemon.out");
  // The first scan starts every check; the figures are the steady state after it.
  std::this_thread::sleep_for(std::chrono::seconds(interval_s) + 2s);
  const auto accepted0 = backends.accepted();
  const auto resumed0 = backends.resumed();
  const auto handshakes0 = backends.handshakes();
  const double cpu0 = bench::process_cpu_seconds(daemon.pid());
  const auto switches0 = bench::process_context_switches(daemon.pid());
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2 * interval_s));
  const double cpu = bench::process_cpu_seconds(daemon.pid()) - cpu0;
  const auto switches = bench::process_context_switches(daemon.pid()) - switches0;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto probes = static_cast<double>(backends.accepted() - accepted0);
  DaemonFigures figures;
  figures.probes_per_s = probes / wall;
  figures.cpu_per_probe_us = probes > 0 ? cpu * 1e6 / probes : 0;
  figures.switches_per_probe = per_probe(switches, probes);
  const auto handshakes = static_cast<double>(backends.handshakes() - handshakes0);
  figures.resumed_share =
      handshakes > 0 ? static_cast<double>(backends.resumed() - resumed0) / handshakes : 0;
  figures.rss_kib = bench::process_rss_kib(daemon.pid());
  const auto asked = Clock::now();
  const auto reply = test::http_get("127.0.0.1", kHttpPort, "/metrics", {}, 60s);
  figures.metrics_ms = std::chrono::duration<double, std::milli>(Clock::now() - asked).count();
  figures.metrics_bytes = reply.body.size();
  figures.lateness = lateness_of(reply.body);
  figures.handshakes_full =
      sample_of(reply.body, "poolwatch_tls_handshakes_total{resumed=\"false\"}");
  figures.handshakes_resumed =
      sample_of(reply.body, "poolwatch_tls_handshakes_total{resumed=\"true\"}");
  stop_daemon(daemon, config);
  if (!daemon.wait(30s)) std::fprintf(stderr, "poolwatch did not stop in 30 s\n");
  if (reply.status != 200) std::fprintf(stderr, "GET /metrics: %s\n", reply.error.c_str());
  return figures;
}

std::string lateness_text(const Lateness& l) {
  if (l.total < 0) return "lateness n/a";
  return fmt::format("lateness <= {} s, {} of {} over 1 s", l.within, l.over_1s, l.total);
}

// /metrics of a pool of `hosts` backends x 3 checks that all had a probe result and a
// state, rendered in-process in one piece: its size and the time it takes, with the
// per-backend latency histograms and without (metrics.per_backend_latency: false).
void render_figures(std::size_t hosts) {
  for (const bool per_backend : {true, false}) {
    PoolwatchMetrics m(MetricsOptions{per_backend});
    PoolSnapshot pool;
    pool.hosts = pool_of(hosts);
    m.pool(pool);
    for (const auto& host : pool.hosts) {
      const auto name = host.address.to_string();
      for (const auto& port : kPorts)
        m.probe_result(name, port.protocol, FailureClass::none, std::chrono::milliseconds(2));
      m.backend_state(name, "up");
    }
    const auto at = Clock::now();
    const auto text = m.render();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - at).count();
    std::printf("N=%-6zu /metrics in-process, per_backend_latency %-5s: %7.1f ms %9zu bytes\n",
                hosts, per_backend ? "true" : "false", ms, text.size());
  }
}

double per_probe_us(const bench::FloorFigures& f) {
  return f.done > 0 ? f.cpu_seconds * 1e6 / static_cast<double>(f.done) : 0.0;
}

int plain_interval_s(std::size_t hosts) {
  return hosts >= 10000 ? 10 : 5;
}

// What this 2-core VM played without probes starting late: 400 TLS probes a second
// (N = 1000 at 5 s); at 800 (N = 2000) most started over a second late.
constexpr double kTlsRigProbesPerSecond = 400;

int tls_interval_s(std::size_t hosts) {
  const double needed = static_cast<double>(hosts * kTlsPorts.size()) / kTlsRigProbesPerSecond;
  return std::max(5, static_cast<int>(std::ceil(needed)));
}

// The coroutine floor (coroutine_floor.hpp) beside the floor and poolwatch: what the
// contract's coroutine and deadline cost by themselves.
void print_coroutine_floor(std::size_t hosts, double poolwatch_us, double floor_us,
                           const bench::FloorFigures& coroutines, const bench::FloorFigures& bare) {
  const double with_us = per_probe_us(coroutines), bare_us = per_probe_us(bare);
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf(
      "N=%-6zu coroutine floor (the floor's dialogues as one coroutine a probe on one Asio "
      "loop, nothing else): with deadlines %6.1f us/probe (%4.2fx the floor), without "
      "%6.1f us (%4.2fx); poolwatch is %4.2fx the one with deadlines  failures %zu/%zu\n",
      hosts, with_us, ratio(with_us, floor_us), bare_us, ratio(bare_us, floor_us),
      ratio(poolwatch_us, with_us), coroutines.failed + bare.failed,
      coroutines.done + coroutines.failed + bare.done + bare.failed);
}

// interval_s 0: the mode's default for N.
void run_one(std::size_t hosts, int interval_s) {
  if (interval_s == 0) interval_s = plain_interval_s(hosts);
  bench::GreetingBackends backends(hosts, kPorts);
  const auto d = run_daemon(hosts, backends, interval_s, kPorts, Mode{});
  const double rate =
      d.probes_per_s > 0 ? d.probes_per_s : static_cast<double>(hosts * kPorts.size()) / interval_s;
  const auto same = bench::run_floor(hosts, kPorts, rate, 2.0 * interval_s, false);
  const auto greet = bench::run_floor(hosts, kPorts, rate, 2.0 * interval_s, true);
  const auto coroutines = bench::run_coroutine_floor(hosts, kPorts, rate, 2.0 * interval_s, true);
  const auto bare = bench::run_coroutine_floor(hosts, kPorts, rate, 2.0 * interval_s, false);
  const double floor_us = per_probe_us(same), greet_us = per_probe_us(greet);
  std::printf(
      "N=%-6zu probes/s=%-6.0f poolwatch=%6.1f us/probe  floor=%6.1f us (ratio %4.2fx)  "
      "greeting-only floor=%6.1f us (ratio %4.2fx)  RSS=%.1f MiB  GET /metrics %.0f ms "
      "%zu bytes  %s  floor failures %zu/%zu\n",
      hosts, d.probes_per_s, d.cpu_per_probe_us, floor_us,
      floor_us > 0 ? d.cpu_per_probe_us / floor_us : 0.0, greet_us,
      greet_us > 0 ? d.cpu_per_probe_us / greet_us : 0.0, static_cast<double>(d.rss_kib) / 1024,
      d.metrics_ms, d.metrics_bytes, lateness_text(d.lateness).c_str(), same.failed, greet.failed);
  std::printf(
      "N=%-6zu context switches per probe (voluntary+involuntary): poolwatch %s, floor %s, "
      "greeting-only floor %s\n",
      hosts, switches_text(d.switches_per_probe).c_str(),
      switches_text(per_probe(same.switches, static_cast<double>(same.done))).c_str(),
      switches_text(per_probe(greet.switches, static_cast<double>(greet.done))).c_str());
  print_coroutine_floor(hosts, d.cpu_per_probe_us, floor_us, coroutines, bare);
  render_figures(hosts);
  std::fflush(stdout);
}

// --tls: the same over implicit TLS (IMAP 10993, POP3 10995), poolwatch and the floor
// each with session resumption on, then both with it off; what it saves is the
// difference.
void run_one_tls(std::size_t hosts, int interval_s) {
  if (interval_s == 0) interval_s = tls_interval_s(hosts);
  (void)testing::test_certificates();  // made before the fork: the children share them
  bench::GreetingBackends backends(hosts, kTlsPorts, bench::tls_serve_hosts());
  double on_us = 0, floor_on_us = 0;
  for (const bool resumption : {true, false}) {
    const auto d = run_daemon(hosts, backends, interval_s, kTlsPorts, Mode{true, resumption});
    const double rate = d.probes_per_s > 0
                            ? d.probes_per_s
                            : static_cast<double>(hosts * kTlsPorts.size()) / interval_s;
    const auto f = bench::run_tls_floor(hosts, kTlsPorts, rate, 2.0 * interval_s, resumption);
    const double floor_us = per_probe_us(f);
    const double floor_share =
        f.done > 0 ? static_cast<double>(f.resumed) / static_cast<double>(f.done) : 0.0;
    std::printf(
        "N=%-6zu TLS resumption %-3s interval %d s probes/s=%-6.0f poolwatch=%6.1f us/probe  "
        "floor=%6.1f us "
        "(ratio %4.2fx)  resumed: poolwatch %3.0f %%, floor %3.0f %%  "
        "poolwatch_tls_handshakes_total full=%.0f resumed=%.0f  RSS=%.1f MiB  %s  "
        "floor failures %zu\n",
        hosts, resumption ? "on" : "off", interval_s, d.probes_per_s, d.cpu_per_probe_us, floor_us,
        floor_us > 0 ? d.cpu_per_probe_us / floor_us : 0.0, d.resumed_share * 100,
        floor_share * 100, d.handshakes_full, d.handshakes_resumed,
        static_cast<double>(d.rss_kib) / 1024, lateness_text(d.lateness).c_str(), f.failed);
    std::printf("N=%-6zu TLS resumption %-3s context switches per probe: poolwatch %s, floor %s\n",
                hosts, resumption ? "on" : "off", switches_text(d.switches_per_probe).c_str(),
                switches_text(per_probe(f.switches, static_cast<double>(f.done))).c_str());
    if (resumption) {
      on_us = d.cpu_per_probe_us;
      floor_on_us = floor_us;
    } else {
      std::printf("N=%-6zu TLS resumption saves poolwatch %.1f us/probe, the floor %.1f us/probe\n",
                  hosts, d.cpu_per_probe_us - on_us, floor_us - floor_on_us);
    }
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!test::in_own_network_namespace()) {
    std::fprintf(stderr,
                 "run me in a network namespace of my own: unshare --net sh -c 'ip link set lo "
                 "up && exec %s'\n",
                 argv[0]);
    return 2;
  }
  std::vector<std::size_t> sizes;
  bool tls = false;
  int interval_s = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--tls")
      tls = true;
    else if (std::string_view(argv[i]) == "--interval" && i + 1 < argc)
      interval_s = std::max(1, std::atoi(argv[++i]));
    else
      sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  }
  if (sizes.empty()) sizes = {200, 1000, 2000, 10000};
  std::printf("poolwatch %s, greeting only (%s), dry-run; CPU = utime+stime\n", POOLWATCH_VERSION,
              tls ? "implicit TLS IMAP, POP3" : "IMAP, POP3, LMTP");
  for (auto hosts : sizes) tls ? run_one_tls(hosts, interval_s) : run_one(hosts, interval_s);
  return 0;
}
