#pragma once
// The pieces of bench/probe_floor (issue 15): fake backends greeting on many loopback
// addresses from one epoll thread, the floor client (the same connects and dialogues
// from one thread with epoll and nothing else), and the figures read from /proc.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "poolwatch/config/config.hpp"

namespace poolwatch::bench {

// 127.64.0.1 upwards, as pool_scale counts them: loopback, away from the tests' 127.0.x.
std::string backend_address(std::size_t i);

struct BackendPort {
  Protocol protocol;
  std::uint16_t port;
};

// A listener on every address x port, answering as Dovecot does (the tests'
// FakeResponder), so that poolwatch and the floor talk to the same fake. The listeners
// are served by child processes of kHostsPerProcess hosts each, one epoll loop apiece:
// 10 000 hosts x 3 ports are more descriptors than one process may have here. Make it
// before any thread is started (it forks). Exits the child when a listener cannot be made.
class GreetingBackends {
 public:
  static constexpr std::size_t kHostsPerProcess = 4000;
  GreetingBackends(std::size_t hosts, const std::vector<BackendPort>& ports);
  ~GreetingBackends();
  GreetingBackends(const GreetingBackends&) = delete;
  GreetingBackends& operator=(const GreetingBackends&) = delete;

  // Connections accepted so far: one per probe, whoever made it.
  std::size_t accepted() const;

  struct Impl;

 private:
  std::vector<pid_t> children_;
  int stop_pipe_ = -1;  // the write end: its close tells the children to exit
  std::atomic<std::size_t>* accepted_ = nullptr;  // one counter per child, shared memory
};

struct FloorFigures {
  std::size_t done = 0;
  std::size_t failed = 0;
  double cpu_seconds = 0;  // utime+stime of the thread that ran the floor
  double wall_seconds = 0;
};

// Probes every address x port round-robin at `rate` per second for `seconds`, then lets
// the ones in flight finish. With greeting_only, a probe is connect, read the greeting,
// close; otherwise it is the dialogue poolwatch has without login (IMAP LOGOUT, POP3
// QUIT, LMTP LHLO + QUIT). Runs on the calling thread.
FloorFigures run_floor(std::size_t hosts, const std::vector<BackendPort>& ports, double rate,
                       double seconds, bool greeting_only);

// utime+stime of the calling thread (getrusage RUSAGE_THREAD), in seconds.
double thread_cpu_seconds();
// utime+stime of a process from /proc/<pid>/stat (what getrusage would report for it),
// in seconds.
double process_cpu_seconds(pid_t pid);
// VmRSS of a process in KiB; 0 when it cannot be read.
std::size_t process_rss_kib(pid_t pid);

}  // namespace poolwatch::bench
