#include "poolwatch/probe/imap_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "poolwatch/common/text.hpp"

namespace poolwatch {

namespace {

bool is_tag_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("(){%*\"\\]+").find(c) == std::string_view::npos;
}

std::optional<imap::Status> status_from_word(std::string_view word) {
  using imap::Status;
  if (iequals(word, "OK")) return Status::ok;
  if (iequals(word, "NO")) return Status::no;
  if (iequals(word, "BAD")) return Status::bad;
  if (iequals(word, "PREAUTH")) return Status::preauth;
  if (iequals(word, "BYE")) return Status::bye;
  return std::nullopt;
}

std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos) return {s, {}};
  return {s.substr(0, space), s.substr(space + 1)};
}

// Fills status, code and text from "OK [CODE] text"; false when the code is unterminated.
bool parse_status_tail(std::string_view rest, imap::ResponseLine& out) {
  auto [word, tail] = split_word(rest);
  out.status = status_from_word(word);
  if (!out.status) return true;
  if (!tail.empty() && tail.front() == '[') {
    const auto close = tail.find(']');
    if (close == std::string_view::npos) return false;
    out.code = std::string(tail.substr(1, close - 1));
    tail.remove_prefix(close + 1);
    if (!tail.empty() && tail.front() == ' ') tail.remove_prefix(1);
  }
  out.text = std::string(tail);
  return true;
}

}  // namespace

namespace imap {

ResponseLine parse_response_line(std::string_view line) {
  ResponseLine out;
  if (line.empty() || has_control_bytes(line)) return out;
  if (line.front() == '+') {
    out.kind = LineKind::continuation;
    line.remove_prefix(1);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    out.data = std::string(line);
    return out;
  }
  if (line.size() >= 2 && line[0] == '*' && line[1] == ' ') {
    line.remove_prefix(2);
    out.data = std::string(line);
    if (!parse_status_tail(line, out)) return ResponseLine{};
    out.kind = LineKind::untagged;
    return out;
  }
  auto [tag, rest] = split_word(line);
  if (tag.empty() || !std::all_of(tag.begin(), tag.end(), is_tag_char)) return out;
  if (!parse_status_tail(rest, out)) return ResponseLine{};
  // A tagged line must be a completion result; PREAUTH and BYE are untagged only.
  if (!out.status || *out.status == Status::preauth || *out.status == Status::bye)
    return ResponseLine{};
  out.kind = LineKind::tagged;
  out.tag = std::string(tag);
  return out;
}

bool is_auth_wait_notice(const ResponseLine& line) {
  return line.kind == LineKind::untagged && line.status == Status::ok && line.code.empty() &&
         line.text.starts_with("Waiting for authentication process to respond");
}

GreetingKind classify_greeting(const ResponseLine& line) {
  if (line.kind != LineKind::untagged || !line.status) return GreetingKind::malformed;
  switch (*line.status) {
    case Status::ok:
      return is_auth_wait_notice(line) ? GreetingKind::auth_wait : GreetingKind::ok;
    case Status::preauth:
      return GreetingKind::preauth;
    case Status::bye:
      return GreetingKind::bye;
    case Status::no:
    case Status::bad:
      return GreetingKind::malformed;
  }
  return GreetingKind::malformed;
}

CapabilityList::CapabilityList(std::string_view words) {
  while (!words.empty()) {
    auto [word, rest] = split_word(words);
    if (!word.empty()) {
      if (!words_.empty()) words_ += ' ';
      words_.append(word);
    }
    words = rest;
  }
}

std::size_t CapabilityList::size() const {
  return words_.empty()
             ? 0
             : static_cast<std::size_t>(std::count(words_.begin(), words_.end(), ' ')) + 1;
}

std::vector<std::string_view> CapabilityList::words() const {
  std::vector<std::string_view> out;
  for (std::string_view rest = words_; !rest.empty();) {
    auto [word, tail] = split_word(rest);
    out.push_back(word);
    rest = tail;
  }
  return out;
}

bool CapabilityList::contains(std::string_view name) const {
  for (std::string_view rest = words_; !rest.empty();) {
    auto [word, tail] = split_word(rest);
    if (iequals(word, name)) return true;
    rest = tail;
  }
  return false;
}

std::optional<CapabilityList> capabilities_of(const ResponseLine& line) {
  std::string_view list;
  if (line.kind == LineKind::untagged && !line.status) {
    auto [word, rest] = split_word(line.data);
    if (!iequals(word, "CAPABILITY")) return std::nullopt;
    list = rest;
  } else {
    auto [word, rest] = split_word(line.code);
    if (!iequals(word, "CAPABILITY")) return std::nullopt;
    list = rest;
  }
  return CapabilityList(list);
}

std::optional<std::string> quote_string(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n' || c == '\0' || u >= 0x80) return std::nullopt;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

FailureClass classify_login_failure(const ResponseLine& reply) {
  if (reply.status == Status::no) {
    auto [code, rest] = split_word(reply.code);
    if (iequals(code, "UNAVAILABLE")) return FailureClass::auth_temporary;
    if (iequals(code, "PRIVACYREQUIRED")) return FailureClass::config_error;
    return FailureClass::auth_rejected;
  }
  return FailureClass::protocol_error;
}

std::string describe(const ResponseLine& line) {
  std::string out;
  if (line.status) {
    switch (*line.status) {
      case Status::ok:
        out = "OK";
        break;
      case Status::no:
        out = "NO";
        break;
      case Status::bad:
        out = "BAD";
        break;
      case Status::preauth:
        out = "PREAUTH";
        break;
      case Status::bye:
        out = "BYE";
        break;
    }
    if (!line.code.empty()) out += " [" + line.code + "]";
    if (!line.text.empty()) out += " " + line.text;
  } else {
    out = line.data;
  }
  // The parser refused C0 controls; this also replaces C1 controls and invalid UTF-8.
  return printable_excerpt(out, 200);
}

std::optional<std::vector<std::uint32_t>> search_result(const ResponseLine& line) {
  if (line.kind != LineKind::untagged) return std::nullopt;
  std::string_view data = line.data;
  const auto verb = data.substr(0, data.find(' '));
  if (!iequals(verb, "SEARCH")) return std::nullopt;
  data.remove_prefix(verb.size());
  std::vector<std::uint32_t> numbers;
  while (!data.empty()) {
    if (data.front() == ' ') {
      data.remove_prefix(1);
      continue;
    }
    // ESEARCH-style "(MODSEQ n)" trailers are not requested; anything else is malformed.
    std::uint32_t number = 0;
    const auto [end, error] = std::from_chars(data.data(), data.data() + data.size(), number);
    if (error != std::errc{} || number == 0) return std::nullopt;
    numbers.push_back(number);
    data.remove_prefix(static_cast<std::size_t>(end - data.data()));
    if (!data.empty() && data.front() != ' ') return std::nullopt;
  }
  return numbers;
}

std::string sequence_set(const std::vector<std::uint32_t>& numbers) {
  std::string out;
  for (const auto number : numbers) {
    if (!out.empty()) out += ',';
    out += std::to_string(number);
  }
  return out;
}

}  // namespace imap

}  // namespace poolwatch
