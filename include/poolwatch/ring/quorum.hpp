#pragma once
// The ring's verdict on each backend from the instances' votes. Every answering
// instance votes with its own verdict (this one included); a verdict from a probe older
// than max_probe_age counts as no vote. A backend is down for the ring only when at
// least the quorum votes down, and up only when at least the quorum votes up; anything
// else is unknown, on which the planner does nothing (the director's U or D stays).
//
// So a backend that only this director cannot reach stays up (and is reported as such),
// and a backend only this director still reaches stays down.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

// Why the ring's verdict differs from this instance's own; a metric label and the
// sentence of the log line.
enum class Overruled {
  no,                          // the ring agrees with this instance, or it has no verdict
  unreachable_from_here_only,  // this one sees it down, all the others that vote see it up
  down_for_a_minority,         // this one and some others see it down, fewer than the quorum
  up_for_a_minority,           // this one sees it up, the quorum sees it down
  no_quorum,                   // this one has a verdict, the votes reach no quorum
};
std::string_view to_string(Overruled overruled);

struct RingVerdict {
  IpAddress address;
  Verdict verdict = Verdict::unknown;  // the ring's
  Verdict local = Verdict::unknown;    // this instance's own
  std::size_t votes_down = 0;
  std::size_t votes_up = 0;
  std::size_t voters = 0;  // answering instances, this one included
  std::size_t quorum = 0;
  std::vector<InstanceId> down_voters;  // in id order
  std::int64_t since_unix = 0;          // the earliest since of the votes for the verdict
  Overruled overruled = Overruled::no;
  std::string reason;  // the votes, and the down voters' failing checks
};

// The quorum for `answering` instances (this one included): ring.quorum if set, else a
// strict majority.
std::size_t effective_quorum(const RingSettings& settings, std::size_t answering);

// self: this instance's own report; peers: the answering peers' reports. Every backend
// that any voter reports gets a verdict.
std::map<IpAddress, RingVerdict> ring_verdicts(const PeerReport& self,
                                               const std::vector<const PeerReport*>& peers,
                                               const RingSettings& settings);

// What the actor's ActionPlanner takes as its verdicts.
std::map<IpAddress, BackendVerdict> planner_verdicts(
    const std::map<IpAddress, RingVerdict>& verdicts);

}  // namespace poolwatch::ring
