#include "poolwatch/common/text.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

namespace poolwatch {

namespace {

bool is_control(unsigned char byte) {
  return byte < 0x20 || byte == 0x7f;
}

// U+0080..U+009F, encoded C2 80..C2 9F: terminals act on some of them as they do on ESC
// (U+009B is CSI), so they are controls like C0.
bool is_c1_control(std::string_view sequence) {
  return sequence.size() == 2 && static_cast<unsigned char>(sequence[0]) == 0xC2 &&
         static_cast<unsigned char>(sequence[1]) < 0xA0;
}

// Format characters a terminal or log viewer acts on: the bidirectional embeddings,
// overrides, isolates and marks reorder what follows on screen (Trojan Source,
// CVE-2021-42574: "\u202Epu LIVE" reads "EVIL up"), and the line and paragraph
// separators U+2028/U+2029 break a line in some viewers.
bool is_format_control(std::string_view sequence) {
  if (sequence == "\xD8\x9C") return true;  // U+061C ARABIC LETTER MARK
  if (sequence.size() != 3 || static_cast<unsigned char>(sequence[0]) != 0xE2) return false;
  const auto second = static_cast<unsigned char>(sequence[1]);
  const auto third = static_cast<unsigned char>(sequence[2]);
  if (second == 0x80) return third == 0x8E || third == 0x8F || (third >= 0xA8 && third <= 0xAE);
  return second == 0x81 && third >= 0xA6 && third <= 0xA9;  // U+2066..U+2069
}

// U+FFFD REPLACEMENT CHARACTER, in UTF-8.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char first = byte(i);
  if (first < 0x80) return 1;
  std::size_t length = 0;
  if (first >= 0xC2 && first <= 0xDF)
    length = 2;
  else if (first >= 0xE0 && first <= 0xEF)
    length = 3;
  else if (first >= 0xF0 && first <= 0xF4)
    length = 4;
  else
    return 0;  // a continuation byte, an overlong lead (C0, C1) or past U+10FFFF (F5..FF)
  // The second byte's range is what excludes overlongs (E0, F0), surrogates (ED) and
  // code points past U+10FFFF (F4).
  const unsigned char low = first == 0xE0 ? 0xA0 : first == 0xF0 ? 0x90 : 0x80;
  const unsigned char high = first == 0xED ? 0x9F : first == 0xF4 ? 0x8F : 0xBF;
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

std::string printable_excerpt(std::string_view text, std::size_t max_length, bool keep_tabs) {
  const std::size_t limit = std::min(text.size(), max_length);
  std::string out;
  out.reserve(limit + 3);
  std::size_t i = 0;
  while (i < limit) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      out += !is_control(byte) || (keep_tabs && byte == '\t') ? text[i] : '?';
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacement;  // one for each byte that is not part of a well-formed sequence
      ++i;
      continue;
    }
    if (i + length > limit) break;  // the cut would split the character: "..." instead
    const auto sequence = text.substr(i, length);
    if (is_c1_control(sequence) || is_format_control(sequence))
      out += '?';
    else
      out += sequence;
    i += length;
  }
  if (text.size() > max_length) out += "...";
  return out;
}

namespace {

bool is_control_not_tab(char c) {
  return c != '\t' && is_control(static_cast<unsigned char>(c));
}

// Whether one of eight bytes is below 0x20 (a tab included) or is 0x7f: exact, by the
// classic "has less" and "has zero" tests of a word.
bool word_has_control_or_tab(std::uint64_t x) {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  const std::uint64_t below_space = (x - ones * 0x20) & ~x & highs;
  const std::uint64_t del = x ^ (ones * 0x7f);
  return (below_space | ((del - ones) & ~del & highs)) != 0;
}

}  // namespace

// Every line a probe reads passes here: eight bytes at a time, and a byte at a time only
// in a word that holds a control or a tab. A byte at a time cost 1.4 % of a
// probe's user-space instructions.
bool has_control_bytes(std::string_view line) {
  std::size_t i = 0;
  for (; i + 8 <= line.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, line.data() + i, sizeof word);
    if (!word_has_control_or_tab(word)) continue;
    if (std::any_of(line.begin() + i, line.begin() + i + 8, is_control_not_tab)) return true;
  }
  return std::any_of(line.begin() + i, line.end(), is_control_not_tab);
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

std::int64_t days_until(std::int64_t then, std::int64_t now) {
  constexpr std::int64_t kDay = 86400;
  const auto left = then - now;
  return left >= 0 ? left / kDay : -((-left + kDay - 1) / kDay);
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
