#pragma once
// The envelope that will authenticate the peer exchange (NOT wired yet: the HTTP
// exchange and the HMAC belong to the networking edge, which has OpenSSL). Defined here
// so that the message and what is signed are fixed, pure and tested:
//
//   every request and every reply carries an EnvelopeHeader and
//   HMAC-SHA256(ring key, signing_input(header, body)), sent as lowercase hex;
//   the receiver recomputes it, compares in constant time, then asks ReplayGuard.
//
// The signed bytes bind the body to who sent it to whom, when, and (for a reply) to
// which request, so a captured reply cannot be replayed later, to another instance or
// as the answer to another request, and a captured request cannot be replayed at all.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

inline constexpr std::string_view kEnvelopeScheme = "poolwatch-ring-hmac-v1";
// A nonce is 16 random bytes as 32 lowercase hex digits.
inline constexpr std::size_t kNonceHexDigits = 32;

enum class MessageKind { request, reply };
std::string_view to_string(MessageKind kind);

struct EnvelopeHeader {
  MessageKind kind = MessageKind::request;
  InstanceId sender;
  InstanceId recipient;
  std::int64_t timestamp_unix = 0;  // the sender's clock
  std::string nonce;                // chosen by the sender, never reused
  std::string in_reply_to;          // a reply: the request's nonce; a request: empty
};

// Why a header cannot be signed or accepted (a nonce that is not 32 hex digits, a
// request with in_reply_to, a reply without); nullopt when it is well formed.
std::optional<std::string> header_problem(const EnvelopeHeader& header);

// The exact bytes the HMAC covers: the scheme and each header field on a line of its
// own (none can contain a line feed), the body's length, then the body byte for byte.
// The body is signed as sent, so no JSON canonicalisation is needed.
std::string signing_input(const EnvelopeHeader& header, std::string_view body);

// Refuses a message whose timestamp is off by more than max_skew, and one whose
// (sender, nonce) was already accepted; remembers accepted ones only as long as their
// timestamp could still pass. Call it only after the signature verified, so that only
// peers holding the key can fill it.
class ReplayGuard {
 public:
  enum class Check { fresh, too_old, too_new, replayed, full, malformed };

  ReplayGuard(std::chrono::seconds max_skew, std::size_t capacity);

  Check check(const EnvelopeHeader& header, std::int64_t unix_now);
  std::size_t remembered() const { return seen_.size(); }

 private:
  void forget_expired(std::int64_t unix_now);

  std::chrono::seconds max_skew_;
  std::size_t capacity_;
  std::map<std::pair<InstanceId, std::string>, std::int64_t> seen_;  // -> timestamp
};
std::string_view to_string(ReplayGuard::Check check);

// A reply to `request`, checked beyond its signature: it comes from the instance asked,
// is meant for the one asking, and answers this request. nullopt when it does.
std::optional<std::string> reply_problem(const EnvelopeHeader& reply,
                                         const EnvelopeHeader& request);

}  // namespace poolwatch::ring
