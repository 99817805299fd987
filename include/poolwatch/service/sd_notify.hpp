#pragma once
// systemd's readiness protocol spoken directly: one datagram of "KEY=VALUE" lines to the
// AF_UNIX socket named by $NOTIFY_SOCKET. No libsystemd: it is a single sendmsg and the
// daemon must also run where systemd is absent (then every call is a no-op).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace poolwatch {

class SdNotifier {
 public:
  // Disabled: every call succeeds and sends nothing.
  SdNotifier() = default;
  // "/run/systemd/notify", or "@name" for an abstract socket; empty disables.
  explicit SdNotifier(std::string socket_address);

  // Reads $NOTIFY_SOCKET; disabled when it is unset or empty.
  static SdNotifier from_environment();

  bool enabled() const { return !socket_address_.empty(); }
  const std::string& socket_address() const { return socket_address_; }

  // Sends `state` ("READY=1\nSTATUS=...") as one datagram. A delivery failure is
  // returned, not thrown: the monitor keeps working even if systemd cannot be told.
  std::error_code notify(std::string_view state) const;

  std::error_code ready(std::string_view status = {}) const;
  std::error_code status(std::string_view status) const;
  std::error_code watchdog() const;
  // Sent before re-reading the config on SIGHUP; send ready() once it is done.
  std::error_code reloading(std::string_view status = {}) const;
  std::error_code stopping(std::string_view status = {}) const;

 private:
  std::string socket_address_;
};

// The assignment for a free-text status: a newline would start another assignment, so
// control characters become spaces; capped so a huge message cannot fail the send.
std::string status_assignment(std::string_view status);

// systemd's watchdog period from WATCHDOG_USEC, if it is meant for this process
// (WATCHDOG_PID unset or equal to our pid). Send watchdog() at least twice per period.
std::optional<std::chrono::microseconds> watchdog_interval();

// The same from explicit values, for tests: nullptr means unset.
std::optional<std::chrono::microseconds> watchdog_interval(const char* watchdog_usec,
                                                           const char* watchdog_pid, pid_t self);

}  // namespace poolwatch
