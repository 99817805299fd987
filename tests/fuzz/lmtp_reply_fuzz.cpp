// LMTP/SMTP replies from a backend, multi-line ("250-...", then "250 ..."), as the LMTP
// probe reads them: every reply assembled stays within the line cap and has one code.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/probe/lmtp_protocol.hpp"

namespace lmtp = poolwatch::lmtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxLines = 16;  // small, so that the fuzzer reaches the cap
  lmtp::ReplyParser parser(kMaxLines);
  for (const auto raw : poolwatch::fuzz::lines_of(poolwatch::fuzz::as_text(data, size))) {
    const auto line = poolwatch::fuzz::without_cr(raw);
    const auto result = parser.feed(line);
    const auto& reply = parser.reply();
    FUZZ_CHECK(reply.lines.size() <= kMaxLines);
    if (result == lmtp::ReplyParser::Result::incomplete) continue;
    if (result == lmtp::ReplyParser::Result::complete) {
      FUZZ_CHECK(reply.code >= 100 && reply.code <= 599);
      FUZZ_CHECK(!reply.lines.empty());
      for (const auto& text : reply.lines) FUZZ_CHECK(poolwatch::fuzz::printable(text));
      for (const auto& keyword : lmtp::extensions_of(reply)) {
        FUZZ_CHECK(lmtp::has_extension(reply, keyword));
      }
      FUZZ_CHECK(poolwatch::fuzz::printable(lmtp::describe(reply)));
    }
    parser.reset();
    FUZZ_CHECK(parser.reply().lines.empty());
  }
  return 0;
}
