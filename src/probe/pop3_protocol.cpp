#include "poolwatch/probe/pop3_protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "poolwatch/common/text.hpp"

namespace poolwatch::pop3 {

namespace {

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const auto a = static_cast<unsigned char>(s[i]);
    const auto b = static_cast<unsigned char>(prefix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

bool icontains(std::string_view s, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (istarts_with(s.substr(i), needle)) return true;
  return false;
}

std::optional<std::size_t> parse_number(std::string_view& s) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return value;
}

}  // namespace

std::optional<Reply> parse_reply(std::string_view line) {
  if (has_control_bytes(line)) return std::nullopt;
  Reply reply;
  std::string_view rest;
  if (istarts_with(line, "+OK") && (line.size() == 3 || line[3] == ' ')) {
    reply.kind = ReplyKind::ok;
    rest = line.substr(3);
  } else if (istarts_with(line, "-ERR") && (line.size() == 4 || line[4] == ' ')) {
    reply.kind = ReplyKind::err;
    rest = line.substr(4);
  } else if (line == "+" || line.starts_with("+ ")) {
    reply.kind = ReplyKind::continuation;
    rest = line.substr(1);
  } else {
    return std::nullopt;
  }
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (reply.kind != ReplyKind::continuation && !rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close != std::string_view::npos) {
      reply.code = std::string(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
  }
  reply.text = std::string(rest);
  return reply;
}

FailureClass classify_auth_failure(const Reply& reply) {
  if (reply.kind != ReplyKind::err) return FailureClass::protocol_error;
  if (istarts_with(reply.code, "SYS/TEMP") || istarts_with(reply.code, "IN-USE"))
    return FailureClass::auth_temporary;
  // Dovecot: "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS)
  // connections." The backend is fine; the probe is misconfigured.
  if (icontains(reply.text, "Plaintext authentication disallowed"))
    return FailureClass::config_error;
  return FailureClass::auth_rejected;
}

std::optional<MaildropStat> parse_stat(const Reply& reply) {
  if (reply.kind != ReplyKind::ok) return std::nullopt;
  // The code split may have taken nothing; STAT replies carry no code.
  std::string_view rest = reply.text;
  MaildropStat stat;
  const auto messages = parse_number(rest);
  if (!messages || rest.empty() || rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(1);
  const auto octets = parse_number(rest);
  if (!octets || (!rest.empty() && rest.front() != ' ')) return std::nullopt;
  stat.messages = *messages;
  stat.octets = *octets;
  return stat;
}

std::string describe(const Reply& reply) {
  std::string out = reply.kind == ReplyKind::ok    ? "+OK"
                    : reply.kind == ReplyKind::err ? "-ERR"
                                                   : "+";
  if (!reply.code.empty()) out += " [" + reply.code + "]";
  if (!reply.text.empty()) out += " " + reply.text;
  // The parser refused C0 controls; this also replaces C1 controls and invalid UTF-8.
  return printable_excerpt(out, 200);
}

}  // namespace poolwatch::pop3
