#pragma once
// The destructive deep checks (IMAP APPEND+EXPUNGE, LMTP delivery, POP3 DELE) share one
// marker: every test message has a Subject starting with probe_subject_prefix, so any
// of the cleanups (IMAP SEARCH SUBJECT, POP3 TOP) also removes what another check or a
// crashed probe left behind, and never touches other mail. Pure: the time and the random
// part come from the caller.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace poolwatch::deep_check {

inline constexpr std::string_view probe_subject_prefix = "poolwatch-probe";

// "poolwatch-probe <unix-time>-<8 hex digits of random>": unique per probe.
std::string make_marker(std::int64_t unix_time, std::uint32_t random);

// A small RFC 5322 message with Subject `marker`, To `recipient`, dated `unix_time`;
// CRLF line ends, ending in CRLF, no line starting with '.'.
std::string make_message(std::string_view marker, std::string_view recipient,
                         std::int64_t unix_time);

// One header line: nullopt when it is not a Subject line, else whether that Subject
// starts with the prefix. The first Subject line of a header decides; lines are judged
// one at a time so that a header is never held whole.
std::optional<bool> probe_subject(std::string_view header_line);

}  // namespace poolwatch::deep_check
