#include "floor_rig.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "poolwatch/health/health_tracker.hpp"
#include "support/child_process.hpp"
#include "support/fake_mail_server.hpp"

namespace poolwatch::bench {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

sockaddr_in socket_address(const std::string& address, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    throw std::runtime_error("not an IPv4 address: " + address);
  return sa;
}

void send_all(int fd, std::string_view text) {
  // Replies are a few hundred bytes to a fresh socket: they fit its buffer at once.
  if (!text.empty()) (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

int listen_socket(const std::string& address, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const auto sa = socket_address(address, port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(fd, 256) != 0)
    throw std::runtime_error(
        fmt::format("listen on {}:{}: {}", address, port, std::strerror(errno)));
  return fd;
}

std::string backend_address(std::size_t i) {
  const auto n = static_cast<unsigned>(i + 1);
  return fmt::format("127.{}.{}.{}", 64 + (n >> 16), (n >> 8) & 255, n & 255);
}

struct GreetingBackends::Impl {
  struct Connection {
    explicit Connection(const testing::FakeMailServerOptions& options) : responder(options) {}
    testing::FakeResponder responder;
    std::string in;
  };

  int epoll_fd = -1;
  std::vector<testing::FakeMailServerOptions> options;   // per entry of `ports`
  std::vector<int> listener_port;                        // by fd: index into ports, or -1
  std::vector<std::unique_ptr<Connection>> connections;  // by fd

  void grow_to(int fd) {
    if (static_cast<std::size_t>(fd) >= listener_port.size()) {
      listener_port.resize(static_cast<std::size_t>(fd) + 1, -1);
      connections.resize(static_cast<std::size_t>(fd) + 1);
    }
  }

  void listen_on(const std::string& address, std::uint16_t port, int which) {
    const int fd = listen_socket(address, port);
    grow_to(fd);
    listener_port[static_cast<std::size_t>(fd)] = which;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  void close_connection(int fd) {
    ::close(fd);
    connections[static_cast<std::size_t>(fd)].reset();
  }

  void accept_all(int listener, std::atomic<std::size_t>& accepted) {
    const auto& opts = options[static_cast<std::size_t>(listener_port[listener])];
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      ++accepted;
      grow_to(fd);
      auto& connection = connections[static_cast<std::size_t>(fd)];
      connection = std::make_unique<Connection>(opts);
      send_all(fd, connection->responder.greeting());
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void serve_connection(int fd) {
    auto& connection = *connections[static_cast<std::size_t>(fd)];
    char buffer[2048];
    const auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
      if (got == 0 || errno != EAGAIN) close_connection(fd);
      return;
    }
    connection.in.append(buffer, static_cast<std::size_t>(got));
    for (auto end = connection.in.find('\n'); end != std::string::npos;
         end = connection.in.find('\n')) {
      std::string line = connection.in.substr(0, end);
      connection.in.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto reply = connection.responder.reply_to(line);
      send_all(fd, reply.text);
      if (reply.then == testing::FakeReply::Then::close) return close_connection(fd);
    }
    if (connection.in.size() > kMaxBuffered) close_connection(fd);
  }
};

namespace {

// A child's life: listen on its hosts' ports, serve until the parent closes the pipe.
[[noreturn]] void serve_hosts(std::size_t first, std::size_t last,
                              const std::vector<BackendPort>& ports, int stop_fd,
                              ChildCounters& counters) {
  GreetingBackends::Impl impl;
  impl.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  for (const auto& port : ports) impl.options.push_back(testing::fake_options(port.protocol));
  try {
    for (std::size_t h = first; h < last; ++h)
      for (std::size_t p = 0; p < ports.size(); ++p)
        impl.listen_on(backend_address(h), ports[p].port, static_cast<int>(p));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake backends: %s\n", e.what());
    ::_exit(1);
  }
  epoll_event stop{};
  stop.events = EPOLLIN;
  stop.data.fd = stop_fd;
  ::epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, stop_fd, &stop);
  impl.grow_to(stop_fd);
  for (;;) {
    epoll_event events[256];
    const int n = ::epoll_wait(impl.epoll_fd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd) ::_exit(0);
      if (impl.listener_port[static_cast<std::size_t>(fd)] >= 0)
        impl.accept_all(fd, counters.accepted);
      else if (impl.connections[static_cast<std::size_t>(fd)])
        impl.serve_connection(fd);
    }
  }
}

}  // namespace

GreetingBackends::GreetingBackends(std::size_t hosts, const std::vector<BackendPort>& ports)
    : GreetingBackends(hosts, ports, &serve_hosts) {}

GreetingBackends::GreetingBackends(std::size_t hosts, const std::vector<BackendPort>& ports,
                                   const ServeHosts& serve) {
  const std::size_t processes = (hosts + kHostsPerProcess - 1) / kHostsPerProcess;
  void* shared = ::mmap(nullptr, sizeof(ChildCounters) * std::max<std::size_t>(processes, 1),
                        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw std::runtime_error("mmap failed");
  counters_ = static_cast<ChildCounters*>(shared);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  stop_pipe_ = pipe_fds[1];
  for (std::size_t c = 0; c < processes; ++c) {
    new (&counters_[c]) ChildCounters();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(pipe_fds[1]);
      serve(c * kHostsPerProcess, std::min(hosts, (c + 1) * kHostsPerProcess), ports, pipe_fds[0],
            counters_[c]);
      ::_exit(1);  // serve never returns
    }
    children_.push_back(pid);
  }
  ::close(pipe_fds[0]);
  // Every listener is up once a connect to the last host's first port is accepted.
  for (int tries = 0; tries < 600 && hosts > 0; ++tries) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto sa = socket_address(backend_address(hosts - 1), ports.front().port);
    const bool up = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (up) break;
    ::usleep(100000);
  }
}

GreetingBackends::~GreetingBackends() {
  ::close(stop_pipe_);
  for (const pid_t pid : children_) ::waitpid(pid, nullptr, 0);
}

std::size_t GreetingBackends::accepted() const {
  std::size_t total = 0;
  for (std::size_t c = 0; c < children_.size(); ++c) total += counters_[c].accepted;
  return total;
}

std::size_t GreetingBackends::handshakes() const {
  std::size_t total = 0;
  for (std::size_t c = 0; c < children_.size(); ++c) total += counters_[c].handshakes;
  return total;
}

std::size_t GreetingBackends::resumed() const {
  std::size_t total = 0;
  for (std::size_t c = 0; c < children_.size(); ++c) total += counters_[c].resumed;
  return total;
}

std::vector<Step> script_for(Protocol protocol, bool greeting_only) {
  std::vector<Step> steps;
  switch (protocol) {
    case Protocol::imap:
      steps = {{"", "* OK"}, {"a1 LOGOUT\r\n", "a1 "}};
      break;
    case Protocol::pop3:
      steps = {{"", "+OK"}, {"QUIT\r\n", "+OK"}};
      break;
    case Protocol::lmtp:
      steps = {{"", "220"}, {"LHLO floor.test\r\n", "250 "}, {"QUIT\r\n", "221"}};
      break;
  }
  if (greeting_only) steps.resize(1);
  return steps;
}

namespace {

struct Floor final : PacedFloor {
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<sockaddr_in> targets;                     // every address x port
  std::vector<const std::vector<Step>*> scripts;        // by target
  std::vector<std::unique_ptr<ScriptProgress>> probes;  // by fd
  std::size_t running = 0;
  FloorFigures figures;

