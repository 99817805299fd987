#include "poolwatch/peer/peer_auth.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace poolwatch::peer {

namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::string signed_bytes(std::string_view kind, std::string_view subject, std::int64_t unix_time,
                         std::string_view nonce, std::string_view body) {
  // Lengths first, so that no two different messages give the same bytes.
  return fmt::format("poolwatch-peer-v1\n{}\n{}:{}\n{}\n{}\n{}:{}", kind, subject.size(), subject,
                     unix_time, nonce, body.size(), body);
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  const auto* key = reinterpret_cast<const unsigned char*>(secret.data());
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (::HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), bytes, data.size(), mac.data(),
             &length) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  return to_hex(mac.data(), length);
}

bool mac_matches(std::string_view secret, std::string_view data, std::string_view mac_hex) {
  const std::string expected = hmac_sha256_hex(secret, data);
  if (mac_hex.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), mac_hex.data(), expected.size()) == 0;
}

std::string random_nonce() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("no random bytes for a peer nonce");
  return to_hex(bytes.data(), bytes.size());
}

bool valid_nonce(std::string_view nonce) {
  return nonce.size() >= 16 && nonce.size() <= 64 &&
         std::all_of(nonce.begin(), nonce.end(), is_hex_digit);
}

std::string_view to_string(ReplayVerdict verdict) {
  switch (verdict) {
    case ReplayVerdict::accepted:
      return "accepted";
    case ReplayVerdict::stale:
      return "outside the time window";
    case ReplayVerdict::replayed:
      return "a replayed nonce";
    case ReplayVerdict::full:
      return "too many requests in the time window";
  }
  return "unknown";
}

ReplayGuard::ReplayGuard(std::chrono::seconds window, std::size_t capacity)
    : window_(window.count()), capacity_(capacity) {}

ReplayVerdict ReplayGuard::check(std::int64_t unix_time, std::string_view nonce, std::int64_t now) {
  forget_expired(now);
  if (unix_time < now - window_ || unix_time > now + window_) return ReplayVerdict::stale;
  if (seen_.find(nonce) != seen_.end()) return ReplayVerdict::replayed;
  if (seen_.size() >= capacity_) return ReplayVerdict::full;
  seen_.emplace(std::string(nonce), unix_time);
  return ReplayVerdict::accepted;
}

// A nonce may go once its time is out of the window: a replay of it is then stale.
void ReplayGuard::forget_expired(std::int64_t now) {
  std::erase_if(seen_, [&](const auto& entry) { return entry.second < now - window_; });
}

}  // namespace poolwatch::peer
