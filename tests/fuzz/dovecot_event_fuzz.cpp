// One POST body of the director's event exporter, as passive health reads it
// (passive/proxy_event, passive/classify): any bytes give an event or an error, never an
// exception; what is kept stays within its caps and printable, and the class is one of
// the four. Seeds: the events the real 2.3.19.1 director posted in the lab.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "poolwatch/passive/classify.hpp"
#include "poolwatch/passive/proxy_event.hpp"

namespace passive = poolwatch::passive;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = poolwatch::fuzz::as_text(data, size);
  const auto parsed = passive::parse_dovecot_event(text);
  FUZZ_CHECK(parsed.event.has_value() == parsed.error.empty());
  FUZZ_CHECK(poolwatch::fuzz::printable(parsed.error));
  FUZZ_CHECK(parsed.error.size() <= 64);
  if (!parsed.event) return 0;
  const auto& e = *parsed.event;
  for (const auto* field : {&e.name, &e.service, &e.error, &e.disconnect_side, &e.user}) {
    // printable_excerpt replaces each bad byte by U+FFFD (3 bytes) and marks a cut.
    FUZZ_CHECK(field->size() <= 3 * passive::kMaxEventText + 3);
    FUZZ_CHECK(poolwatch::fuzz::printable(*field));
  }
  const auto classified = passive::classify(e);
  const auto name = passive::to_string(classified.cls);
  FUZZ_CHECK(name == "backend_fault" || name == "user_fault" || name == "success" ||
             name == "ignored");
  FUZZ_CHECK(e.dest_ip || classified.cls == passive::EventClass::ignored);
  return 0;
}
