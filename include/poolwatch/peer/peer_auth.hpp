#pragma once
// Authentication of the ring's peer exchange. Peers can make backends go down, so every
// request and every reply carries an HMAC-SHA256 under a secret that the ring's
// instances share (ring.secret_file), over the time, a fresh nonce, what is asked and
// the body. A shared secret rather than mutual TLS: the directors of a ring already
// share director_servers and a config, one more 0600 file is the least an operator can
// get wrong, and there is no CA or certificate expiry to run.
//
// Replay: a request older or newer than the window is refused, and a nonce is accepted
// once within it (ReplayGuard). A reply is bound to its request by signing the
// request's nonce, so an old reply cannot answer a new request.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace poolwatch::peer {

inline constexpr std::string_view kTimeHeader = "X-Poolwatch-Time";
inline constexpr std::string_view kNonceHeader = "X-Poolwatch-Nonce";
inline constexpr std::string_view kSignatureHeader = "X-Poolwatch-Signature";

// A secret shorter than this is refused at load: HMAC's strength is the key's.
inline constexpr std::size_t kMinSecretBytes = 32;

// The bytes a signature covers. `kind` is "request" or "reply"; `subject` is the request
// target for a request and the request's nonce for a reply.
std::string signed_bytes(std::string_view kind, std::string_view subject, std::int64_t unix_time,
                         std::string_view nonce, std::string_view body);

// HMAC-SHA256 of `data` under `secret`, as 64 lowercase hex digits.
std::string hmac_sha256_hex(std::string_view secret, std::string_view data);

// Whether `mac_hex` is the HMAC of `data`, compared in constant time.
bool mac_matches(std::string_view secret, std::string_view data, std::string_view mac_hex);

// 128 random bits from OpenSSL's generator, as 32 hex digits.
std::string random_nonce();

// Whether a nonce is well-formed: 16 to 64 hex digits.
bool valid_nonce(std::string_view nonce);

enum class ReplayVerdict { accepted, stale, replayed, full };
std::string_view to_string(ReplayVerdict verdict);

// Accepts each nonce once while its time is within `window` of now. Memory is bounded by
// `capacity` nonces: when that many are live, new requests are refused ("full") until
// some expire, so a flood costs bounded memory and cannot evict a nonce to replay it.
class ReplayGuard {
 public:
  ReplayGuard(std::chrono::seconds window, std::size_t capacity);

  ReplayVerdict check(std::int64_t unix_time, std::string_view nonce, std::int64_t now);
  std::size_t size() const { return seen_.size(); }

 private:
  void forget_expired(std::int64_t now);

  std::int64_t window_;
  std::size_t capacity_;
  std::map<std::string, std::int64_t, std::less<>> seen_;  // nonce -> its request time
};

}  // namespace poolwatch::peer
