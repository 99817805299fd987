#include "poolwatch/common/ip_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace poolwatch {

IpAddress IpAddress::v4(const V4Bytes& bytes) {
  IpAddress a;
  std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::v6(const V6Bytes& bytes, std::uint32_t scope_id) {
  IpAddress a;
  a.v6_ = true;
  a.bytes_ = bytes;
  a.scope_id_ = scope_id;
  return a;
}

namespace {

std::optional<std::uint32_t> parse_scope(std::string_view scope) {
  if (scope.empty() || scope.size() >= IF_NAMESIZE) return std::nullopt;
  std::uint32_t number = 0;
  const auto [end, ec] = std::from_chars(scope.data(), scope.data() + scope.size(), number);
  if (ec == std::errc{} && end == scope.data() + scope.size()) return number;
  const std::string name(scope);
  const auto index = if_nametoindex(name.c_str());
  if (index == 0) return std::nullopt;
  return index;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // Longer than any address with a scope: refuse before copying.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) return std::nullopt;
  const auto percent = text.find('%');
  const std::string host(text.substr(0, percent));
  V4Bytes v4_bytes{};
  if (percent == std::string_view::npos && inet_pton(AF_INET, host.c_str(), v4_bytes.data()) == 1)
    return v4(v4_bytes);
  V6Bytes v6_bytes{};
  if (inet_pton(AF_INET6, host.c_str(), v6_bytes.data()) != 1) return std::nullopt;
  std::uint32_t scope = 0;
  if (percent != std::string_view::npos) {
    const auto parsed = parse_scope(text.substr(percent + 1));
    if (!parsed) return std::nullopt;
    scope = *parsed;
  }
  return v6(v6_bytes, scope);
}

IpAddress::V4Bytes IpAddress::v4_bytes() const {
  V4Bytes out{};
  std::copy_n(bytes_.begin(), out.size(), out.begin());
  return out;
}

IpAddress IpAddress::without_scope() const {
  IpAddress a = *this;
  a.scope_id_ = 0;
  return a;
}

bool IpAddress::is_unspecified() const {
  const auto n = v6_ ? bytes_.size() : std::size_t{4};
  return std::all_of(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(n),
                     [](std::uint8_t b) { return b == 0; });
}

bool IpAddress::is_loopback() const {
  if (!v6_) return bytes_[0] == 127;
  static constexpr V6Bytes kLoopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoopback;
}

namespace {

// inet_ntop's dotted quad without its sprintf: the text of an address is made for every
// probe (the metrics' label), and sprintf was 2-3 % of poolwatch's CPU at 2000 backends.
std::string dotted_quad(const std::uint8_t* bytes) {
  std::string out;
  out.reserve(15);
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out += '.';
    const unsigned octet = bytes[i];
    if (octet >= 100) out += static_cast<char>('0' + octet / 100);
    if (octet >= 10) out += static_cast<char>('0' + octet / 10 % 10);
    out += static_cast<char>('0' + octet % 10);
  }
  return out;
}

}  // namespace

std::string IpAddress::to_string() const {
  if (!v6_) return dotted_quad(bytes_.data());
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buffer, sizeof buffer);
  std::string out(buffer);
  if (v6_ && scope_id_ != 0) out += "%" + std::to_string(scope_id_);
  return out;
}

IpAddress make_ip_address(std::string_view text) {
  if (auto a = IpAddress::parse(text)) return *a;
  throw InvalidIpAddress("not an IP address: '" + std::string(text.substr(0, 64)) + "'");
}

}  // namespace poolwatch
