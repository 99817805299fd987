// IMAP response lines from a backend, as the probe's dialogue reads them: greeting,
// capabilities, the replies to LOGIN/AUTHENTICATE and the deep check's SEARCH. A line
// that parses carries no control byte, so what describe() makes of it may reach a log.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/probe/imap_protocol.hpp"

namespace imap = poolwatch::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const auto raw : poolwatch::fuzz::lines_of(poolwatch::fuzz::as_text(data, size))) {
    const auto line = poolwatch::fuzz::without_cr(raw);
    const auto reply = imap::parse_response_line(line);
    if (reply.kind == imap::LineKind::malformed) continue;
    FUZZ_CHECK(poolwatch::fuzz::printable(line));
    FUZZ_CHECK(reply.tag.size() + reply.code.size() + reply.text.size() <= line.size());
    FUZZ_CHECK(reply.data.size() <= line.size());
    FUZZ_CHECK(reply.kind == imap::LineKind::tagged || reply.tag.empty());
    imap::classify_greeting(reply);
    imap::is_auth_wait_notice(reply);
    if (const auto caps = imap::capabilities_of(reply)) {
      for (const auto cap : caps->words()) {
        FUZZ_CHECK(!cap.empty());
        FUZZ_CHECK(caps->contains(cap));
      }
    }
    if (reply.status) imap::classify_login_failure(reply);
    const auto summary = imap::describe(reply);
    FUZZ_CHECK(poolwatch::fuzz::printable(summary));
    if (const auto numbers = imap::search_result(reply)) {
      const auto set = imap::sequence_set(*numbers);
      FUZZ_CHECK(set.find_first_not_of("0123456789,") == std::string::npos);
    }
  }
  // The value side: what quote_string() accepts is one quoted string.
  if (const auto quoted = imap::quote_string(poolwatch::fuzz::as_text(data, size))) {
    FUZZ_CHECK(quoted->size() >= 2 && quoted->front() == '"' && quoted->back() == '"');
    FUZZ_CHECK(quoted->find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
  }
  return 0;
}
