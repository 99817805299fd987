#include "poolwatch/common/ip_network.hpp"

#include <algorithm>
#include <charconv>

namespace poolwatch {

namespace {

// Whether the first `prefix` bits of two byte strings of the same length agree.
template <std::size_t N>
bool same_prefix(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& b,
                 unsigned prefix) {
  for (std::size_t i = 0; i < N && prefix > 0; ++i) {
    const unsigned bits = std::min(prefix, 8u);
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

template <std::size_t N>
bool host_bits_clear(const std::array<std::uint8_t, N>& bytes, unsigned prefix) {
  for (unsigned bit = prefix; bit < N * 8; ++bit)
    if ((bytes[bit / 8] & (0x80u >> (bit % 8))) != 0) return false;
  return true;
}

std::optional<IpAddress> unmapped_v4(const IpAddress& address) {
  if (!address.is_v6()) return address;
  const auto& b = address.v6_bytes();
  const bool mapped = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; }) &&
                      b[10] == 0xFF && b[11] == 0xFF;
  if (!mapped) return std::nullopt;
  return IpAddress::v4({b[12], b[13], b[14], b[15]});
}

}  // namespace

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = IpAddress::parse(text.substr(0, slash));
  if (!address || address->scope_id() != 0 || text.find('%') != std::string_view::npos)
    return std::nullopt;
  const unsigned width = address->is_v4() ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || digits.size() > 3 || ec != std::errc() ||
        end != digits.data() + digits.size() || prefix > width)
      return std::nullopt;
  }
  IpNetwork network;
  network.base_ = *address;
  network.prefix_ = prefix;
  // Host bits set would read like one host but allow the whole block.
  const bool host_bits = address->is_v4() ? !host_bits_clear(address->v4_bytes(), prefix)
                                          : !host_bits_clear(address->v6_bytes(), prefix);
  if (host_bits) return std::nullopt;
  return network;
}

bool IpNetwork::contains(const IpAddress& address) const {
  if (base_.is_v4()) {
    const auto v4 = unmapped_v4(address);
    return v4 && same_prefix(base_.v4_bytes(), v4->v4_bytes(), prefix_);
  }
  return address.is_v6() && same_prefix(base_.v6_bytes(), address.v6_bytes(), prefix_);
}

std::string IpNetwork::to_string() const {
  return base_.to_string() + "/" + std::to_string(prefix_);
}

bool any_contains(const std::vector<IpNetwork>& networks, const IpAddress& address) {
  return std::any_of(networks.begin(), networks.end(),
                     [&](const IpNetwork& n) { return n.contains(address); });
}

}  // namespace poolwatch
