// The state file (the hosts poolwatch took down), parsed from its bytes as
// load_state_file() reads them. A file that parses writes back to text that parses to
// the same hosts; an error is short, printable and quotes no byte of the file but a
// parsed address (the path may name someone else's file).

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/health/state_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = poolwatch::fuzz::as_text(data, size);
  const auto parsed = poolwatch::parse_state(text);
  if (!parsed.error.empty()) {
    FUZZ_CHECK(parsed.hosts.empty());
    FUZZ_CHECK(poolwatch::fuzz::printable(parsed.error));
    FUZZ_CHECK(parsed.error.size() <= 200);
  } else {
    const auto written = poolwatch::format_state(parsed.hosts);
    const auto again = poolwatch::parse_state(written);
    FUZZ_CHECK(again.error.empty());
    FUZZ_CHECK(again.hosts == parsed.hosts);
    FUZZ_CHECK(poolwatch::format_state(again.hosts) == written);
  }
  // Any text as a reason field: escaped, it is one field of one line, and comes back.
  const auto escaped = poolwatch::escape_state_field(text);
  FUZZ_CHECK(escaped.find_first_of("\t\r\n") == std::string::npos);
  const auto unescaped = poolwatch::unescape_state_field(escaped);
  FUZZ_CHECK(unescaped && *unescaped == text);
  return 0;
}
