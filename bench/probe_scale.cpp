// How many IMAP probes one poolwatch thread completes, and what they cost in CPU.
// Usage: probe_scale [PROBES] [MAX_IN_FLIGHT] [tls]
// Runs PROBES full IMAP dialogues (greeting, LOGIN, LOGOUT) against one in-process
// fake server on 127.0.0.1 (its own thread) and prints wall time, probes/s and
// poolwatch's own CPU per probe (getrusage of the probing thread).
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/service/spawn.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
namespace asio = boost::asio;

namespace {

struct Tally {
  std::size_t ok = 0, failed = 0;
};

asio::awaitable<void> one_probe(ProbeRunner& runner, ProbeTarget target, Tally& tally,
                                WaitGroup& group) {
  std::optional<Account> account =
      Account{"probe", Secret("probepass"), ""};  // g++ 12: CONTRIBUTING.md
  auto outcome = co_await runner.run(target, std::move(account), Seconds(30));
  ++(outcome.ok() ? tally.ok : tally.failed);
  group.done();
}

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t probes = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  const std::size_t in_flight = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 200;
  const bool tls = argc > 3 && std::strcmp(argv[3], "tls") == 0;

  testing::FakeMailServerOptions options;
  options.tls = tls ? TlsMode::implicit : TlsMode::plain;
  testing::FakeMailServer server(options);

  ProbeConfig config;
  config.max_in_flight = in_flight;
  asio::io_context io(1);
  ProbeRunner runner(io.get_executor(), config);
  Tally tally;
  WaitGroup group(io.get_executor());
  const ProbeTarget target{make_ip_address("127.0.0.1"), "127.0.0.1",
                           PortSpec{Protocol::imap, server.port(), options.tls}};
  group.add(probes);
  for (std::size_t i = 0; i < probes; ++i)
    spawn_logged(io.get_executor(), one_probe(runner, target, tally, group), "probe");

  const double cpu0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  io.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = thread_cpu_seconds() - cpu0;
  std::printf("probes=%zu in_flight_cap=%zu transport=%s ok=%zu failed=%zu\n", probes, in_flight,
              tls ? "tls" : "plain", tally.ok, tally.failed);
  std::printf("wall=%.3f s  rate=%.0f probes/s  poolwatch_cpu=%.3f s  cpu_per_probe=%.1f us\n",
              wall, static_cast<double>(probes) / wall, cpu,
              cpu * 1e6 / static_cast<double>(probes));
  if (tls)
    std::printf("tls: full_handshakes=%zu resumed=%zu\n", runner.tls().full_handshakes(),
                runner.tls().resumed_handshakes());
  return tally.failed == 0 ? 0 : 1;
}
