#pragma once
// Runs the operator's on_transition command (dovemon's beupdatescript) as
// `PROGRAM [FIXED ARGS...] down|up ADDRESS REASON` without blocking the event loop:
// posix_spawn, no shell, then the child is reaped by a timer and killed when it
// overruns its timeout.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

struct HookResult {
  bool started = false;
  bool timed_out = false;
  int exit_status = -1;  // the exit code, or 128+signal
  std::string error;     // why it could not start
};

// Runs `command` (split by split_hook_command: an absolute path and fixed arguments)
// with the three arguments appended, stdin/stdout to /dev/null and stderr
// inherited (so it reaches the same log as poolwatch). Never throws.
boost::asio::awaitable<HookResult> run_transition_hook(std::string command, std::string event,
                                                       std::string address, std::string reason,
                                                       Seconds timeout);

}  // namespace poolwatch
