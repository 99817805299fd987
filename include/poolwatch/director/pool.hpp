#pragma once
// A typed snapshot of the director's HOST-LIST.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

struct HostEntry {
  IpAddress address;
  std::uint32_t vhost_count = 0;
  std::uint32_t user_count = 0;
  std::string tag;                                 // 2.2.16+; empty when untagged
  std::optional<bool> down;                        // 2.2.19+ (U|D)
  std::optional<std::int64_t> last_updown_change;  // 2.2.19+; 0 = never on this director
  friend bool operator==(const HostEntry&, const HostEntry&) = default;
};

struct PoolSnapshot {
  std::vector<HostEntry> hosts;  // sorted by address, as the director sends them
  const HostEntry* find(const IpAddress& a) const {
    for (const auto& h : hosts)
      if (h.address == a) return &h;
    return nullptr;
  }
};

}  // namespace poolwatch
