#include "poolwatch/ring/role.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolwatch::ring {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

RoleDecision isolated(const Membership& membership, std::size_t answering, RoleReason reason,
                      std::string detail) {
  return {RingRole::isolated, reason,    std::nullopt,     milliseconds{0},
          membership.listed,  answering, std::move(detail)};
}

// A peer that could act: its director is synced and it does not call itself isolated.
bool is_candidate(const PeerReport& report) {
  return report.director_synced && report.role != RingRole::isolated;
}

// The lowest actor that an answering peer still hears and this instance does not, lower
// than this instance, for no longer than that peer's own view of it lasts. An actor this
// instance hears itself is judged by its own report (is_candidate), not by hearsay.
std::optional<std::pair<InstanceId, milliseconds>> lower_actor_heard(
    const Membership& membership, const std::vector<const ReceivedReport*>& peers,
    const RingSettings& settings, SteadyTime now) {
  std::optional<std::pair<InstanceId, milliseconds>> lowest;
  for (const auto* peer : peers) {
    const auto& report = peer->report;
    if (!is_candidate(report) || !report.actor || !(*report.actor < membership.self)) continue;
    if (membership.find(*report.actor) == nullptr) continue;  // not one of our ring
    const bool heard_directly = std::any_of(peers.begin(), peers.end(), [&](const auto* other) {
      return other->report.instance == *report.actor;
    });
    if (heard_directly) continue;
    const auto heard_ago =
        duration_cast<milliseconds>(now - peer->received) + report.actor_heard_ago;
    if (heard_ago > answer_window(settings)) continue;
    if (!lowest || *report.actor < lowest->first) lowest = {{*report.actor, heard_ago}};
  }
  return lowest;
}

// The actor this instance deferred to, silent (no longer among the answering peers) for
// less than three intervals: it may still act, unable to learn that nobody hears it.
// One that answers says itself whether it acts, so it is never waited for.
std::optional<milliseconds> silent_actor_may_still_act(
    const Membership& membership, const std::vector<const ReceivedReport*>& peers,
    const RingSettings& settings, SteadyTime now, const std::optional<DeferredActor>& deferred_to) {
  if (!deferred_to || deferred_to->actor == membership.self) return std::nullopt;
  if (membership.find(deferred_to->actor) == nullptr) return std::nullopt;
  const bool answers = std::any_of(peers.begin(), peers.end(), [&](const auto* peer) {
    return peer->report.instance == deferred_to->actor;
  });
  const auto silent_for = now - deferred_to->heard_at;
  if (answers || silent_for >= answer_window(settings) + settings.interval) return std::nullopt;
  return duration_cast<milliseconds>(silent_for);
}

