#include "poolwatch/ring/ring_coordinator.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace poolwatch::ring {

RingCoordinator::RingCoordinator(RingSettings settings, OwnershipState persisted)
    : settings_(std::move(settings)),
      ownership_(InstanceId{}, settings_.ownership_retention, std::move(persisted)) {}

std::vector<std::string> RingCoordinator::on_director_list(const director::DirectorList& list,
                                                           SteadyTime now) {
  auto result = membership_from(list, settings_);
  director_list_at_ = now;
  director_problem_.reset();
  if (!result.membership) {
    membership_.reset();
    membership_error_ = result.error;
    return {std::move(result.error)};
  }
  membership_ = std::move(*result.membership);
  membership_error_.clear();
  peers_.retain_members(*membership_);
  ownership_.set_self(membership_->self);
  return membership_->problems;
}

void RingCoordinator::on_director_list_failed(std::string error) {
  director_problem_ = fmt::format("DIRECTOR-LIST failed: {}", error);
}

PeerReportOutcome RingCoordinator::on_peer_report(const InstanceId& from, PeerReport report,
                                                  SteadyTime now, std::int64_t unix_now) {
  if (!membership_) return {"no ring membership yet", {}};
  // The ownership set is taken before the report moves into the table.
  const OwnershipState ownership = report.ownership;
  if (auto refused = peers_.record(*membership_, from, std::move(report), now))
    return {std::move(refused), {}};
  return {std::nullopt, ownership_.merge(ownership, unix_now)};
}

RoleDecision RingCoordinator::decide(SteadyTime now) const {
  // An instance that cannot read DIRECTOR-LIST cannot reach its director, so it could
  // not send a command anyway; saying so at once lets another take over at once. A
  // membership is also only as good as its DIRECTOR-LIST: one two intervals old no
  // longer says who is in the ring.
  if (director_problem_) return isolated_without_membership(*director_problem_);
  if (!membership_) return isolated_without_membership(membership_error_);
  if (!director_list_at_ || now - *director_list_at_ > answer_window(settings_))
    return isolated_without_membership("DIRECTOR-LIST is out of date");
  return decide_role(*membership_, peers_.answering(settings_, now), settings_, now,
                     eligible_since_, deferred_to_);
}

RingEvaluation RingCoordinator::evaluate(std::vector<BackendReport> local, SteadyTime now,
                                         std::int64_t unix_now) {
  RingEvaluation evaluation;
  evaluation.role = decide(now);
  if (evaluation.role.role == RingRole::isolated)
    eligible_since_.reset();
  else if (!eligible_since_)
    eligible_since_ = now;
  remember_actor(evaluation.role, now);

  std::sort(local.begin(), local.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  report_.instance = membership_ ? membership_->self : InstanceId{};
  report_.generated_unix = unix_now;
  report_.director_synced = membership_ && !director_problem_ && membership_->self_director_synced;
  report_.role = evaluation.role.role;
  report_.actor = evaluation.role.actor;
  report_.actor_heard_ago = evaluation.role.actor_heard_ago;
  report_.backends = std::move(local);
  evaluated_at_ = now;

  std::vector<const PeerReport*> voters;
  if (evaluation.role.role != RingRole::alone && membership_)
    for (const auto* received : peers_.answering(settings_, now))
      voters.push_back(&received->report);
  evaluation.verdicts = ring_verdicts(report_, voters, settings_);
  if (evaluation.role.role != RingRole::alone)
    evaluation.planner_verdicts = planner_verdicts(evaluation.verdicts);

  evaluation.ownership = ownership_.expire(unix_now);
  return evaluation;
}

void RingCoordinator::remember_actor(const RoleDecision& decision, SteadyTime now) {
  if (decision.may_act()) {
    deferred_to_.reset();
    return;
  }
  // A pending takeover names the silent actor with its age: that is no new word from it.
  if (!decision.actor || !membership_ || *decision.actor == membership_->self ||
      decision.reason == RoleReason::takeover_pending)
    return;
  deferred_to_ = DeferredActor{*decision.actor, now - decision.actor_heard_ago};
}

PeerReport RingCoordinator::report(SteadyTime now) const {
  PeerReport report = report_;
  report.ownership = ownership_.state();
  if (report.actor && *report.actor != report.instance && now > evaluated_at_)
    report.actor_heard_ago =
        std::min(kMaxActorHeardAgo,
                 report.actor_heard_ago +
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - evaluated_at_));
  return report;
}

}  // namespace poolwatch::ring
