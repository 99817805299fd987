// The fake backends' hostile behaviours: a flood of untagged lines, and a backend that
// sends every command line back, secrets included, as misconfigured proxies and debug
// modes do.

#include <fmt/format.h>

#include "poolwatch/common/text.hpp"
#include "support/fake_mail_server.hpp"

namespace poolwatch::testing {

namespace {

// The word of `line` at `index` (0 = the first), words separated by single spaces.
std::string_view word_at(std::string_view line, std::size_t index) {
  for (; index > 0; --index) {
    const auto space = line.find(' ');
    if (space == std::string_view::npos) return {};
    line.remove_prefix(space + 1);
  }
  return line.substr(0, line.find(' '));
}

}  // namespace

std::string FakeResponder::untagged_flood() const {
  const std::string line = options_.flood_line + "\r\n";
  std::string flood;
  flood.reserve(options_.flood_bytes + line.size());
  while (flood.size() < options_.flood_bytes) flood += line;
  return flood;
}

FakeReply FakeResponder::imap_echo(std::string_view line) {
  const bool sasl_response = !pending_auth_tag_.empty();
  const std::string tag = sasl_response ? pending_auth_tag_ : std::string(word_at(line, 0));
  const auto verb = ascii_upper(word_at(line, 1));
  auto reply = imap(line);
  const bool awaits_sasl_response = !pending_auth_tag_.empty();
  const bool carries_secret =
      sasl_response || verb == "LOGIN" || (verb == "AUTHENTICATE" && !awaits_sasl_response);
  const auto echo = fmt::format("* BAD Echo: {}\r\n", line);
  if (carries_secret)
    return {echo + fmt::format("{} NO [AUTHENTICATIONFAILED] Echo: {}\r\n", tag, line)};
  if (!reply.text.empty()) reply.text = echo + reply.text;
  return reply;
}

FakeReply FakeResponder::pop3_echo(std::string_view line) {
  if (pending_pop3_auth_) {
    pending_pop3_auth_ = false;
    return {fmt::format("-ERR [AUTH] Echo: {}\r\n", line)};
  }
  const auto verb = ascii_upper(word_at(line, 0));
  if (verb == "PASS") return {fmt::format("-ERR [AUTH] Echo: {}\r\n", line)};
  if (verb == "AUTH") {
    // Asks for the response again, so that the probe sends it on a line of its own too.
    pending_pop3_auth_ = true;
    return {fmt::format("+ Echo: {}\r\n", line)};
  }
  return pop3(line);
}

}  // namespace poolwatch::testing
