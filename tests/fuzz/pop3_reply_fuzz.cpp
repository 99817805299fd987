// POP3 replies from a backend: greeting, USER/PASS/AUTH replies with RFC 2449 codes,
// SASL continuations and STAT. A reply that parses carries no control byte.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/probe/pop3_protocol.hpp"

namespace pop3 = poolwatch::pop3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const auto raw : poolwatch::fuzz::lines_of(poolwatch::fuzz::as_text(data, size))) {
    const auto line = poolwatch::fuzz::without_cr(raw);
    const auto reply = pop3::parse_reply(line);
    if (!reply) continue;
    FUZZ_CHECK(poolwatch::fuzz::printable(line));
    FUZZ_CHECK(reply->code.size() + reply->text.size() <= line.size());
    if (reply->kind == pop3::ReplyKind::err) pop3::classify_auth_failure(*reply);
    const auto stat = pop3::parse_stat(*reply);
    if (stat) FUZZ_CHECK(reply->kind == pop3::ReplyKind::ok);
    FUZZ_CHECK(poolwatch::fuzz::printable(pop3::describe(*reply)));
  }
  return 0;
}
