#pragma once
// The names log.level and log.syslog_facility accept, shared by the config checks, the
// dovemon mapping and the logging set-up (service/logging).

#include <spdlog/common.h>

#include <optional>
#include <string_view>

namespace poolwatch {

// "daemon", "mail", "user", "local0".."local7" -> LOG_DAEMON etc.
std::optional<int> syslog_facility_from_name(std::string_view name);

// "trace", "debug", "info", "warn", "error" -> the spdlog level.
std::optional<spdlog::level::level_enum> log_level_from_name(std::string_view name);

}  // namespace poolwatch