  ~Floor() override { ::close(epoll_fd); }

  void start(std::size_t i) override {
    start_probe(targets[i % targets.size()], *scripts[i % targets.size()]);
  }
  std::size_t in_flight() const override { return running; }

  void start_probe(const sockaddr_in& target, const std::vector<Step>& script) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 &&
                   errno != EINPROGRESS)) {
      if (fd >= 0) ::close(fd);
      ++figures.failed;
      return;
    }
    if (static_cast<std::size_t>(fd) >= probes.size()) probes.resize(fd + 1);
    probes[fd] = std::make_unique<ScriptProgress>(ScriptProgress{&script, 0, {}});
    ++running;
    // The greeting comes once the connect is made: readable is the only event needed.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }

  void finish(int fd, bool ok) {
    ::close(fd);
    probes[fd].reset();
    --running;
    ++(ok ? figures.done : figures.failed);
  }

  void on_readable(int fd) {
    auto& probe = *probes[fd];
    char buffer[2048];
    const auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
      if (got == 0 || errno != EAGAIN) finish(fd, false);
      return;
    }
    const auto send = [fd](std::string_view text) {
      send_all(fd, text);
      return true;
    };
    const auto result = advance(probe, {buffer, static_cast<std::size_t>(got)}, send);
    if (result != ScriptResult::more) finish(fd, result == ScriptResult::done);
  }

  void poll(int timeout_ms) override {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_fd, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i)
      if (probes[events[i].data.fd]) on_readable(events[i].data.fd);
  }
};

}  // namespace

