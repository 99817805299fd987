#pragma once
// Sans-io LMTP/SMTP (RFC 2033, 5321) reply parsing: multi-line replies ("250-..."
// continuation lines, then "250 ..."), reply codes and LHLO/EHLO extensions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch::lmtp {

struct Reply {
  int code = 0;                    // 220, 250, 550, ...
  std::vector<std::string> lines;  // the text of each line, without "250-" / "250 "

  bool positive() const { return code >= 200 && code < 300; }
  bool transient_failure() const { return code >= 400 && code < 500; }
  bool permanent_failure() const { return code >= 500 && code < 600; }
};

// Assembles one reply from its lines. A reply ends with a line whose code is followed by
// a space (or nothing); every line must carry the same three-digit code.
class ReplyParser {
 public:
  enum class Result { incomplete, complete, malformed };

  explicit ReplyParser(std::size_t max_lines = 128) : max_lines_(max_lines) {}

  // Feeds one line without CRLF. After complete or malformed, call reset() first.
  Result feed(std::string_view line);
  const Reply& reply() const { return reply_; }
  void reset();

 private:
  std::size_t max_lines_;
  Reply reply_;
};

// The extension keywords of an LHLO/EHLO reply (every line after the first), upper-cased,
// each with its parameters dropped: "XCLIENT ADDR PORT" -> "XCLIENT".
std::vector<std::string> extensions_of(const Reply& reply);
bool has_extension(const Reply& reply, std::string_view keyword);

// "550 5.1.1 <x> User doesn't exist" style one-line summary for reasons and logs.
std::string describe(const Reply& reply);

}  // namespace poolwatch::lmtp
