#pragma once
// Internal to the director protocol parsers (HOST-LIST, DIRECTOR-LIST): the one strict
// reading of the director's numeric fields and the one excerpt of its text in errors.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "poolwatch/common/text.hpp"

namespace poolwatch::director_detail {

inline bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Strict unsigned decimal: digits only, no sign, no spaces, no overflow.
template <typename T>
std::optional<T> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 20 || !all_digits(text)) return std::nullopt;
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Strict signed decimal (the director prints time_t with %ld).
inline std::optional<std::int64_t> parse_signed(std::string_view text) {
  const auto digits = text.starts_with('-') ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 19 || !all_digits(digits)) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The director's tabs separate fields: show them as '?' too, so a field boundary in
// an error message is never mistaken for a space.
inline std::string peer_excerpt(std::string_view text) {
  return printable_excerpt(text, 80, false);
}

}  // namespace poolwatch::director_detail
