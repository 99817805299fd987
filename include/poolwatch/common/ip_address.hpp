#pragma once
// An IPv4 or IPv6 address as a plain value, for the sans-io logic (pool, health, planner,
// state file, credentials). It parses and prints with libc's inet_pton/inet_ntop and
// knows nothing of sockets, so the logic library builds without Asio; the network edges
// convert with to_asio()/from_asio() (common/asio_address.hpp).

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace poolwatch {

class IpAddress {
 public:
  using V4Bytes = std::array<std::uint8_t, 4>;
  using V6Bytes = std::array<std::uint8_t, 16>;

  IpAddress() = default;  // 0.0.0.0, as Asio's default address
  static IpAddress v4(const V4Bytes& bytes);
  static IpAddress v6(const V6Bytes& bytes, std::uint32_t scope_id = 0);
  // Dotted quad or RFC 4291 text, an IPv6 one optionally with "%scope" (a number or an
  // interface name); nullopt for anything else, host names included.
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const { return !v6_; }
  bool is_v6() const { return v6_; }
  V4Bytes v4_bytes() const;  // the first four bytes of storage: only for is_v4()
  const V6Bytes& v6_bytes() const { return bytes_; }
  std::uint32_t scope_id() const { return scope_id_; }
  IpAddress without_scope() const;
  bool is_unspecified() const;
  bool is_loopback() const;

  // inet_ntop's text; a scope id is printed as "%<number>".
  std::string to_string() const;

  // IPv4 before IPv6, then by bytes and scope: the order Asio gives its addresses.
  // Every map of the pool is keyed by address, so the bytes compare as two 64-bit words
  // (the defaulted order compared them one at a time, 3 % of a probe's instructions).
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) {
    if (a.v6_ != b.v6_) return a.v6_ <=> b.v6_;
    if (const auto c = a.word(0) <=> b.word(0); c != 0) return c;
    if (const auto c = a.word(1) <=> b.word(1); c != 0) return c;
    return a.scope_id_ <=> b.scope_id_;
  }
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

  // For the maps a probe looks its backend up in: a hash lookup touches one or two cache
  // lines where a tree of 10 000 backends touched a dozen (the misses grew with the pool).
  std::size_t hash() const {
    const std::uint64_t mixed = (word(0) * 0x9E3779B97F4A7C15ull) ^
                                ((word(1) + scope_id_ + (v6_ ? 1u : 0u)) * 0xC2B2AE3D27D4EB4Full);
    return static_cast<std::size_t>(mixed ^ (mixed >> 29));
  }

 private:
  // Bytes 8*i to 8*i+7 as a big-endian number, so that words order as the bytes do.
  std::uint64_t word(int i) const {
    std::uint64_t w;
    std::memcpy(&w, bytes_.data() + 8 * i, sizeof w);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    return w;
  }

  bool v6_ = false;
  V6Bytes bytes_{};  // IPv4 uses the first four
  std::uint32_t scope_id_ = 0;
};

class InvalidIpAddress : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// IpAddress::parse for text that must be an address (tests, literals in code): throws
// InvalidIpAddress naming the text.
IpAddress make_ip_address(std::string_view text);

}  // namespace poolwatch

template <>
struct std::hash<poolwatch::IpAddress> {
  std::size_t operator()(const poolwatch::IpAddress& a) const noexcept { return a.hash(); }
};
