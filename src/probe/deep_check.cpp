#include "poolwatch/probe/deep_check.hpp"

#include <fmt/format.h>

#include <array>
#include <ctime>

#include "poolwatch/common/text.hpp"

namespace poolwatch::deep_check {

std::string make_marker(std::int64_t unix_time, std::uint32_t random) {
  return fmt::format("{} {}-{:08x}", probe_subject_prefix, unix_time, random);
}

std::string make_message(std::string_view marker, std::string_view recipient,
                         std::int64_t unix_time) {
  const auto now = static_cast<std::time_t>(unix_time);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 64> date{};
  const auto date_size =
      std::strftime(date.data(), date.size(), "%a, %d %b %Y %H:%M:%S +0000", &utc);
  auto id = std::string(marker.substr(marker.find(' ') + 1));
  return fmt::format(
      "From: poolwatch <poolwatch@localhost>\r\n"
      "To: <{}>\r\n"
      "Subject: {}\r\n"
      "Date: {}\r\n"
      "Message-ID: <{}.{}@localhost>\r\n"
      "\r\n"
      "poolwatch deep check test message; it is deleted by the next probe.\r\n",
      recipient, marker, std::string_view(date.data(), date_size), id, probe_subject_prefix);
}

std::optional<bool> probe_subject(std::string_view header_line) {
  constexpr std::string_view subject = "Subject:";
  if (header_line.size() < subject.size() ||
      !iequals(header_line.substr(0, subject.size()), subject))
    return std::nullopt;
  std::string_view value = header_line.substr(subject.size());
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value.substr(0, probe_subject_prefix.size()) == probe_subject_prefix;
}

}  // namespace poolwatch::deep_check
