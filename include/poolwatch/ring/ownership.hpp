#pragma once
// Shared ownership of the downs poolwatch made. A down that any instance made belongs to
// the instances together, so whichever instance acts later may bring the backend up,
// even when the one that sent the HOST-DOWN is gone for good; a D that no instance made
// is an admin's and is never touched.
//
// The set spreads through the peer reports as a two-phase set keyed by the claim's
// identity (address, maker, time): a claim is added once, a release removes that one
// claim for good, and merging is a union of both, so the order in which reports arrive
// and the instances' clocks do not matter. A later down of the same host is a new claim
// that an old release does not touch.
//
// Lifetimes are bounded without clocks having to agree: the actor confirms the claims it
// holds on every scan; a claim unconfirmed for ownership_retention is void, and a release
// is kept for twice that, longer than any claim it released can still be confirmed.
//
// state() is what must be persisted (with the state file) so that a restart of every
// instance at once loses no ownership; the constructor takes it back.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/director/pool.hpp"
#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

// More claims or releases than any pool has hosts is garbage; kMaxClaims bounds memory.
inline constexpr std::size_t kMaxClaims = 20000;
inline constexpr std::size_t kMaxReleases = 20000;

struct DownClaim {
  IpAddress address;
  InstanceId made_by;
  std::int64_t since_unix = 0;  // the maker's clock when its HOST-DOWN was answered
  std::string reason;
  // The flush after the HOST-DOWN is not answered OK yet. Merged with AND: once one
  // instance has seen it done it is done, so a stale copy cannot bring it back.
  bool flush_pending = false;
  std::int64_t confirmed_unix = 0;  // the last time an actor held it; merged with max
  friend bool operator==(const DownClaim&, const DownClaim&) = default;
};

struct ClaimRelease {
  IpAddress address;  // with made_by and since_unix: the claim it ends
  InstanceId made_by;
  std::int64_t since_unix = 0;
  std::int64_t released_unix = 0;  // the releaser's clock; only for expiry
  friend bool operator==(const ClaimRelease&, const ClaimRelease&) = default;
};

struct OwnershipState {
  std::vector<DownClaim> claims;       // ordered by address, maker, since
  std::vector<ClaimRelease> releases;  // same order
  friend bool operator==(const OwnershipState&, const OwnershipState&) = default;
};

struct OwnershipChange {
  bool changed = false;               // save the state
  bool claims_added = false;          // a claim this instance did not know: see matches()
  std::vector<std::string> problems;  // caps reached: log them
};

class SharedOwnership {
 public:
  SharedOwnership(InstanceId self, std::chrono::seconds retention, OwnershipState persisted = {});

  // The instance learned its name from DIRECTOR-LIST after the start.
  void set_self(const InstanceId& self) { self_ = self; }

  // Takes what a peer (or the state file) knows; claims older than the retention are
  // not taken, releases always are.
  OwnershipChange merge(const OwnershipState& other, std::int64_t unix_now);

  // The actor's ActionPlanner is the one place where downs are made and released. Around
  // each plan and each director answer the actor hands over its owned set before and
  // after: a host owned only after becomes this instance's claim, the claims on a host
  // owned only before are released, the flush flags follow, and every claim on a host
  // owned after is confirmed. A diff, so that claims merged from peers meanwhile (which
  // the planner has not adopted yet) are never released by mistake.
  OwnershipChange apply_planner_change(const std::vector<OwnedHost>& before,
                                       const std::vector<OwnedHost>& after, std::int64_t unix_now);

  // Drops releases kept for twice the retention and claims unconfirmed for the retention.
  OwnershipChange expire(std::int64_t unix_now);

  // One OwnedHost per claimed address (the earliest claim's time and reason): what an
  // actor's ActionPlanner starts from.
  std::vector<OwnedHost> owned_hosts() const;
  bool owns(const IpAddress& address) const;
  // Whether a planner that owns `planner_owned` owns exactly the claimed hosts. When
  // not (a peer's claim or release arrived, or this instance just became the actor),
  // the actor rebuilds its planner from owned_hosts() before it plans.
  bool matches(const std::vector<OwnedHost>& planner_owned) const;
  // The claimed hosts HOST-LIST lists: the downs poolwatch holds ring-wide, counted the
  // way ActionPlanner counts its owned hosts for the pool guard (one listed up again is
  // about to be sent down again, so it counts).
  std::size_t held_down(const PoolSnapshot& pool) const;

  // What to persist and to publish, in a stable order.
  OwnershipState state() const;

 private:
  using ClaimKey = std::tuple<IpAddress, InstanceId, std::int64_t>;
  static ClaimKey key_of(const DownClaim& claim);
  static ClaimKey key_of(const ClaimRelease& release);

  // False when the cap refuses it.
  bool add_claim(const DownClaim& claim, OwnershipChange& change);
  void add_release(const ClaimRelease& release, OwnershipChange& change);
  void release_claims_of(const IpAddress& address, std::int64_t unix_now, OwnershipChange& change);
  bool stale(const DownClaim& claim, std::int64_t unix_now) const;
  std::int64_t confirmation_time(std::int64_t unix_now) const;

  InstanceId self_;
  std::chrono::seconds retention_;
  std::map<ClaimKey, DownClaim> claims_;
  std::map<ClaimKey, ClaimRelease> releases_;
};

}  // namespace poolwatch::ring
