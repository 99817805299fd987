#pragma once
// Where log lines go: stderr, syslog or an append-only file, set up once at startup by
// replacing spdlog's default logger. Everything else logs with spdlog::info(...) etc.

#include <spdlog/common.h>

#include <optional>
#include <string_view>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/log_names.hpp"

namespace poolwatch {

// Replaces the default logger according to `log`:
// - stderr: timestamped lines; under systemd (JOURNAL_STREAM set) no timestamps but a
//   "<N>" priority prefix, since the journal adds its own time and reads the prefix.
// - syslog: openlog("poolwatch", LOG_PID, facility).
// - file: appended to, created with mode 0640; reopen_log_file() after a rotation.
// `debug` forces the debug level. `foreground` (or `debug`) additionally copies a
// syslog/file target to stderr so an operator at a terminal sees it; not under
// systemd, where stderr is the journal already.
// Throws ConfigError for an unknown level or facility, or a log file that cannot be
// opened.
void setup_logging(const LogConfig& log, bool foreground, bool debug);

// SIGHUP / logrotate: reopens the log file by name so lines go to the new file. Does
// nothing unless the target is a file. If the reopen fails, logging continues to the
// old file and the failure is logged.
void reopen_log_file();

}  // namespace poolwatch
