#pragma once
// Who the ring is, from the directors themselves: the directors DIRECTOR-LIST lists
// (removed ones excepted) are the ring, this instance is the one on the self line, and
// its peers are the poolwatch instances at ring.peer_port on the other directors' ring
// addresses. Which peers answer is kept in PeerTable, by when their last good report
// arrived.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/director/director_list.hpp"
#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

struct RingPeer {
  InstanceId id;      // its director's ring address
  IpAddress address;  // where its poolwatch serves its report (id.ip)
  std::uint16_t peer_port = 0;
  // Our director's link to its director is synced. Only neighbours show links, so a
  // peer that is not one says nothing here; its report says whether it is synced.
  bool director_connected = false;
  friend bool operator==(const RingPeer&, const RingPeer&) = default;
};

struct Membership {
  InstanceId self;
  bool self_director_synced = false;  // director_in_sync() of the self line
  // The directors DIRECTOR-LIST lists, removed ones excepted, this one included: the
  // ring whose majority an instance must see to act (role.hpp).
  std::size_t listed = 0;
  std::vector<RingPeer> peers;        // ordered by id
  std::vector<std::string> problems;  // listed directors that cannot be peers: log them
  bool alone() const { return listed == 1; }
  const RingPeer* find(const InstanceId& id) const;
};

struct MembershipResult {
  std::optional<Membership> membership;
  std::string error;  // why this instance cannot be a member: it must not act
};

// The director is in the ring and synced: "ring synced", or syncing for at most two
// intervals since its last sync. A ring syncs after every change (each HOST-DOWN), so
// a brief "syncing" must not make the role flap; one that lasts means a broken ring.
bool director_in_sync(const director::RingDirector& self, const RingSettings& settings);

// Fails when the list has no self line, when this director is removed from the ring,
// or when ring.peer_port is not set.
MembershipResult membership_from(const director::DirectorList& list, const RingSettings& settings);

// The last good report of each peer and when it arrived.
class PeerTable {
 public:
  // Keeps a report from peer `from`; refuses one whose instance is not `from` (a
  // misdirected poll or a confused peer) or from an instance that is no member.
  std::optional<std::string> record(const Membership& membership, const InstanceId& from,
                                    PeerReport report, SteadyTime now);
  // Forgets the peers that are no longer members.
  void retain_members(const Membership& membership);
  // The members whose last good report is at most answer_window(settings) old, in id
  // order.
  std::vector<const ReceivedReport*> answering(const RingSettings& settings, SteadyTime now) const;
  const ReceivedReport* last(const InstanceId& id) const;

 private:
  std::map<InstanceId, ReceivedReport> last_;
};

}  // namespace poolwatch::ring
