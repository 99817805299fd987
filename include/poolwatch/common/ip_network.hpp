#pragma once
// An address block ("127.0.0.0/8", "::1/128", or a bare address for one host) as a plain
// value: the allow-lists of listeners that accept posts from the network test a peer's
// address against a list of these.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

class IpNetwork {
 public:
  // "ADDRESS/PREFIX" or a bare ADDRESS (a /32 or /128); nullopt for anything else, a
  // prefix past the family's width, a scope id, or host bits set ("127.0.0.1/8" is
  // refused: it reads like one host but would allow the whole block).
  static std::optional<IpNetwork> parse(std::string_view text);

  // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, what a dual-stack listener reports)
  // matches the IPv4 block it maps to.
  bool contains(const IpAddress& address) const;
  std::string to_string() const;

 private:
  IpAddress base_;
  unsigned prefix_ = 0;
};

// Whether any network of the list contains the address.
bool any_contains(const std::vector<IpNetwork>& networks, const IpAddress& address);

}  // namespace poolwatch
