// The fake backends' replies, modelled on Dovecot 2.3.19 transcripts (see
// /work/shared/docs/dovecot-director-lab-notes.md).

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "support/fake_mail_server.hpp"

namespace poolwatch::testing {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos) return {s, {}};
  return {s.substr(0, space), s.substr(space + 1)};
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    int value;
    if (c >= 'A' && c <= 'Z')
      value = c - 'A';
    else if (c >= 'a' && c <= 'z')
      value = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      value = c - '0' + 52;
    else if (c == '+')
      value = 62;
    else if (c == '/')
      value = 63;
    else if (c == '=')
      break;
    else
      return std::nullopt;
    bits = bits << 6 | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>(bits >> count & 0xff);
    }
  }
  return out;
}

// IMAP atoms and quoted strings ("a\"b"), as LOGIN arguments arrive.
std::vector<std::string> imap_strings(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::string value;
    if (s[i] == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i];
      }
      ++i;
    } else {
      for (; i < s.size() && s[i] != ' '; ++i) value += s[i];
    }
    out.push_back(std::move(value));
  }
  return out;
}

constexpr std::string_view dovecot_temp_failure =
    "Temporary authentication failure. [fake:2026-11-23 00:06:22]";

}  // namespace

bool FakeResponder::tls_offered() const {
  return options_.behaviour != FakeBehaviour::no_starttls && options_.tls != TlsMode::implicit &&
         !tls_active_;
}

std::string FakeResponder::imap_capabilities() const {
  std::string caps = "IMAP4rev1";
  if (options_.sasl_ir) caps += " SASL-IR";
  caps += " LOGIN-REFERRALS ID ENABLE IDLE";
  if (options_.literal_plus) caps += " LITERAL+";
  if (tls_offered()) caps += " STARTTLS";
  if (options_.behaviour == FakeBehaviour::login_disabled && !tls_active_) caps += " LOGINDISABLED";
  return caps + " AUTH=PLAIN AUTH=LOGIN";
}

std::string FakeResponder::greeting() const {
  const auto behaviour = options_.behaviour;
  const bool refuse = behaviour == FakeBehaviour::bye || behaviour == FakeBehaviour::preauth;
  switch (options_.protocol) {
    case Protocol::imap:
      if (behaviour == FakeBehaviour::preauth)
        return "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as probe\r\n";
      if (behaviour == FakeBehaviour::bye) return "* BYE Too many connections\r\n";
      return std::string(behaviour == FakeBehaviour::auth_wait_notice
                             ? "* OK Waiting for authentication process to respond..\r\n"
                             : "") +
             (options_.capability_in_greeting
                  ? fmt::format("* OK [CAPABILITY {}] Dovecot ready.\r\n", imap_capabilities())
                  : "* OK Dovecot ready.\r\n");
    case Protocol::pop3:
      return refuse ? "-ERR [SYS/TEMP] Too many connections\r\n"
                    : "+OK [XCLIENT] Dovecot ready.\r\n";
    case Protocol::lmtp:
      return refuse ? "421 4.3.2 Service not available\r\n"
                    : "220 backend1.test Dovecot ready.\r\n";
  }
  return {};
}

bool FakeResponder::check_plain(std::string_view base64) const {
  const auto decoded = base64_decode(base64);
  if (!decoded) return false;
  const auto first = decoded->find('\0');
  const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
  if (second == std::string::npos) return false;
  const auto authzid = decoded->substr(0, first);
  const auto authcid = decoded->substr(first + 1, second - first - 1);
  const auto password = decoded->substr(second + 1);
  if (authcid == options_.user && password == options_.password)
    return authzid.empty() || authzid == options_.user;
  return authcid == options_.master_user && password == options_.master_password &&
         authzid == options_.user;
}

FakeReply FakeResponder::reply_to(std::string_view line) {
  const auto behaviour = options_.behaviour;
  if (behaviour == FakeBehaviour::garbage_after_greeting) return {"\x01\x02\xff garbage \x7f\r\n"};
  switch (options_.protocol) {
    case Protocol::imap: {
      if (behaviour == FakeBehaviour::echo_commands) return imap_echo(line);
      auto reply = imap(line);
      if (behaviour == FakeBehaviour::flood_untagged) reply.text = untagged_flood() + reply.text;
      return reply;
    }
    case Protocol::pop3:
      return behaviour == FakeBehaviour::echo_commands ? pop3_echo(line) : pop3(line);
    case Protocol::lmtp:
      return lmtp(line);
  }
  return {};
}

