// HOST-LIST, the director's reply that every scan parses: the input is the reply as the
// socket delivers it, cut into lines on LF. Checks what the rest of poolwatch relies
// on: within the caps, each address once and a backend address, tags within Dovecot's
// bound, warnings bounded and printable, and after done or failed nothing more accepted.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/director/director_protocol.hpp"

namespace {

namespace director = poolwatch::director;
using Parser = director::HostListParser;

void check_single_line(std::string_view line) {
  const auto parsed = director::parse_host_line(line);
  FUZZ_CHECK(parsed.host.has_value() != !parsed.error.empty());
  if (parsed.host) FUZZ_CHECK(parsed.host->tag.size() <= director::kMaxTagBytes);
}

void check_done(Parser& parser) {
  const auto warnings = parser.warnings();
  FUZZ_CHECK(warnings.size() <= director::kMaxHostListWarnings + 1);
  for (const auto& warning : warnings) {
    FUZZ_CHECK(poolwatch::fuzz::printable(warning));
    FUZZ_CHECK(warning.size() <= 1024);
  }
  const auto snapshot = parser.take();
  FUZZ_CHECK(snapshot.hosts.size() <= director::kMaxHosts);
  std::set<poolwatch::IpAddress> seen;
  for (const auto& host : snapshot.hosts) {
    FUZZ_CHECK(seen.insert(host.address).second);
    FUZZ_CHECK(!director::unusable_backend_address(host.address));
    FUZZ_CHECK(host.tag.size() <= director::kMaxTagBytes);
    FUZZ_CHECK(snapshot.find(host.address) == &host);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Parser parser;
  for (const auto line : poolwatch::fuzz::lines_of(poolwatch::fuzz::as_text(data, size))) {
    check_single_line(line);
    const auto before = parser.state();
    const auto state = parser.feed_line(line);
    FUZZ_CHECK(state == parser.state());
    // A line after the end of the list fails it: the reply was not what it seemed.
    if (before != Parser::State::need_more) FUZZ_CHECK(state == Parser::State::failed);
    if (state == Parser::State::failed) FUZZ_CHECK(!parser.error().empty());
  }
  if (parser.state() == Parser::State::done) check_done(parser);
  return 0;
}
