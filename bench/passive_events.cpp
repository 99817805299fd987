// How many director event posts one poolwatch thread takes, and what each costs in CPU.
// Usage: passive_events [POSTS] [CONNECTIONS]
// CONNECTIONS client threads post POSTS events in all (keep-alive, one at a time per
// connection, the way Dovecot's exporter posts) to a PassiveLink on 127.0.0.1 whose loop
// runs on the main thread. The bodies are the real director's events (refused backend,
// wrong password, good session) from tests/unit/passive/recorded_events.txt. Prints
// posts/s and the loop thread's CPU per post, and, measured in the same run, the CPU of
// the parse and classification alone (the floor the HTTP handling adds to).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "poolwatch/passive/classify.hpp"
#include "poolwatch/passive/proxy_event.hpp"
#include "poolwatch/service/passive_link.hpp"

using namespace poolwatch;

namespace {

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::vector<std::string> recorded_bodies() {
  std::ifstream in(POOLWATCH_SOURCE_DIR "/tests/unit/passive/recorded_events.txt");
  std::vector<std::string> bodies;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    bodies.push_back(line.substr(line.find('\t', line.find('\t') + 1) + 1));
  }
  return bodies;
}

// One keep-alive connection posting `count` bodies, each after the previous reply.
void post_events(unsigned short port, const std::vector<std::string>& bodies, std::size_t count,
                 std::atomic<std::size_t>& ok) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return;
  char reply[512];
  for (std::size_t i = 0; i < count; ++i) {
    const auto& body = bodies[i % bodies.size()];
    const std::string request =
        "POST /dovecot-events HTTP/1.1\r\nHost: poolwatch\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) break;
    const auto n = ::recv(fd, reply, sizeof reply, 0);
    if (n <= 0) break;
    if (std::string_view(reply, static_cast<std::size_t>(n)).starts_with("HTTP/1.1 200")) ++ok;
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t posts = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  const std::size_t connections = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4;
  const auto bodies = recorded_bodies();
  if (bodies.empty() || connections == 0) return 2;

  // The floor: parse and classify only, in this thread.
  const double floor_start = thread_cpu_seconds();
  std::size_t faults = 0;
  for (std::size_t i = 0; i < posts; ++i) {
    const auto parsed = passive::parse_dovecot_event(bodies[i % bodies.size()]);
    faults +=
        parsed.event && passive::classify(*parsed.event).cls == passive::EventClass::backend_fault;
  }
  const double floor_cpu = thread_cpu_seconds() - floor_start;

  boost::asio::io_context io(1);
  PassiveConfig config;
  config.enabled = true;
  config.listen = "127.0.0.1:0";
  config.max_events_per_second = 10'000'000;
  metrics::Registry registry;
  std::size_t suspicions = 0;
  PassiveLink link(io.get_executor(), config, registry,
                   {[](const IpAddress&) { return true; },
                    [&suspicions](const IpAddress&, const passive::Suspicion&) { ++suspicions; }});
  if (auto problem = link.start()) {
    std::fprintf(stderr, "cannot listen: %s\n", problem->c_str());
    return 2;
  }
  const auto port = link.local_endpoint().port();
  std::atomic<std::size_t> ok{0};
  std::vector<std::thread> clients;
  const auto started = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  for (std::size_t c = 0; c < connections; ++c)
    clients.emplace_back(post_events, port, std::cref(bodies), posts / connections, std::ref(ok));
  std::thread stopper([&] {
    for (auto& client : clients) client.join();
    link.stop();
  });
  io.run();
  stopper.join();
  const double cpu = thread_cpu_seconds() - cpu_start;
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
  std::printf(
      "%zu posts over %zu connections: %.2f s, %.0f posts/s, %.1f us CPU per post on the "
      "loop thread (parse and classify alone: %.2f us); %zu answered 200, %zu backend "
      "faults, %zu suspicions\n",
      ok.load(), connections, wall.count(), static_cast<double>(ok) / wall.count(),
      1e6 * cpu / static_cast<double>(ok ? ok.load() : 1),
      1e6 * floor_cpu / static_cast<double>(posts), ok.load(), faults, suspicions);
  return ok == posts / connections * connections ? 0 : 1;
}
