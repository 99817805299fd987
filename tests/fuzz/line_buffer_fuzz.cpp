// LineBuffer, the line splitter of the director client and every probe: the bytes of a
// peer arrive in chunks cut wherever the network cut them. Checked against a model (the
// whole input split on LF): every line that comes out is the model's next line and within
// the cap, an over-long line is refused exactly when the model has one, and what stays
// buffered is bounded.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/common/line_buffer.hpp"

namespace {

using poolwatch::LineBuffer;

// The model: every byte fed so far; `taken` of it has come out as lines.
struct Model {
  std::string fed;
  std::size_t taken = 0;
  std::size_t checked = 0;  // start of the first line not yet checked against the cap

  // Whether a complete line since `checked`, or the unterminated tail, is over the cap
  // (the cap counts a CR before the LF, as LineBuffer does: the line as received).
  bool over_cap(std::size_t max_line) {
    for (;;) {
      const auto lf = fed.find('\n', checked);
      if (lf == std::string::npos) return fed.size() - checked > max_line;
      if (lf - checked > max_line) return true;
      checked = lf + 1;
    }
  }
};

void drain(LineBuffer& buffer, Model& model) {
  while (auto line = buffer.next_line()) {
    const auto lf = model.fed.find('\n', model.taken);
    FUZZ_CHECK(lf != std::string::npos);
    const std::string_view expected = poolwatch::fuzz::without_cr(
        std::string_view(model.fed).substr(model.taken, lf - model.taken));
    FUZZ_CHECK(*line == expected);
    FUZZ_CHECK(line->size() <= buffer.max_line());
    model.taken = lf + 1;
  }
  FUZZ_CHECK(!buffer.has_line());
  FUZZ_CHECK(model.fed.find('\n', model.taken) == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  // Caps from a few bytes (every line too long) to the director's 64 KiB.
  const auto max_line = input.ConsumeIntegralInRange<std::size_t>(0, 70000);
  LineBuffer buffer(max_line);
  Model model;
  while (input.remaining_bytes() > 0) {
    const auto chunk_size = input.ConsumeIntegralInRange<std::size_t>(0, 512);
    const bool drain_now = input.ConsumeBool();
    const std::string chunk = input.ConsumeBytesAsString(chunk_size);
    const auto before = buffer.buffered();
    const auto status = buffer.feed(chunk);
    model.fed += chunk;
    if (status == LineBuffer::Status::line_too_long) {
      // Refused only for a line that is too long; the caller drops the connection here.
      FUZZ_CHECK(model.over_cap(max_line));
      return 0;
    }
    FUZZ_CHECK(!model.over_cap(max_line));
    FUZZ_CHECK(buffer.buffered() == before + chunk.size());
    FUZZ_CHECK(buffer.buffered() == model.fed.size() - model.taken);
    if (drain_now) drain(buffer, model);
  }
  drain(buffer, model);
  // What is left is the unterminated tail, within the cap.
  FUZZ_CHECK(buffer.buffered() <= max_line);
  return 0;
}
