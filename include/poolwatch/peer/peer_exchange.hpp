#pragma once
// The ring's peer exchange over HTTP: an instance asks a peer for its report with
// GET /ring/v1/report, and both the request and the reply carry a signature (peer_auth).
// These are the checks of each side, apart from the sockets: the server refuses what is
// unsigned, badly signed, stale or replayed; the client refuses a reply not signed for
// its own request. Reasons never contain the secret or a signature.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/peer/peer_auth.hpp"

namespace poolwatch::peer {

inline constexpr std::string_view kReportTarget = "/ring/v1/report";
// A peer's report is a few hundred bytes per backend; this bounds what a peer can make
// an instance read, at the size the report decoder accepts (ring/report_json.hpp).
inline constexpr std::size_t kMaxReplyBytes = 4 << 20;
// How far a peer's clock may be from ours; the directors of a ring run NTP.
inline constexpr std::int64_t kClockWindowSeconds = 30;

struct SignedHeaders {
  std::string time;
  std::string nonce;
  std::string signature;
};

SignedHeaders sign_request(std::string_view secret, std::string_view target, std::int64_t now,
                           std::string nonce);
SignedHeaders sign_reply(std::string_view secret, std::string_view request_nonce,
                         std::string_view body, std::int64_t now);

// Server side: why the request must be refused, or nullopt when it is authentic and new
// (its nonce is then recorded in `replay`).
std::optional<std::string> request_problem(std::string_view secret, ReplayGuard& replay,
                                           std::string_view target, const SignedHeaders& request,
                                           std::int64_t now);

// Client side: why the reply must be ignored, or nullopt when it answers our request.
std::optional<std::string> reply_problem(std::string_view secret, std::string_view request_nonce,
                                         const SignedHeaders& reply, std::string_view body,
                                         std::int64_t now);

}  // namespace poolwatch::peer
