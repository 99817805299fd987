#include "poolwatch/ring/ring_types.hpp"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

namespace poolwatch::ring {

std::string InstanceId::to_string() const {
  if (ip.is_v6()) return fmt::format("[{}]:{}", ip.to_string(), port);
  return fmt::format("{}:{}", ip.to_string(), port);
}

std::optional<InstanceId> InstanceId::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  const bool bracketed = host.starts_with('[') && host.ends_with(']');
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (host.find('%') != std::string_view::npos) return std::nullopt;
  const auto ip = IpAddress::parse(host);
  // IPv6 only in brackets and IPv4 never: the one spelling to_string() gives.
  if (!ip || ip->is_v6() != bracketed) return std::nullopt;
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535 || port_text.starts_with('0'))
    return std::nullopt;
  return InstanceId{*ip, static_cast<std::uint16_t>(port)};
}

std::string_view to_string(RingRole role) {
  switch (role) {
    case RingRole::alone:
      return "alone";
    case RingRole::actor:
      return "actor";
    case RingRole::standby:
      return "standby";
    case RingRole::isolated:
      return "isolated";
  }
  return "?";
}

std::optional<RingRole> ring_role_from_string(std::string_view text) {
  for (auto role : {RingRole::alone, RingRole::actor, RingRole::standby, RingRole::isolated})
    if (to_string(role) == text) return role;
  return std::nullopt;
}

std::chrono::steady_clock::duration answer_window(const RingSettings& settings) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(2 * settings.interval);
}

}  // namespace poolwatch::ring
