#include "poolwatch/common/text.hpp"

#include <algorithm>
#include <chrono>

namespace poolwatch {

namespace {

bool is_control(unsigned char byte) {
  return byte < 0x20 || byte == 0x7f;
}

}  // namespace

std::string printable_excerpt(std::string_view text, std::size_t max_length, bool keep_tabs) {
  std::string out;
  out.reserve(std::min(text.size(), max_length) + 3);
  for (char c : text.substr(0, max_length)) {
    const bool keep = !is_control(static_cast<unsigned char>(c)) || (keep_tabs && c == '\t');
    out += keep ? c : '?';
  }
  if (text.size() > max_length) out += "...";
  return out;
}

bool has_control_bytes(std::string_view line) {
  return std::any_of(line.begin(), line.end(),
                     [](char c) { return c != '\t' && is_control(static_cast<unsigned char>(c)); });
}

char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = ascii_upper(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_upper(x) == ascii_upper(y);
         });
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string exception_message(std::exception_ptr error) {
  if (!error) return {};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace poolwatch
