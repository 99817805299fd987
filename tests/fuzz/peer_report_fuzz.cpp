// The body of a peer's report (GET /ring/v1/report) and the ring's ownership file, as
// the strict JSON decoders read them (report_json, json_reader): any bytes give a value
// or an error, never an exception; what decodes encodes to text that decodes to the
// same value, and its error is printable.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/ring/report_json.hpp"

namespace ring = poolwatch::ring;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = poolwatch::fuzz::as_text(data, size);
  const auto report = ring::decode_report(text);
  FUZZ_CHECK(report.report.has_value() == report.error.empty());
  FUZZ_CHECK(poolwatch::fuzz::printable(report.error));
  if (report.report) {
    const auto encoded = ring::encode_report(*report.report);
    const auto again = ring::decode_report(encoded);
    FUZZ_CHECK(again.report && *again.report == *report.report);
  }
  const auto ownership = ring::decode_ownership(text);
  FUZZ_CHECK(ownership.state.has_value() == ownership.error.empty());
  FUZZ_CHECK(poolwatch::fuzz::printable(ownership.error));
  if (ownership.state) {
    const auto encoded = ring::encode_ownership(*ownership.state);
    const auto again = ring::decode_ownership(encoded);
    FUZZ_CHECK(again.state && *again.state == *ownership.state);
  }
  return 0;
}
