// Soak (issue 13, "Keep it fixed"): the real poolwatch binary for an accelerated hour
// (interval 0.2 s: an hour of 10 s intervals takes 72 s) against fakes that flap, hang,
// reset and flood, with /metrics and /status scraped all along. Prints the daemon's RSS,
// open descriptors and CPU per minute of probing at the start and at every report: a
// leak shows as a figure that keeps growing.
// Usage: soak [SECONDS] [REPORT_EVERY_SECONDS]   (default 720 and 60: ten accelerated hours)
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"
#include "support/lab_network.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;
using testing::FakeBehaviour;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint16_t kImapPort = 10143;
constexpr std::uint16_t kHttpPort = 19167;

struct Sample {
  double rss_mib = 0;
  std::size_t fds = 0;
  double cpu_s = 0;  // utime + stime
};

Sample sample(pid_t pid) {
  Sample s;
  const auto proc = "/proc/" + std::to_string(pid);
  std::istringstream status(test::read_text_file(proc + "/status"));
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) s.rss_mib = std::strtod(line.c_str() + 6, nullptr) / 1024;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(proc + "/fd"))
    ++s.fds;
  const auto stat = test::read_text_file(proc + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i)
    if (i == 14 || i == 15) ticks += std::strtod(field.c_str(), nullptr);
  s.cpu_s = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  return s;
}

IpAddress backend(int n) {
  return *IpAddress::parse("127.0.60." + std::to_string(n));
}

std::unique_ptr<testing::FakeMailServer> fake_at(int n, FakeBehaviour behaviour) {
  auto options = test::fake_backend_at(backend(n), kImapPort);
  options.behaviour = behaviour;
  options.flood_bytes = 256 * 1024;
  return std::make_unique<testing::FakeMailServer>(options);
}

std::string config(const test::TempDir& dir, const testing::FakeDirector& director) {
  const auto password = dir.write("password", "probepass\n");
  return dir.write(
      "poolwatch.yml",
      fmt::format("director:\n  socket: {}\nprobe:\n  ports: [\"IMAP:{}\"]\n  login: true\n"
                  "  max_bytes: 1MiB\n"
                  "credentials:\n  default_user: probe\n  default_password_file: {}\n"
                  "health:\n  interval: 200ms\n  timeout: 1s\n  retry_count: 2\n"
                  "  rapid_rounds: 2\n  rapid_fails_needed: 2\n  rapid_interval: 50ms\n"
                  "  rapid_timeout: 1s\n"
                  "http:\n  enabled: true\n  listen: 127.0.0.1:{}\n"
                  "state_file: {}/state\nevent_log: {}/events.jsonl\npidfile: {}/poolwatch.pid\n"
                  "log:\n  target: file\n  file: {}/poolwatch.log\n",
                  director.socket_path(), kImapPort, password, kHttpPort, dir.path(), dir.path(),
                  dir.path(), dir.path()));
}

void print(const char* when, double elapsed_s, const Sample& s, double cpu_per_min) {
  std::printf("%-8s %8.0f s %10.1f MiB %8zu fds %10.2f s CPU/min\n", when, elapsed_s, s.rss_mib,
              s.fds, cpu_per_min);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 720;
  const int every = argc > 2 ? std::atoi(argv[2]) : 60;
  test::TempDir dir;
  std::vector<HostEntry> hosts;
  for (int n = 1; n <= 7; ++n) hosts.push_back(test::pool_host(backend(n)));
  testing::FakeDirector director(hosts);
  std::vector<std::unique_ptr<testing::FakeMailServer>> fakes;
  fakes.push_back(fake_at(1, FakeBehaviour::normal));
  fakes.push_back(fake_at(2, FakeBehaviour::normal));  // flaps: 3 s up, 3 s refused
  fakes.push_back(fake_at(3, FakeBehaviour::never_answer));
  fakes.push_back(fake_at(4, FakeBehaviour::reset_mid_dialogue));
  fakes.push_back(fake_at(5, FakeBehaviour::flood_untagged));
  fakes.push_back(fake_at(6, FakeBehaviour::endless_line));
  fakes.push_back(fake_at(7, FakeBehaviour::garbage_after_greeting));

  test::ChildProcess daemon({POOLWATCH_BINARY, "run", "--foreground", "-c", config(dir, director)},
                            dir.path() + "/daemon.out");
  std::printf("soak: %d s at interval 0.2 s (%.1f hours of 10 s intervals), 7 fakes\n", seconds,
              seconds * 50.0 / 3600);
  std::this_thread::sleep_for(10s);  // warm-up: every fake probed, the flood's buffers grown
  if (daemon.wait(0ms)) {
    std::printf("poolwatch exited at start:\n%s\n", daemon.output().c_str());
    return 1;
  }
  const auto start = Clock::now();
  const Sample first = sample(daemon.pid());
  Sample last = first;
  print("start", 0, first, 0);
  std::size_t scrapes = 0, failed_scrapes = 0;
  for (int tick = 1; Clock::now() - start < std::chrono::seconds(seconds); ++tick) {
    std::this_thread::sleep_for(1s);
    if (tick % 3 == 0) fakes[1] = fakes[1] ? nullptr : fake_at(2, FakeBehaviour::normal);
    for (const char* target : {"/metrics", "/status", "/healthz"}) {
      ++scrapes;
      if (test::http_get("127.0.0.1", kHttpPort, target, {}, 5s).status != 200) ++failed_scrapes;
    }
    if (tick % every != 0) continue;
    const Sample now = sample(daemon.pid());
    print("now", std::chrono::duration<double>(Clock::now() - start).count(), now,
          (now.cpu_s - last.cpu_s) * 60 / every);
    last = now;
  }
  const auto log = test::read_text_file(dir.path() + "/poolwatch.log");
  std::printf("scrapes %zu, failed %zu; log %zu bytes; daemon %s\n", scrapes, failed_scrapes,
              log.size(), daemon.wait(0ms) ? "EXITED" : "running");
  daemon.signal(SIGTERM);
  const auto status = daemon.wait(10s);
  std::printf("stopped: %s\n", status ? fmt::format("exit {}", *status).c_str() : "no (killed)");
  return 0;
}
