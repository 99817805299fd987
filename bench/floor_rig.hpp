#pragma once
// The pieces of bench/probe_floor (issue 15): fake backends greeting on many loopback
// addresses from one epoll thread, the floor client (the same connects and dialogues
// from one thread with epoll and nothing else), and the figures read from /proc.

#include <netinet/in.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/config/config.hpp"

namespace poolwatch::bench {

// 127.64.0.1 upwards, as pool_scale counts them: loopback, away from the tests' 127.0.x.
std::string backend_address(std::size_t i);

// A line longer than this from either side ends the connection: every buffer is capped.
constexpr std::size_t kMaxBuffered = 4096;

// address:port as connect() and bind() take it; throws std::runtime_error when the
// address is not IPv4.
sockaddr_in socket_address(const std::string& address, std::uint16_t port);

struct BackendPort {
  Protocol protocol;
  std::uint16_t port;
};

// What the fake backends' child processes count, in memory shared with the parent.
struct ChildCounters {
  std::atomic<std::size_t> accepted{0};    // connections: one per probe, whoever made it
  std::atomic<std::size_t> handshakes{0};  // TLS handshakes finished
  std::atomic<std::size_t> resumed{0};     // of which resumed a session
};

// A child's life: listen on hosts [first, last) x ports, serve until stop_fd is readable
// (the parent closed the pipe), then exit; never returns.
using ServeHosts =
    std::function<void(std::size_t first, std::size_t last, const std::vector<BackendPort>& ports,
                       int stop_fd, ChildCounters& counters)>;

// A listener on every address x port, answering as Dovecot does (the tests'
// FakeResponder), so that poolwatch and the floor talk to the same fake. The listeners
// are served by child processes of kHostsPerProcess hosts each, one epoll loop apiece:
// 10 000 hosts x 3 ports are more descriptors than one process may have here. Make it
// before any thread is started (it forks). Exits the child when a listener cannot be made.
class GreetingBackends {
 public:
  static constexpr std::size_t kHostsPerProcess = 4000;
  // Plain text listeners.
  GreetingBackends(std::size_t hosts, const std::vector<BackendPort>& ports);
  // Listeners served by `serve` (tls_floor_rig.hpp's implicit TLS ones).
  GreetingBackends(std::size_t hosts, const std::vector<BackendPort>& ports,
                   const ServeHosts& serve);
  ~GreetingBackends();
  GreetingBackends(const GreetingBackends&) = delete;
  GreetingBackends& operator=(const GreetingBackends&) = delete;

  // Connections accepted so far: one per probe, whoever made it.
  std::size_t accepted() const;
  // TLS handshakes the backends finished so far, and of those the ones that resumed.
  std::size_t handshakes() const;
  std::size_t resumed() const;

  struct Impl;

 private:
  std::vector<pid_t> children_;
  int stop_pipe_ = -1;                 // the write end: its close tells the children to exit
  ChildCounters* counters_ = nullptr;  // one per child, shared memory
};

// A nonblocking listening socket on address:port, in no epoll set yet; throws
// std::runtime_error when it cannot be made.
int listen_socket(const std::string& address, std::uint16_t port);
// One short reply to a fresh socket (fits its buffer), without SIGPIPE.
void send_all(int fd, std::string_view text);

// Context switches: a wake-up from epoll is a voluntary one, a preemption (on loopback,
// often by the backend that a send or a connect woke) an involuntary one.
struct ContextSwitches {
  double voluntary = 0;
  double involuntary = 0;
};
ContextSwitches operator-(const ContextSwitches& a, const ContextSwitches& b);

struct FloorFigures {
  std::size_t done = 0;
  std::size_t failed = 0;
  std::size_t resumed = 0;  // the TLS floor's handshakes that resumed a session
  double cpu_seconds = 0;   // utime+stime of the thread that ran the floor
  double wall_seconds = 0;
  ContextSwitches switches;  // of the thread that ran the floor
};

// Probes every address x port round-robin at `rate` per second for `seconds`, then lets
// the ones in flight finish. With greeting_only, a probe is connect, read the greeting,
// close; otherwise it is the dialogue poolwatch has without login (IMAP LOGOUT, POP3
// QUIT, LMTP LHLO + QUIT). Runs on the calling thread.
FloorFigures run_floor(std::size_t hosts, const std::vector<BackendPort>& ports, double rate,
                       double seconds, bool greeting_only);

// One exchange of a floor probe: what to send, then the prefix of the reply's last line.
struct Step {
  std::string_view send;
  std::string_view last_line;
};
// The floor's dialogue for a protocol: poolwatch's without login (greeting, then IMAP
// LOGOUT, POP3 QUIT, LMTP LHLO + QUIT), or the greeting only.
std::vector<Step> script_for(Protocol protocol, bool greeting_only);

// Where a floor probe is in its script, and the reply bytes not yet cut into lines.
struct ScriptProgress {
  const std::vector<Step>* script = nullptr;
  std::size_t step = 0;
  std::string in;
};
enum class ScriptResult { more, done, failed };

// Appends bytes read and walks the script over the complete lines: the last line of each
// reply sends the next step through `send` (which returns false when that failed). The
// one home of the walk for the plain and the TLS floor.
template <class Send>
ScriptResult advance(ScriptProgress& progress, std::string_view bytes, Send&& send) {
  progress.in.append(bytes);
  const auto& script = *progress.script;
  for (auto end = progress.in.find('\n'); end != std::string::npos; end = progress.in.find('\n')) {
    const bool last =
        std::string_view(progress.in).substr(0, end).starts_with(script[progress.step].last_line);
    progress.in.erase(0, end + 1);
    if (!last) continue;
    if (++progress.step == script.size()) return ScriptResult::done;
    if (!send(script[progress.step].send)) return ScriptResult::failed;
  }
  return progress.in.size() > kMaxBuffered ? ScriptResult::failed : ScriptResult::more;
}

// A floor client as run_paced() drives it.
class PacedFloor {
 public:
  virtual ~PacedFloor() = default;
  // Starts probe number `i` (round-robin over the targets is the caller's business).
  virtual void start(std::size_t i) = 0;
  // Waits in epoll at most timeout_ms and handles what is ready.
  virtual void poll(int timeout_ms) = 0;
  virtual std::size_t in_flight() const = 0;
};

// Starts rate * seconds probes at `rate` per second from the calling thread, sleeping in
// floor.poll() between them as a timer-driven daemon would, then lets the ones in flight
// finish (5 s at most). Fills figures.cpu_seconds and figures.wall_seconds.
void run_paced(PacedFloor& floor, double rate, double seconds, FloorFigures& figures);

// utime+stime of the calling thread (getrusage RUSAGE_THREAD), in seconds.
double thread_cpu_seconds();
// The calling thread's context switches (getrusage RUSAGE_THREAD).
ContextSwitches thread_context_switches();
// A process's (its main thread's) from /proc/<pid>/status.
ContextSwitches process_context_switches(pid_t pid);
// utime+stime of a process from /proc/<pid>/stat (what getrusage would report for it),
// in seconds.
double process_cpu_seconds(pid_t pid);
// VmRSS of a process in KiB; 0 when it cannot be read.
std::size_t process_rss_kib(pid_t pid);

}  // namespace poolwatch::bench