FakeReply FakeResponder::imap(std::string_view line) {
  const auto auth_result = [this](std::string_view tag, bool ok) -> FakeReply {
    if (options_.behaviour == FakeBehaviour::temp_auth_failure)
      return {fmt::format("{} NO [UNAVAILABLE] {}\r\n", tag, dovecot_temp_failure)};
    if (!ok || options_.behaviour == FakeBehaviour::reject_password)
      return {fmt::format("{} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", tag)};
    return {fmt::format(
        "{} OK [CAPABILITY IMAP4rev1 SASL-IR ID ENABLE IDLE SORT{}{} NOTIFY] Logged in\r\n", tag,
        options_.uidplus ? " UIDPLUS" : "", options_.literal_plus ? " LITERAL+" : "")};
  };
  if (!pending_auth_tag_.empty()) {
    const auto tag = std::exchange(pending_auth_tag_, {});
    return auth_result(tag, check_plain(line));
  }
  if (append_remaining_) return imap_append_line(line);
  const auto [tag, rest] = split_word(line);
  const auto [verb, args] = split_word(rest);
  const auto command = upper(verb);
  if (command == "CAPABILITY")
    return {fmt::format("* CAPABILITY {}\r\n{} OK Pre-login capabilities listed.\r\n",
                        imap_capabilities(), tag)};
  if (command == "STARTTLS") {
    if (!tls_offered()) return {fmt::format("{} BAD Unknown command.\r\n", tag)};
    tls_active_ = true;
    const bool inject = options_.behaviour == FakeBehaviour::injection_after_starttls;
    return {fmt::format("{} OK Begin TLS negotiation now.\r\n{}", tag,
                        inject ? "* OK injected\r\n" : ""),
            FakeReply::Then::start_tls};
  }
  if (command == "LOGIN") {
    if (options_.behaviour == FakeBehaviour::login_disabled && !tls_active_)
      return {
          fmt::format("* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS\r\n"
                      "{} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
                      "non-secure (SSL/TLS) connections.\r\n",
                      tag)};
    const auto strings = imap_strings(args);
    return auth_result(
        tag, strings.size() == 2 && strings[0] == options_.user && strings[1] == options_.password);
  }
  if (command == "AUTHENTICATE") {
    const auto [mechanism, initial] = split_word(args);
    if (upper(mechanism) != "PLAIN")
      return {fmt::format("{} NO Unsupported authentication mechanism.\r\n", tag)};
    if (!initial.empty()) return auth_result(tag, check_plain(initial));
    pending_auth_tag_ = std::string(tag);
    return {"+ \r\n"};
  }
  if (command == "LIST")
    return {fmt::format("* LIST (\\HasNoChildren) \".\" INBOX\r\n{} OK List completed.\r\n", tag)};
  if (command == "SELECT")
    return {
        fmt::format("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* {} EXISTS\r\n"
                    "* 0 RECENT\r\n{} OK [READ-WRITE] Select completed.\r\n",
                    options_.mailbox->size(), tag)};
  if (command == "APPEND" || command == "UID" || command == "EXPUNGE")
    return imap_mailbox(tag, command, args);
  if (command == "LOGOUT")
    return {fmt::format("* BYE Logging out\r\n{} OK Logout completed.\r\n", tag),
            FakeReply::Then::close};
  return {fmt::format("{} BAD Error in IMAP command received by server.\r\n", tag)};
}

FakeReply FakeResponder::pop3(std::string_view line) {
  const auto auth_result = [this](bool ok) -> FakeReply {
    if (options_.behaviour == FakeBehaviour::temp_auth_failure)
      return {fmt::format("-ERR [SYS/TEMP] {}\r\n", dovecot_temp_failure)};
    if (!ok || options_.behaviour == FakeBehaviour::reject_password)
      return {"-ERR [AUTH] Authentication failed.\r\n"};
    return {"+OK Logged in.\r\n"};
  };
  if (pending_pop3_auth_) {
    pending_pop3_auth_ = false;
    return auth_result(check_plain(line));
  }
  const auto [verb, args] = split_word(line);
  const auto command = upper(verb);
  if (command == "STLS") {
    if (!tls_offered()) return {"-ERR TLS support isn't enabled.\r\n"};
    tls_active_ = true;
    return {"+OK Begin TLS negotiation now.\r\n", FakeReply::Then::start_tls};
  }
  if (command == "USER") {
    if (options_.behaviour == FakeBehaviour::login_disabled && !tls_active_)
      return {
          "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
          "connections.\r\n"};
    user_ok_ = args == options_.user;
    return {"+OK\r\n"};
  }
  if (command == "PASS") return auth_result(user_ok_ && args == options_.password);
  if (command == "AUTH") {
    const auto [mechanism, initial] = split_word(args);
    if (upper(mechanism) != "PLAIN") return {"-ERR Unsupported authentication mechanism.\r\n"};
    if (!initial.empty()) return auth_result(check_plain(initial));
    pending_pop3_auth_ = true;
    return {"+ \r\n"};
  }
  if (command == "STAT" || command == "LIST" || command == "TOP" || command == "RETR" ||
      command == "DELE")
    return pop3_mailbox(command, args);
  if (command == "QUIT") {
    if (!pop3_deleted_.empty()) options_.mailbox->remove(pop3_deleted_);
    return {"+OK Logging out.\r\n", FakeReply::Then::close};
  }
  return {"-ERR Unknown command.\r\n"};
}