FloorFigures run_floor(std::size_t hosts, const std::vector<BackendPort>& ports, double rate,
                       double seconds, bool greeting_only) {
  std::vector<std::vector<Step>> by_port;
  for (const auto& port : ports) by_port.push_back(script_for(port.protocol, greeting_only));
  Floor floor;
  for (std::size_t h = 0; h < hosts; ++h)
    for (std::size_t p = 0; p < ports.size(); ++p) {
      floor.targets.push_back(socket_address(backend_address(h), ports[p].port));
      floor.scripts.push_back(&by_port[p]);
    }
  run_paced(floor, rate, seconds, floor.figures);
  return floor.figures;
}

void run_paced(PacedFloor& floor, double rate, double seconds, FloorFigures& figures) {
  const int grid_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kProbeStartGrid).count());
  const double cpu0 = thread_cpu_seconds();
  const auto switches0 = thread_context_switches();
  const auto t0 = Clock::now();
  const auto total = static_cast<std::size_t>(rate * seconds);
  std::size_t started = 0;
  while (started < total) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    // Every probe due by now starts; the loop then sleeps in epoll until the next is due,
    // one step of poolwatch's start grid at least: the floor batches its starts as
    // poolwatch does, or the ratio would credit poolwatch with the batching.
    for (; started < total && static_cast<double>(started) <= elapsed * rate; ++started)
      floor.start(started);
    const double next_due = static_cast<double>(started) / rate - elapsed;
    floor.poll(std::max(grid_ms, static_cast<int>(std::ceil(next_due * 1000))));
  }
  const auto drain_until = Clock::now() + std::chrono::seconds(5);
  while (floor.in_flight() > 0 && Clock::now() < drain_until) floor.poll(10);
  figures.cpu_seconds = thread_cpu_seconds() - cpu0;
  figures.switches = thread_context_switches() - switches0;
  figures.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
}

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

ContextSwitches operator-(const ContextSwitches& a, const ContextSwitches& b) {
  return {a.voluntary - b.voluntary, a.involuntary - b.involuntary};
}

ContextSwitches thread_context_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {static_cast<double>(usage.ru_nvcsw), static_cast<double>(usage.ru_nivcsw)};
}

namespace {

double status_field(const std::string& status, std::string_view name) {
  const auto at = status.find(name);
  if (at == std::string::npos) return 0;
  return std::strtod(status.c_str() + at + name.size(), nullptr);
}

}  // namespace

ContextSwitches process_context_switches(pid_t pid) {
  const auto status = test::read_text_file(fmt::format("/proc/{}/status", pid));
  return {status_field(status, "\nvoluntary_ctxt_switches:"),
          status_field(status, "\nnonvoluntary_ctxt_switches:")};
}

double process_cpu_seconds(pid_t pid) {
  const auto stat = test::read_text_file(fmt::format("/proc/{}/stat", pid));
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t process_rss_kib(pid_t pid) {
  const auto status = test::read_text_file(fmt::format("/proc/{}/status", pid));
  const auto at = status.find("VmRSS:");
  if (at == std::string::npos) return 0;
  return std::strtoul(status.c_str() + at + 6, nullptr, 10);
}

}  // namespace poolwatch::bench
