#include "poolwatch/config/log_names.hpp"

#include <syslog.h>

#include <array>
#include <utility>

namespace poolwatch {

std::optional<int> syslog_facility_from_name(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, int>, 11> facilities{{
      {"daemon", LOG_DAEMON},
      {"mail", LOG_MAIL},
      {"user", LOG_USER},
      {"local0", LOG_LOCAL0},
      {"local1", LOG_LOCAL1},
      {"local2", LOG_LOCAL2},
      {"local3", LOG_LOCAL3},
      {"local4", LOG_LOCAL4},
      {"local5", LOG_LOCAL5},
      {"local6", LOG_LOCAL6},
      {"local7", LOG_LOCAL7},
  }};
  for (const auto& [known, value] : facilities)
    if (known == name) return value;
  return std::nullopt;
}

std::optional<spdlog::level::level_enum> log_level_from_name(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return std::nullopt;
}

}  // namespace poolwatch
