#pragma once
// The one place where the logic's IpAddress meets Asio's: at the network edges (probe
// connects, listeners, test servers).

#include <boost/asio/ip/address.hpp>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

inline boost::asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return boost::asio::ip::address_v4(a.v4_bytes());
  return boost::asio::ip::address_v6(a.v6_bytes(), a.scope_id());
}

inline IpAddress from_asio(const boost::asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_bytes());
  return IpAddress::v6(a.to_v6().to_bytes(), static_cast<std::uint32_t>(a.to_v6().scope_id()));
}

}  // namespace poolwatch
