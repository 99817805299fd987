#include "poolwatch/peer/peer_exchange.hpp"

#include <charconv>
#include <utility>

namespace poolwatch::peer {

namespace {

std::optional<std::int64_t> parse_time(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || text.size() > 19 || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

SignedHeaders sign_request(std::string_view secret, std::string_view target, std::int64_t now,
                           std::string nonce) {
  const std::string bytes = signed_bytes("request", target, now, nonce, "");
  return {std::to_string(now), std::move(nonce), hmac_sha256_hex(secret, bytes)};
}

SignedHeaders sign_reply(std::string_view secret, std::string_view request_nonce,
                         std::string_view body, std::int64_t now) {
  std::string nonce = random_nonce();
  const std::string bytes = signed_bytes("reply", request_nonce, now, nonce, body);
  return {std::to_string(now), std::move(nonce), hmac_sha256_hex(secret, bytes)};
}

std::optional<std::string> request_problem(std::string_view secret, ReplayGuard& replay,
                                           std::string_view target, const SignedHeaders& request,
                                           std::int64_t now) {
  const auto time = parse_time(request.time);
  if (!time || !valid_nonce(request.nonce) || request.signature.empty())
    return "unsigned or malformed request";
  // The signature first: an unauthenticated request must not fill the replay guard.
  if (!mac_matches(secret, signed_bytes("request", target, *time, request.nonce, ""),
                   request.signature))
    return "bad signature";
  const ReplayVerdict verdict = replay.check(*time, request.nonce, now);
  if (verdict != ReplayVerdict::accepted) return std::string(to_string(verdict));
  return std::nullopt;
}

std::optional<std::string> reply_problem(std::string_view secret, std::string_view request_nonce,
                                         const SignedHeaders& reply, std::string_view body,
                                         std::int64_t now) {
  const auto time = parse_time(reply.time);
  if (!time || !valid_nonce(reply.nonce) || reply.signature.empty())
    return "unsigned or malformed reply";
  if (!mac_matches(secret, signed_bytes("reply", request_nonce, *time, reply.nonce, body),
                   reply.signature))
    return "bad signature (not signed for this request)";
  if (*time < now - kClockWindowSeconds || *time > now + kClockWindowSeconds)
    return "reply time outside the clock window";
  return std::nullopt;
}

}  // namespace poolwatch::peer
