#include "poolwatch/ring/envelope.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolwatch::ring {
namespace {

bool is_nonce(std::string_view text) {
  return text.size() == kNonceHexDigits && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string_view to_string(MessageKind kind) {
  return kind == MessageKind::request ? "request" : "reply";
}

std::optional<std::string> header_problem(const EnvelopeHeader& header) {
  if (!is_nonce(header.nonce)) return "the nonce is not 32 lowercase hex digits";
  if (header.timestamp_unix <= 0) return "the timestamp is not a unix time";
  if (header.kind == MessageKind::request && !header.in_reply_to.empty())
    return "a request answers nothing, yet names a request";
  if (header.kind == MessageKind::reply && !is_nonce(header.in_reply_to))
    return "a reply does not name the request it answers";
  if (header.sender == header.recipient) return "sender and recipient are the same instance";
  return std::nullopt;
}

std::string signing_input(const EnvelopeHeader& header, std::string_view body) {
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}", kEnvelopeScheme, to_string(header.kind),
                     header.sender.to_string(), header.recipient.to_string(), header.timestamp_unix,
                     header.nonce, header.in_reply_to, body.size(), body);
}

ReplayGuard::ReplayGuard(std::chrono::seconds max_skew, std::size_t capacity)
    : max_skew_(max_skew), capacity_(capacity) {}

void ReplayGuard::forget_expired(std::int64_t unix_now) {
  // A nonce whose timestamp is beyond the skew is refused as too old anyway.
  std::erase_if(seen_,
                [&](const auto& entry) { return entry.second + max_skew_.count() < unix_now; });
}

ReplayGuard::Check ReplayGuard::check(const EnvelopeHeader& header, std::int64_t unix_now) {
  if (header_problem(header)) return Check::malformed;
  if (header.timestamp_unix + max_skew_.count() < unix_now) return Check::too_old;
  if (header.timestamp_unix - max_skew_.count() > unix_now) return Check::too_new;
  auto key = std::make_pair(header.sender, header.nonce);
  if (seen_.contains(key)) return Check::replayed;
  forget_expired(unix_now);
  // Forgetting a nonce still inside the window would let its message be replayed, so a
  // full guard refuses new messages instead; with a handful of peers it never fills.
  if (seen_.size() >= capacity_) return Check::full;
  seen_.emplace(std::move(key), header.timestamp_unix);
  return Check::fresh;
}

std::string_view to_string(ReplayGuard::Check check) {
  switch (check) {
    case ReplayGuard::Check::fresh:
      return "fresh";
    case ReplayGuard::Check::too_old:
      return "too old";
    case ReplayGuard::Check::too_new:
      return "from the future";
    case ReplayGuard::Check::replayed:
      return "replayed";
    case ReplayGuard::Check::full:
      return "too many messages within the allowed clock skew";
    case ReplayGuard::Check::malformed:
      return "malformed header";
  }
  return "?";
}

std::optional<std::string> reply_problem(const EnvelopeHeader& reply,
                                         const EnvelopeHeader& request) {
  if (reply.kind != MessageKind::reply) return "the answer is not a reply";
  if (reply.sender != request.recipient)
    return fmt::format("the reply comes from {}, not from {} which was asked",
                       reply.sender.to_string(), request.recipient.to_string());
  if (reply.recipient != request.sender)
    return fmt::format("the reply is meant for {}", reply.recipient.to_string());
  if (reply.in_reply_to != request.nonce) return "the reply answers another request";
  return std::nullopt;
}

}  // namespace poolwatch::ring
