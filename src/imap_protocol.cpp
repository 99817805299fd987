#include "poolwatch/imap_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <random>

namespace poolwatch {

namespace {

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return upper(x) == upper(y); });
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = upper(c);
  return out;
}

// Tabs are tolerated; other control bytes mean the peer is not speaking IMAP.
bool has_control_bytes(std::string_view line) {
  return std::any_of(line.begin(), line.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

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

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]))
                                << 8 |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += alphabet[n >> 6 & 63];
    out += alphabet[n & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += left == 2 ? alphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string sasl_plain_response(std::string_view authzid, std::string_view authcid,
                                std::string_view password) {
  std::string message;
  message.reserve(authzid.size() + authcid.size() + password.size() + 2);
  message.append(authzid).push_back('\0');
  message.append(authcid).push_back('\0');
  message.append(password);
  return base64_encode(message);
}

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

std::optional<std::vector<std::string>> capabilities_of(const ResponseLine& line) {
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
  std::vector<std::string> caps;
  while (!list.empty()) {
    auto [word, rest] = split_word(list);
    if (!word.empty()) caps.push_back(to_upper(word));
    list = rest;
  }
  return caps;
}

bool has_capability(const std::vector<std::string>& caps, std::string_view name) {
  return std::any_of(caps.begin(), caps.end(), [&](const auto& c) { return iequals(c, name); });
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
  constexpr std::size_t max_length = 200;
  if (out.size() > max_length) out = out.substr(0, max_length) + "...";
  return out;
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

namespace deep_check {

std::string make_marker() {
  std::random_device random;
  std::uniform_int_distribution<std::uint32_t> distribution;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("{} {}-{:08x}", probe_subject_prefix,
                     std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                     distribution(random));
}

std::string make_message(std::string_view marker, std::string_view recipient) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
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

bool is_probe_message(const std::vector<std::string>& header_lines) {
  constexpr std::string_view subject = "Subject:";
  for (const auto& line : header_lines) {
    if (line.size() < subject.size() || !iequals(line.substr(0, subject.size()), subject)) continue;
    std::string_view value = std::string_view(line).substr(subject.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    return value.substr(0, probe_subject_prefix.size()) == probe_subject_prefix;
  }
  return false;
}

}  // namespace deep_check
}  // namespace poolwatch
