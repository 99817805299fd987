// What the probe does with a backend's lines besides parsing them: the SecretScrubber
// (the password, in every form the probe sent it, out of what comes back), the
// fixed-memory Transcript, and the deep check's Subject test. The input is a login
// (password, user, master user) and then the backend's lines.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/deep_check.hpp"
#include "poolwatch/probe/sasl.hpp"
#include "poolwatch/probe/secret_scrubber.hpp"
#include "poolwatch/probe/transcript.hpp"

namespace {

using poolwatch::SecretScrubber;

// A password that shares no letter with "<redacted>" cannot be made again by the
// replacement next to peer text, so none of it may survive the scrub.
bool checkable(std::string_view password) {
  return !password.empty() && std::none_of(password.begin(), password.end(), [](char c) {
    return std::string_view("<>redactREDACT").find(c) != std::string_view::npos;
  });
}

bool contains_ignoring_case(std::string_view text, std::string_view part) {
  return std::search(text.begin(), text.end(), part.begin(), part.end(), [](char a, char b) {
           return poolwatch::ascii_upper(a) == poolwatch::ascii_upper(b);
         }) != text.end();
}

void check_transcript(const poolwatch::Transcript& transcript,
                      const poolwatch::TranscriptLimits& limits) {
  const auto lines = transcript.lines();
  FUZZ_CHECK(lines.size() <= limits.head_lines + limits.tail_lines + 1);
  FUZZ_CHECK(transcript.kept_bytes() <= limits.max_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const auto password = input.ConsumeRandomLengthString(64);
  const auto user = input.ConsumeRandomLengthString(64);
  const auto master_user = input.ConsumeRandomLengthString(64);
  poolwatch::TranscriptLimits limits;
  limits.head_lines = input.ConsumeIntegralInRange<std::size_t>(0, 8);
  limits.tail_lines = input.ConsumeIntegralInRange<std::size_t>(0, 8);
  limits.max_line = input.ConsumeIntegralInRange<std::size_t>(0, 300);
  limits.max_bytes = input.ConsumeIntegralInRange<std::size_t>(0, 2000);
  const auto backend = input.ConsumeRemainingBytesAsString();

  const auto plain = poolwatch::sasl_plain_response({}, user, password);
  FUZZ_CHECK(plain.size() == (user.size() + password.size() + 2 + 2) / 3 * 4);
  const auto scrubber = SecretScrubber::for_login(user, master_user, password);
  FUZZ_CHECK(scrubber.empty() == password.empty());
  poolwatch::Transcript transcript(limits);
  for (const auto raw : poolwatch::fuzz::lines_of(backend)) {
    const auto line = poolwatch::fuzz::without_cr(raw);
    const auto scrubbed = scrubber.scrub(line);
    if (checkable(password)) FUZZ_CHECK(!contains_ignoring_case(scrubbed, password));
    // A reason quotes peer text cut short: the start of the password before the cut goes.
    const auto excerpt = scrubber.scrub(poolwatch::printable_excerpt(line, 40));
    FUZZ_CHECK(poolwatch::fuzz::printable(excerpt));
    if (checkable(password) && poolwatch::fuzz::printable(password)) {
      FUZZ_CHECK(!contains_ignoring_case(excerpt, password));
    }
    transcript.add(scrubbed);
    poolwatch::deep_check::probe_subject(line);
  }
  check_transcript(transcript, limits);
  // The whole text at once, with the base64 form inside it.
  const auto echoed = scrubber.scrub(backend + plain + backend);
  if (!password.empty()) FUZZ_CHECK(echoed.find(plain) == std::string::npos || plain.empty());
  return 0;
}
