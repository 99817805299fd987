#pragma once
// The ring's state in one place, for the scan loop to drive (NOT wired into the daemon
// yet): it is told what DIRECTOR-LIST says and what each peer reported, and every
// interval it evaluates who acts and what the ring's verdicts are. Pure: time comes in
// as arguments, nothing is sent or read here.
//
// The loop the integration is meant to run, every interval:
//   1. DIRECTOR-LIST -> on_director_list (or on_director_list_failed);
//   2. poll membership()->peers; each authenticated, decoded report -> on_peer_report;
//   3. evaluate(local backend reports) -> role, verdicts;
//   4. if role.may_act(): rebuild the planner from ownership().owned_hosts() unless
//      ownership().matches(planner.owned()); plan with planner_verdicts (alone: the
//      tracker's own verdicts); around each plan and each director answer hand the
//      planner's owned set before and after to ownership().apply_planner_change;
//   5. serve report() to the peers; persist ownership().state() when it changed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/director/director_list.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/ring/membership.hpp"
#include "poolwatch/ring/ownership.hpp"
#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/ring/quorum.hpp"
#include "poolwatch/ring/ring_types.hpp"
#include "poolwatch/ring/role.hpp"

namespace poolwatch::ring {

struct RingEvaluation {
  RoleDecision role;
  std::map<IpAddress, RingVerdict> verdicts;  // for the log, the metrics and /status
  // What the actor's planner takes. Empty when the instance is alone: it then plans with
  // its own tracker's verdicts, exactly as without a ring.
  std::optional<std::map<IpAddress, BackendVerdict>> planner_verdicts;
  OwnershipChange ownership;  // what expiry changed
};

struct PeerReportOutcome {
  std::optional<std::string> refused;  // why the report was not counted: log it
  OwnershipChange ownership;           // what merging its ownership set changed
};

class RingCoordinator {
 public:
  RingCoordinator(RingSettings settings, OwnershipState persisted);

  // A good DIRECTOR-LIST read at now. Returns its membership problems (or the reason
  // there is no membership) to log; unchanged ones come back every time.
  std::vector<std::string> on_director_list(const director::DirectorList& list, SteadyTime now);
  // DIRECTOR-LIST could not be read: the instance is isolated until a read succeeds
  // (its peers are still polled and its report still served).
  void on_director_list_failed(std::string error);

  // A report from the peer polled at `from`, already authenticated and decoded.
  PeerReportOutcome on_peer_report(const InstanceId& from, PeerReport report, SteadyTime now,
                                   std::int64_t unix_now);

  // local: this instance's vote on every backend it probes.
  RingEvaluation evaluate(std::vector<BackendReport> local, SteadyTime now, std::int64_t unix_now);

  // What this instance serves to its peers at `now`: its view as of the last
  // evaluate(), with the ownership set as it is now (the actor changes it between
  // evaluations) and the age of its last word from the actor it names as it is now, so
  // that a peer deferring to that actor never does so for longer than this instance's
  // own view of it lasts.
  PeerReport report(SteadyTime now) const;
  const std::optional<Membership>& membership() const { return membership_; }
  const PeerTable& peers() const { return peers_; }
  SharedOwnership& ownership() { return ownership_; }
  const SharedOwnership& ownership() const { return ownership_; }

 private:
  RoleDecision decide(SteadyTime now) const;
  // Keeps whom this instance last deferred to as the actor, and when it last heard it.
  void remember_actor(const RoleDecision& decision, SteadyTime now);

  RingSettings settings_;
  std::optional<Membership> membership_;
  std::string membership_error_ = "no DIRECTOR-LIST read yet";
  std::optional<std::string> director_problem_;  // the last read failed
  std::optional<SteadyTime> director_list_at_;
  PeerTable peers_;
  SharedOwnership ownership_;
  std::optional<SteadyTime> eligible_since_;
  std::optional<DeferredActor> deferred_to_;
  PeerReport report_;
  SteadyTime evaluated_at_{};
};

}  // namespace poolwatch::ring
