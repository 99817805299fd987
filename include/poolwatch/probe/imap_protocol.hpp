#pragma once
// Sans-io IMAP4rev1 response parsing and command encoding for the probe: one response
// line in, a typed value out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

namespace imap {

enum class LineKind { untagged, continuation, tagged, malformed };
enum class Status { ok, no, bad, preauth, bye };

struct ResponseLine {
  LineKind kind = LineKind::malformed;
  std::string tag;               // tagged lines only
  std::optional<Status> status;  // set when the line is a status response (OK/NO/BAD/...)
  std::string code;              // response code without brackets: "UNAVAILABLE", "CAPABILITY ..."
  std::string text;              // human-readable text after the code
  std::string data;              // untagged lines: everything after "* "; continuation: after "+"
};

// Classifies one line (without CRLF). Never throws; anything that is not a response
// line is LineKind::malformed.
ResponseLine parse_response_line(std::string_view line);

// "* OK Waiting for authentication process to respond.." is not the greeting: Dovecot
// sends it when auth is slow to start and the real greeting follows.
bool is_auth_wait_notice(const ResponseLine& line);

enum class GreetingKind { ok, auth_wait, preauth, bye, malformed };
GreetingKind classify_greeting(const ResponseLine& line);

// The words of a capability list, kept as the one string they came in: a greeting's
// dozen words as a vector of upper-cased strings cost every IMAP probe about 4000
// instructions and a handful of allocations, for the two or three words it asks about.
class CapabilityList {
 public:
  CapabilityList() = default;
  explicit CapabilityList(std::string_view words);
  bool empty() const { return words_.empty(); }
  void clear() { words_.clear(); }
  std::size_t size() const;
  std::vector<std::string_view> words() const;  // valid while the list lives
  // ASCII case-insensitive: contains("auth=plain") is true for "AUTH=PLAIN".
  bool contains(std::string_view name) const;

 private:
  std::string words_;  // as received, between single spaces
};

// The capability list carried by "* CAPABILITY ..." or a "[CAPABILITY ...]" response
// code; nullopt when the line carries none.
std::optional<CapabilityList> capabilities_of(const ResponseLine& line);

// The value as an IMAP quoted string with `"` and `\` escaped, or nullopt when a quoted
// string cannot carry it (CR, LF, NUL or a byte >= 0x80). The probe then falls back to
// AUTHENTICATE PLAIN, whose base64 carries any byte but NUL; it never sends literals.
std::optional<std::string> quote_string(std::string_view value);

// The failure class of a NO/BAD reply to LOGIN or AUTHENTICATE:
// NO [UNAVAILABLE] -> auth_temporary, NO [PRIVACYREQUIRED] -> config_error (plaintext
// login refused), any other NO -> auth_rejected, BAD (or no status) -> protocol_error.
FailureClass classify_login_failure(const ResponseLine& reply);

// "NO [CODE] text" style summary of a status line for reasons and logs.
std::string describe(const ResponseLine& line);

// "* SEARCH 3 7" (untagged) -> {3, 7}; nullopt when the line is not a SEARCH response.
std::optional<std::vector<std::uint32_t>> search_result(const ResponseLine& line);

// "3,7,9": a sequence set of the given numbers, for UID STORE / UID EXPUNGE.
std::string sequence_set(const std::vector<std::uint32_t>& numbers);

}  // namespace imap

}  // namespace poolwatch
