#pragma once
// Which instance acts. Every instance computes it from the same inputs (DIRECTOR-LIST
// and the peers' reports), so they agree without a protocol of their own:
//
//   alone     DIRECTOR-LIST lists only this director: act, as a single instance does.
//   isolated  this director is not in sync, or this instance cannot see (itself
//             included) more than half of the directors DIRECTOR-LIST lists: act on
//             nothing. Half or fewer may be one side of a split ring, whose other side
//             may be the majority and acting; the other side's view of the backends is
//             not known here, so no down and no up is safe.
//   actor     the lowest ring address among the candidates (this instance and the
//             answering peers whose director is synced and that are not isolated
//             themselves), when that is this one, no answering peer still hears a lower
//             one acting, and this one has been eligible for two intervals.
//   standby   any other instance that sees a majority: probe, publish, send nothing.
//
// The two intervals of eligibility keep a restarted or rejoining instance from acting
// before every peer has seen it as a candidate (and stepped back): the ring then has no
// actor for up to two intervals, rather than two actors for one.
//
// Takeover: a peer stops answering two intervals after its last report; a deferral to an
// actor only a peer can hear lasts exactly as long as that peer's own view of it would.
// An actor that stopped answering may still be acting (its peers cannot reach it, it
// still reaches them: a one-way cut). It steps back when a peer's report says that peer
// has not heard it for an interval and a half; it reads that report once an interval, at
// a moment of its own. So the next instance waits three intervals from its last word
// from the actor it deferred to (takeover_pending), naming that actor all the while:
// the old actor gets at least one poll with its peers' silence in view before anyone
// else acts.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/ring/membership.hpp"
#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

enum class RoleReason {
  single_director,      // alone
  lowest_synced,        // actor
  lower_instance_acts,  // standby: a lower answering instance with a synced director
  lower_actor_heard,    // standby: a peer hears a lower instance acting
  other_actor_heard,    // standby: a peer acts that does not hear this one (a one-way cut)
  unheard_by_peer,      // standby: a peer naming this one as actor has stopped hearing it
  warming_up,           // standby: eligible for less than two intervals
  takeover_pending,     // standby: the actor deferred to fell silent under three intervals ago
  no_membership,        // isolated: no usable DIRECTOR-LIST (see the detail)
  director_not_synced,  // isolated
  no_peer_answers,      // isolated: peers listed, none answers
  minority_of_ring,     // isolated: some answer, but not more than half of the ring
};
// "single_director", ...: a metric label.
std::string_view to_string(RoleReason reason);

struct RoleDecision {
  RingRole role = RingRole::isolated;
  RoleReason reason = RoleReason::no_membership;
  std::optional<InstanceId> actor;  // who acts as this instance sees it; empty: none seen
  std::chrono::milliseconds actor_heard_ago{0};
  std::size_t listed = 0;     // directors of the ring
  std::size_t answering = 0;  // instances answering, this one included
  std::string detail;         // the sentence for the log and /status
  bool may_act() const { return role == RingRole::alone || role == RingRole::actor; }
};

// The other instance this one last deferred to as the actor, and when it last heard it
// (RingCoordinator keeps it from its decisions).
struct DeferredActor {
  InstanceId actor;
  SteadyTime heard_at{};
};

// peers: the answering peers' reports (PeerTable::answering) at `now`. eligible_since:
// since when this instance's decisions have been continuously other than isolated
// (RingCoordinator keeps it); empty when the last one was isolated.
RoleDecision decide_role(const Membership& membership,
                         const std::vector<const ReceivedReport*>& peers,
                         const RingSettings& settings, SteadyTime now,
                         std::optional<SteadyTime> eligible_since,
                         const std::optional<DeferredActor>& deferred_to = std::nullopt);

// The decision for an instance without a membership (membership_from's error, or no
// DIRECTOR-LIST for two intervals).
RoleDecision isolated_without_membership(std::string why);

}  // namespace poolwatch::ring
