#pragma once
// Classic detaching for running without systemd (no --foreground): double fork, setsid,
// chdir /, stdin/stdout/stderr to /dev/null. Under systemd use --foreground and
// Type=notify instead.

#include "poolwatch/service/pidfile.hpp"

namespace poolwatch {

// Returns only in the final daemon process. The calling process waits until the daemon
// has written `pidfile` (if given) and then _exit(0)s, so a shell or init script sees
// success only once the daemon really runs; if the daemon cannot start, the caller
// prints "poolwatch: cannot daemonize: <reason>" to stderr and _exit(1)s.
//
// Call it after Pidfile::acquire (so "already running" reaches the terminal) and
// after reading the config, but BEFORE creating the io_context, threads or any other
// descriptors that must not be shared. Throws std::system_error if the first fork
// fails (nothing has changed then).
void daemonize(Pidfile* pidfile);

}  // namespace poolwatch
