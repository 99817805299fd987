#pragma once
// Runs the operator's on_transition command (dovemon's beupdatescript) as
// `PROGRAM [FIXED ARGS...] down|up ADDRESS REASON` without blocking the event loop:
// posix_spawn, no shell, then the child is reaped by a timer and killed when it overruns
// its timeout or the caller cancels (poolwatch stopping).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

struct HookResult {
  bool started = false;
  bool timed_out = false;
  bool cancelled = false;  // stopped because the caller cancelled the run
  int exit_status = -1;    // the exit code, or 128+signal
  std::string error;       // why it could not start
};

// After a cancel, how long the hook has between SIGTERM and SIGKILL.
inline constexpr std::chrono::milliseconds kHookKillGrace{500};

// Runs `command` (split by split_hook_command: an absolute path and fixed arguments)
// with the three arguments appended, stdin/stdout to /dev/null and stderr inherited (so
// it reaches the same log as poolwatch) and no other descriptor, in a process group of its own so
// that a kill reaches whatever it started. Cancelling it (as || does when its other operand ends
// first) sends SIGTERM to that group, SIGKILL after kHookKillGrace, and reaps the hook before
// returning. To do that after a cancel it turns off throw_if_cancelled for the coroutine it runs
// on: start it as its own coroutine (co_spawn, or an operand of ||), not by a plain co_await from
// one that relies on that. Never throws.
boost::asio::awaitable<HookResult> run_transition_hook(std::string command, std::string event,
                                                       std::string address, std::string reason,
                                                       Seconds timeout);

}  // namespace poolwatch
