#pragma once
// A typed snapshot of the director's HOST-LIST.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

class PoolSnapshot {
 public:
  // Sorted by address as the director sends them; nothing here relies on that. Filled,
  // then read: an address changed in place after a find() may not be found by the next.
  std::vector<HostEntry> hosts;

  // The same addresses in the same order as `other`: what nearly every scan finds, and
  // O(N) without a lookup.
  bool same_addresses_as(const PoolSnapshot& other) const {
    return std::equal(
        hosts.begin(), hosts.end(), other.hosts.begin(), other.hosts.end(),
        [](const HostEntry& a, const HostEntry& b) { return a.address == b.address; });
  }

  // O(log N): the scan, the planner and /status look up every host of a pool of up to
  // 100 000, so a walk per lookup would make each of them O(N²). The index is built by
  // the first lookup after `hosts` was filled (or reallocated) and reused until then.
  // With an address listed twice, one of its entries.
  const HostEntry* find(const IpAddress& a) const {
    if (hosts.data() != indexed_data_ || hosts.size() != index_.size()) rebuild_index();
    const HostEntry* found = lookup(a);
    if (found && !(found->address == a)) {  // changed in place since: index again
      rebuild_index();
      found = lookup(a);
    }
    return found;
  }

 private:
  const HostEntry* lookup(const IpAddress& a) const {
    auto it =
        std::lower_bound(index_.begin(), index_.end(), a,
                         [](const auto& entry, const IpAddress& x) { return entry.first < x; });
    if (it == index_.end() || !(it->first == a)) return nullptr;
    return &hosts[it->second];
  }
  void rebuild_index() const {
    index_.clear();
    index_.reserve(hosts.size());
    for (std::size_t i = 0; i < hosts.size(); ++i) index_.emplace_back(hosts[i].address, i);
    // As the director sends them, already in order: the sort of 100 000 took 10 ms.
    if (!std::is_sorted(index_.begin(), index_.end())) std::sort(index_.begin(), index_.end());
    indexed_data_ = hosts.data();
  }

  mutable std::vector<std::pair<IpAddress, std::size_t>> index_;
  mutable const HostEntry* indexed_data_ = nullptr;
};

}  // namespace poolwatch