FakeReply FakeResponder::lmtp(std::string_view line) {
  if (lmtp_data_) return lmtp_data_line(line);
  const auto command = upper(line.substr(0, line.find_first_of(" :")));
  if (command == "LHLO")
    return {std::string("250-backend1.test\r\n250-8BITMIME\r\n250-CHUNKING\r\n"
                        "250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n") +
            (tls_offered() ? "250-STARTTLS\r\n" : "") +
            "250-XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT\r\n250 XRCPTFORWARD\r\n"};
  if (command == "STARTTLS") {
    if (!tls_offered()) return {"502 5.5.1 Unknown command\r\n"};
    tls_active_ = true;
    return {"220 2.0.0 Begin TLS negotiation now.\r\n", FakeReply::Then::start_tls};
  }
  if (command == "MAIL") return {"250 2.1.0 OK\r\n"};
  if (command == "RCPT") {
    const auto open = line.find('<');
    const auto close = line.find('>');
    const auto address = open < close && close != std::string_view::npos
                             ? line.substr(open + 1, close - open - 1)
                             : std::string_view{};
    const auto local_part = address.substr(0, address.find('@'));
    if (options_.behaviour == FakeBehaviour::temp_auth_failure)
      return {fmt::format("451 4.3.0 <{}> Temporary internal error\r\n", address)};
    if (local_part != options_.user || options_.behaviour == FakeBehaviour::reject_password)
      return {fmt::format("550 5.1.1 <{}> User doesn't exist: {}\r\n", address, address)};
    return {"250 2.1.5 OK\r\n"};
  }
  if (command == "RSET") return {"250 2.0.0 OK\r\n"};
  if (command == "DATA") {
    lmtp_data_.emplace();
    return {"354 OK\r\n"};
  }
  if (command == "QUIT") return {"221 2.0.0 Bye\r\n", FakeReply::Then::close};
  return {"500 5.5.1 Unknown command\r\n"};
}

