#pragma once
// Internal to DirectorClient's two files (the commands in director_client.cpp, the
// connection in director_client_connection.cpp): the one reading of a deadline.

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <variant>

#include "poolwatch/config/config.hpp"
#include "poolwatch/director/director_client.hpp"

namespace poolwatch::director_client_detail {

inline DirectorClient::Clock::duration to_duration(Seconds s) {
  return std::chrono::duration_cast<DirectorClient::Clock::duration>(s);
}

inline std::string seconds_text(Seconds s) {
  return fmt::format("{:.1f} s", s.count());
}

// The deadline timer's result when it won a race against an I/O operation: an error
// means the caller cancelled us (the timer wait was aborted), not that time ran out.
template <typename Variant>
std::string deadline_reason(const Variant& result, std::string_view timeout_text) {
  const auto [ec] = std::get<1>(result);
  return ec ? std::string("cancelled") : std::string(timeout_text);
}

}  // namespace poolwatch::director_client_detail
