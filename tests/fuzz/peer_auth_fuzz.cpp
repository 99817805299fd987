// The signature checks of the ring's peer exchange (peer_auth, peer_exchange): a request
// or reply with fuzzed time, nonce, signature, target and body. Either signed by the
// harness under the ring's secret or not: an unsigned or wrongly signed one is always
// refused, a correctly signed one is accepted exactly when its time is in the window
// and its nonce well-formed and new, and a replay of it is refused.

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/peer/peer_exchange.hpp"

namespace {

namespace peer = poolwatch::peer;

constexpr std::string_view kSecret = "fuzz-ring-secret-0123456789abcdef0123456789";
constexpr std::int64_t kNow = 1795392863;

bool in_window(std::int64_t time) {
  return time >= kNow - peer::kClockWindowSeconds && time <= kNow + peer::kClockWindowSeconds;
}

// The headers, either as fuzzed or with the time a number and the signature correct.
struct Case {
  peer::SignedHeaders headers;
  bool signed_correctly = false;
  std::int64_t time = 0;
};

Case make_case(FuzzedDataProvider& input, std::string_view kind, std::string_view subject,
               std::string_view body) {
  Case c;
  c.signed_correctly = input.ConsumeBool();
  c.headers.nonce = input.ConsumeRandomLengthString(80);
  if (c.signed_correctly) {
    c.time = kNow + input.ConsumeIntegralInRange<std::int64_t>(-100, 100);
    c.headers.time = std::to_string(c.time);
    c.headers.signature = peer::hmac_sha256_hex(
        kSecret, peer::signed_bytes(kind, subject, c.time, c.headers.nonce, body));
  } else {
    c.headers.time = input.ConsumeRandomLengthString(24);
    c.headers.signature = input.ConsumeRandomLengthString(80);
  }
  return c;
}

void check_request(FuzzedDataProvider& input) {
  const auto target = input.ConsumeRandomLengthString(128);
  const auto c = make_case(input, "request", target, "");
  peer::ReplayGuard replay(std::chrono::seconds(peer::kClockWindowSeconds), 4);
  const auto problem = peer::request_problem(kSecret, replay, target, c.headers, kNow);
  if (!c.signed_correctly) {
    FUZZ_CHECK(problem.has_value());
    FUZZ_CHECK(replay.size() == 0);  // an unauthenticated request fills nothing
    return;
  }
  const bool acceptable = in_window(c.time) && peer::valid_nonce(c.headers.nonce);
  FUZZ_CHECK(acceptable == !problem.has_value());
  if (acceptable) FUZZ_CHECK(peer::request_problem(kSecret, replay, target, c.headers, kNow));
}

void check_reply(FuzzedDataProvider& input) {
  const auto request_nonce = input.ConsumeRandomLengthString(64);
  const auto body = input.ConsumeRandomLengthString(4096);
  const auto c = make_case(input, "reply", request_nonce, body);
  const auto problem = peer::reply_problem(kSecret, request_nonce, c.headers, body, kNow);
  if (!c.signed_correctly) {
    FUZZ_CHECK(problem.has_value());
    return;
  }
  FUZZ_CHECK((in_window(c.time) && peer::valid_nonce(c.headers.nonce)) == !problem.has_value());
  // Signed for another request: refused.
  if (!problem) {
    FUZZ_CHECK(peer::reply_problem(kSecret, request_nonce + "0", c.headers, body, kNow));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  if (input.ConsumeBool()) {
    check_request(input);
  } else {
    check_reply(input);
  }
  // A MAC check of arbitrary text: only the real HMAC matches.
  const auto data_text = input.ConsumeRandomLengthString(256);
  const auto mac = input.ConsumeRemainingBytesAsString();
  const bool matches = peer::mac_matches(kSecret, data_text, mac);
  const auto real = peer::hmac_sha256_hex(kSecret, data_text);
  if (matches) FUZZ_CHECK(poolwatch::iequals(mac, real));
  return 0;
}