namespace {

// "1,3,5:7" -> {1, 3, 5, 6, 7}; nullopt when malformed.
std::optional<std::vector<std::uint32_t>> parse_uid_set(std::string_view set) {
  std::vector<std::uint32_t> out;
  while (!set.empty()) {
    const auto comma = set.find(',');
    const auto item = set.substr(0, comma);
    const auto colon = item.find(':');
    const auto first = std::strtoul(std::string(item.substr(0, colon)).c_str(), nullptr, 10);
    const auto last = colon == std::string_view::npos
                          ? first
                          : std::strtoul(std::string(item.substr(colon + 1)).c_str(), nullptr, 10);
    if (first == 0 || last < first || last - first > 100000) return std::nullopt;
    for (auto uid = first; uid <= last; ++uid) out.push_back(static_cast<std::uint32_t>(uid));
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }
  return out;
}

// The message with CRLF line ends, dot-stuffed, its header and the first `body_lines`.
std::string pop3_lines(std::string_view text, std::optional<std::size_t> body_lines) {
  std::string out;
  bool in_body = false;
  std::size_t body_seen = 0;
  while (!text.empty()) {
    const auto end = text.find("\r\n");
    const auto line = text.substr(0, end);
    if (in_body && body_lines && body_seen++ >= *body_lines) break;
    if (line.empty()) in_body = true;
    if (!line.empty() && line.front() == '.') out += '.';
    out.append(line).append("\r\n");
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return out;
}

}  // namespace

FakeReply FakeResponder::imap_mailbox(std::string_view tag, std::string_view command,
                                      std::string_view args) {
  auto& mailbox = *options_.mailbox;
  const auto bad =
      FakeReply{fmt::format("{} BAD Error in IMAP command received by server.\r\n", tag)};
  if (command == "APPEND") {
    // APPEND INBOX [(flags)] {n} or {n+}: the literal follows on the next lines.
    const auto open = args.rfind('{');
    if (open == std::string_view::npos || args.back() != '}') return bad;
    const bool plus = args[args.size() - 2] == '+';
    const auto size_text = args.substr(open + 1, args.size() - open - (plus ? 3 : 2));
    append_tag_ = std::string(tag);
    append_remaining_ = std::strtoul(std::string(size_text).c_str(), nullptr, 10);
    append_text_.clear();
    if (plus) return {};
    if (options_.behaviour == FakeBehaviour::reject_append) {
      append_remaining_.reset();
      return {fmt::format("{} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n", tag)};
    }
    return {"+ OK\r\n"};
  }
  if (command == "EXPUNGE") {
    mailbox.expunge(std::nullopt);
    return {fmt::format("{} OK Expunge completed.\r\n", tag)};
  }
  // UID SEARCH SUBJECT "x" | UID STORE set +FLAGS.SILENT (\Deleted) | UID EXPUNGE set
  const auto [verb, rest] = split_word(args);
  const auto uid_command = upper(verb);
  if (uid_command == "SEARCH") {
    const auto [key, value] = split_word(rest);
    const auto strings = imap_strings(value);
    if (upper(key) != "SUBJECT" || strings.size() != 1) return bad;
    std::string found = "* SEARCH";
    for (const auto uid : mailbox.search_subject(strings[0])) found += fmt::format(" {}", uid);
    return {fmt::format("{}\r\n{} OK Search completed.\r\n", found, tag)};
  }
  const auto [set, operation] = split_word(rest);
  const auto uids = parse_uid_set(set);
  if (!uids) return bad;
  if (uid_command == "STORE") {
    if (upper(operation) != "+FLAGS.SILENT (\\DELETED)") return bad;
    mailbox.flag_deleted(*uids);
    return {fmt::format("{} OK Store completed.\r\n", tag)};
  }
  if (uid_command == "EXPUNGE" && options_.uidplus) {
    mailbox.expunge(*uids);
    return {fmt::format("{} OK Expunge completed.\r\n", tag)};
  }
  return bad;
}

FakeReply FakeResponder::imap_append_line(std::string_view line) {
  if (*append_remaining_ > 0) {
    const auto size = line.size() + 2;
    if (size > *append_remaining_) {
      append_remaining_.reset();
      return {fmt::format("{} BAD Literal size mismatch\r\n", append_tag_)};
    }
    append_text_.append(line).append("\r\n");
    *append_remaining_ -= size;
    return {};
  }
  append_remaining_.reset();  // the line ending the APPEND command
  if (!line.empty()) return {fmt::format("{} BAD Unexpected text after literal\r\n", append_tag_)};
  if (options_.behaviour == FakeBehaviour::reject_append)
    return {fmt::format("{} NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n",
                        append_tag_)};
  const auto uid = options_.mailbox->add(std::exchange(append_text_, {}));
  return {fmt::format("{} OK [APPENDUID 1 {}] Append completed.\r\n", append_tag_, uid)};
}

FakeReply FakeResponder::pop3_mailbox(std::string_view command, std::string_view args) {
  if (!pop3_maildrop_) pop3_maildrop_ = options_.mailbox->messages();
  const auto& maildrop = *pop3_maildrop_;
  const auto is_deleted = [this](std::uint32_t uid) {
    return std::find(pop3_deleted_.begin(), pop3_deleted_.end(), uid) != pop3_deleted_.end();
  };
  if (command == "STAT" || command == "LIST") {
    std::size_t count = 0;
    std::size_t octets = 0;
    std::string listing;
    for (std::size_t i = 0; i < maildrop.size(); ++i) {
      if (is_deleted(maildrop[i].uid)) continue;
      ++count;
      octets += maildrop[i].text.size();
      listing += fmt::format("{} {}\r\n", i + 1, maildrop[i].text.size());
    }
    if (command == "STAT") return {fmt::format("+OK {} {}\r\n", count, octets)};
    return {fmt::format("+OK {} messages:\r\n{}.\r\n", count, listing)};
  }
  const auto [number_text, lines_text] = split_word(args);
  const auto number = std::strtoul(std::string(number_text).c_str(), nullptr, 10);
  if (number == 0 || number > maildrop.size() || is_deleted(maildrop[number - 1].uid))
    return {fmt::format("-ERR There's no message {}.\r\n", number_text)};
  const auto& message = maildrop[number - 1];
  if (command == "DELE") {
    pop3_deleted_.push_back(message.uid);
    return {"+OK Marked to be deleted.\r\n"};
  }
  std::optional<std::size_t> body_lines;
  if (command == "TOP") {
    if (lines_text.empty()) return {"-ERR Invalid number of lines\r\n"};
    body_lines = std::strtoul(std::string(lines_text).c_str(), nullptr, 10);
  }
  return {fmt::format("+OK {} octets\r\n{}.\r\n", message.text.size(),
                      pop3_lines(message.text, body_lines))};
}

FakeReply FakeResponder::lmtp_data_line(std::string_view line) {
  if (line != ".") {
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    lmtp_data_->append(line).append("\r\n");
    return {};
  }
  options_.mailbox->add(std::exchange(*lmtp_data_, {}));
  lmtp_data_.reset();
  return {fmt::format("250 2.0.0 <{}> Saved\r\n", options_.user)};
}

}  // namespace poolwatch::testing
