// The director's one-line replies and the handshake: the VERSION line, the reply to a
// host command (HOST-DOWN, HOST-UP, HOST-FLUSH, HOST-RESET-USERS) and Dovecot's
// tab-escaping, whose unescape must undo the escape for any bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/director/director_protocol.hpp"

namespace director = poolwatch::director;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = poolwatch::fuzz::as_text(data, size);
  for (const auto line : poolwatch::fuzz::lines_of(text)) {
    if (const auto problem = director::version_line_error(line)) {
      FUZZ_CHECK(poolwatch::fuzz::printable(*problem));
    }
    const auto status = director::classify_reply(line);
    FUZZ_CHECK(!poolwatch::to_string(status).empty());
    const auto fields = director::split_tabs(line);
    FUZZ_CHECK(!fields.empty());
    std::size_t joined = fields.size() - 1;
    for (const auto field : fields) joined += field.size();
    FUZZ_CHECK(joined == line.size());
    const auto unescaped = director::tab_unescape(line);
    FUZZ_CHECK(unescaped.size() <= line.size());
  }
  // Escaping any bytes gives a field without TAB, CR or LF that unescapes to them.
  const auto escaped = director::tab_escape(text);
  FUZZ_CHECK(escaped.find_first_of("\t\r\n") == std::string::npos);
  FUZZ_CHECK(director::tab_unescape(escaped) == text);
  return 0;
}
