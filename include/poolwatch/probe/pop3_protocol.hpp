#pragma once
// Sans-io POP3 (RFC 1939, 2449 response codes, 2595 STLS, 5034 AUTH) reply parsing for
// the probe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch::pop3 {

enum class ReplyKind { ok, err, continuation };

struct Reply {
  ReplyKind kind = ReplyKind::err;
  std::string code;  // RFC 2449 extended response code without brackets: "SYS/TEMP", "AUTH"
  std::string text;  // the rest of the line
};

// "+OK ...", "-ERR ..." or a SASL continuation "+ ..."; nullopt for anything else
// (garbage, control bytes), which the probe reports as a protocol error.
std::optional<Reply> parse_reply(std::string_view line);

// The failure class of a -ERR reply to USER, PASS or AUTH:
// [SYS/TEMP] and [IN-USE] -> auth_temporary; "Plaintext authentication disallowed" ->
// config_error; [AUTH], [SYS/PERM] or no code -> auth_rejected.
FailureClass classify_auth_failure(const Reply& reply);

struct MaildropStat {
  std::size_t messages = 0;
  std::size_t octets = 0;
};

// The "+OK nn mm" reply to STAT; nullopt when it is not one.
std::optional<MaildropStat> parse_stat(const Reply& reply);

// "-ERR [CODE] text" style summary for reasons and logs.
std::string describe(const Reply& reply);

}  // namespace poolwatch::pop3