// Past the isolation checks: this instance sees a majority, so it acts or stands by.
RoleDecision choose_actor(const Membership& membership,
                          const std::vector<const ReceivedReport*>& peers,
                          const RingSettings& settings, SteadyTime now,
                          std::optional<SteadyTime> eligible_since,
                          const std::optional<DeferredActor>& deferred_to) {
  RoleDecision decision{RingRole::standby,
                        RoleReason::lower_instance_acts,
                        std::nullopt,
                        milliseconds{0},
                        membership.listed,
                        1 + peers.size(),
                        {}};
  const ReceivedReport* lowest_peer = nullptr;
  for (const auto* peer : peers)
    if (is_candidate(peer->report) && peer->report.instance < membership.self &&
        (lowest_peer == nullptr || peer->report.instance < lowest_peer->report.instance))
      lowest_peer = peer;
  if (lowest_peer != nullptr) {
    decision.actor = lowest_peer->report.instance;
    decision.actor_heard_ago = duration_cast<milliseconds>(now - lowest_peer->received);
    decision.detail =
        fmt::format("standing by: {} is the lowest synced instance", decision.actor->to_string());
    return decision;
  }
  if (const auto heard = lower_actor_heard(membership, peers, settings, now)) {
    decision.reason = RoleReason::lower_actor_heard;
    decision.actor = heard->first;
    decision.actor_heard_ago = heard->second;
    decision.detail =
        fmt::format("standing by: a peer hears {} acting, which this instance does not",
                    heard->first.to_string());
    return decision;
  }
  // A peer that still names this instance as the actor but has not heard it for more
  // than an interval and a half (polls come every interval) cannot reach its report: it
  // will take over at two intervals. Stepping back first leaves a moment without an
  // actor rather than two actors.
  const auto unheard_by = std::find_if(peers.begin(), peers.end(), [&](const auto* peer) {
    return peer->report.actor == membership.self &&
           peer->report.actor_heard_ago + duration_cast<milliseconds>(now - peer->received) >
               duration_cast<milliseconds>(settings.interval * 1.5);
  });
  if (unheard_by != peers.end()) {
    decision.reason = RoleReason::unheard_by_peer;
    decision.detail = fmt::format(
        "standing by: {} has not heard this instance for over an "
        "interval and a half",
        (*unheard_by)->report.instance.to_string());
    return decision;
  }
  // A peer that says it acts does not take this instance for the actor: it cannot hear
  // this one (a one-way cut) or has not stepped back yet. Acting now would make two
  // actors; it steps back by itself once it hears this instance as a candidate.
  const auto acting_peer = std::find_if(peers.begin(), peers.end(), [](const auto* peer) {
    return peer->report.role == RingRole::actor && peer->report.actor == peer->report.instance;
  });
  if (acting_peer != peers.end()) {
    decision.reason = RoleReason::other_actor_heard;
    decision.actor = (*acting_peer)->report.instance;
    decision.actor_heard_ago = duration_cast<milliseconds>(now - (*acting_peer)->received);
    decision.detail = fmt::format(
        "standing by: {} acts and does not hear this instance as a "
        "candidate",
        decision.actor->to_string());
    return decision;
  }
  if (!eligible_since || now - *eligible_since < answer_window(settings)) {
    decision.reason = RoleReason::warming_up;
    decision.detail =
        "the lowest synced instance, acting once its peers have seen it for two "
        "intervals";
    return decision;
  }
  if (const auto silent_for =
          silent_actor_may_still_act(membership, peers, settings, now, deferred_to)) {
    decision.reason = RoleReason::takeover_pending;
    decision.actor = deferred_to->actor;
    decision.actor_heard_ago = *silent_for;
    decision.detail = fmt::format(
        "taking over from {}, silent for {} ms, once it has had an interval to see that "
        "nobody hears it",
        deferred_to->actor.to_string(), silent_for->count());
    return decision;
  }
  decision.role = RingRole::actor;
  decision.reason = RoleReason::lowest_synced;
  decision.actor = membership.self;
  decision.detail = fmt::format(
      "acting: the lowest of {} answering instances with a synced director", decision.answering);
  return decision;
}

}  // namespace

std::string_view to_string(RoleReason reason) {
  switch (reason) {
    case RoleReason::single_director:
      return "single_director";
    case RoleReason::lowest_synced:
      return "lowest_synced";
    case RoleReason::lower_instance_acts:
      return "lower_instance_acts";
    case RoleReason::lower_actor_heard:
      return "lower_actor_heard";
    case RoleReason::other_actor_heard:
      return "other_actor_heard";
    case RoleReason::unheard_by_peer:
      return "unheard_by_peer";
    case RoleReason::warming_up:
      return "warming_up";
    case RoleReason::takeover_pending:
      return "takeover_pending";
    case RoleReason::no_membership:
      return "no_membership";
    case RoleReason::director_not_synced:
      return "director_not_synced";
    case RoleReason::no_peer_answers:
      return "no_peer_answers";
    case RoleReason::minority_of_ring:
      return "minority_of_ring";
  }
  return "?";
}

RoleDecision isolated_without_membership(std::string why) {
  return {RingRole::isolated,
          RoleReason::no_membership,
          std::nullopt,
          milliseconds{0},
          0,
          0,
          fmt::format("acting on nothing: {}", why)};
}

RoleDecision decide_role(const Membership& membership,
                         const std::vector<const ReceivedReport*>& peers,
                         const RingSettings& settings, SteadyTime now,
                         std::optional<SteadyTime> eligible_since,
                         const std::optional<DeferredActor>& deferred_to) {
  if (membership.alone())
    return {RingRole::alone,
            RoleReason::single_director,
            membership.self,
            milliseconds{0},
            1,
            1,
            "the only director of its ring: acting alone"};
  const std::size_t answering = 1 + peers.size();
  if (!membership.self_director_synced)
    return isolated(membership, answering, RoleReason::director_not_synced,
                    "this director is not synced with its ring: acting on nothing");
  if (peers.empty())
    return isolated(membership, answering, RoleReason::no_peer_answers,
                    fmt::format("none of the {} other directors' poolwatch answers: acting on "
                                "nothing",
                                membership.listed - 1));
  if (2 * answering <= membership.listed)
    return isolated(membership, answering, RoleReason::minority_of_ring,
                    fmt::format("{} of the ring's {} directors answer, not a majority: acting on "
                                "nothing",
                                answering, membership.listed));
  return choose_actor(membership, peers, settings, now, eligible_since, deferred_to);
}

}  // namespace poolwatch::ring
