// What RingLink tells the operator: role changes and overruled backends in the log (each
// once, when it changes), the ring metrics, and the ring's part of /status.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "poolwatch/service/ring_link.hpp"

namespace poolwatch {

namespace {

std::string role_sentence(const ring::RoleDecision& role) {
  std::string sentence(to_string(role.reason));
  if (!role.detail.empty()) sentence = fmt::format("{}: {}", sentence, role.detail);
  return sentence;
}

std::string overruled_sentence(const ring::RingVerdict& verdict) {
  switch (verdict.overruled) {
    case ring::Overruled::unreachable_from_here_only:
      return "unreachable from this director only: the ring keeps it up";
    case ring::Overruled::down_for_a_minority:
      return "down for this instance and a minority only: the ring keeps it up";
    case ring::Overruled::up_for_a_minority:
      return "healthy for this instance, down for the quorum: the ring keeps it down";
    case ring::Overruled::no_quorum:
      return "the instances' votes reach no quorum: nothing is done about it";
    case ring::Overruled::no:
      break;
  }
  return "the ring agrees with this instance again";
}

}  // namespace

void RingLink::log_role(const ring::RoleDecision& role) {
  const bool changed = !last_role_ || last_role_->role != role.role ||
                       last_role_->reason != role.reason || last_role_->actor != role.actor;
  if (changed) {
    const auto from = last_role_ ? to_string(last_role_->role) : std::string_view("none");
    const auto level =
        role.role == ring::RingRole::isolated ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "ring: role {} -> {}: {}{}", from, to_string(role.role), role_sentence(role),
                role.actor ? fmt::format(" (actor {})", role.actor->to_string()) : "");
  }
  last_role_ = role;
}

void RingLink::log_overruled(const std::map<IpAddress, ring::RingVerdict>& verdicts) {
  for (const auto& [address, verdict] : verdicts) {
    auto& last = overruled_[address];
    if (verdict.overruled == last) continue;
    // No quorum is what every start looks like until the peers have probed: not worth a
    // line per backend. A minority view and its end are.
    auto level = spdlog::level::warn;
    if (verdict.overruled == ring::Overruled::no_quorum ||
        (verdict.overruled == ring::Overruled::no && last == ring::Overruled::no_quorum))
      level = spdlog::level::debug;
    else if (verdict.overruled == ring::Overruled::no)
      level = spdlog::level::info;
    spdlog::log(level, "backend {}: {} ({})", address.to_string(), overruled_sentence(verdict),
                verdict.reason);
    last = verdict.overruled;
  }
  std::erase_if(overruled_, [&](const auto& entry) { return !verdicts.contains(entry.first); });
}

void RingLink::export_metrics(const ring::RingEvaluation& evaluation) {
  std::vector<PoolwatchMetrics::RingBackendFigures> figures;
  figures.reserve(evaluation.verdicts.size());
  for (const auto& [address, verdict] : evaluation.verdicts) {
    PoolwatchMetrics::RingBackendFigures f;
    f.backend = address.to_string();
    f.votes_down = verdict.votes_down;
    f.votes_up = verdict.votes_up;
    if (verdict.overruled != ring::Overruled::no) f.overruled = to_string(verdict.overruled);
    figures.push_back(std::move(f));
  }
  metrics_.ring(to_string(evaluation.role.role), evaluation.role.listed, evaluation.role.answering,
                figures);
}

RingStatusView RingLink::status() const {
  RingStatusView view;
  const auto now = std::chrono::steady_clock::now();
  if (last_role_) {
    view.role = to_string(last_role_->role);
    view.reason = role_sentence(*last_role_);
    if (last_role_->actor) view.actor = last_role_->actor->to_string();
    view.listed = static_cast<std::int64_t>(last_role_->listed);
    view.answering = static_cast<std::int64_t>(last_role_->answering);
    view.quorum =
        static_cast<std::int64_t>(ring::effective_quorum(settings_, last_role_->answering));
  } else {
    view.role = "isolated";
    view.reason = "starting: no DIRECTOR-LIST read yet";
  }
  view.owned = static_cast<std::int64_t>(coordinator_.ownership().owned_hosts().size());
  const auto& membership = coordinator_.membership();
  if (!membership) return view;
  view.self = membership->self.to_string();
  const auto answering = coordinator_.peers().answering(settings_, now);
  for (const auto& peer : membership->peers) {
    RingPeerStatusView p;
    p.id = peer.id.to_string();
    if (const auto* last = coordinator_.peers().last(peer.id)) {
      p.age_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - last->received).count();
      p.role = to_string(last->report.role);
      p.answering = std::find(answering.begin(), answering.end(), last) != answering.end();
    }
    if (auto it = peer_problems_.find(peer.id); it != peer_problems_.end()) p.problem = it->second;
    view.peers.push_back(std::move(p));
  }
  return view;
}

std::optional<BackendRingView> RingLink::backend_view(const IpAddress& address) const {
  auto it = last_.verdicts.find(address);
  if (it == last_.verdicts.end()) return std::nullopt;
  const auto& verdict = it->second;
  BackendRingView view;
  view.verdict = to_string(verdict.verdict);
  view.votes_down = static_cast<std::int64_t>(verdict.votes_down);
  view.votes_up = static_cast<std::int64_t>(verdict.votes_up);
  view.voters = static_cast<std::int64_t>(verdict.voters);
  view.quorum = static_cast<std::int64_t>(verdict.quorum);
  view.overruled = to_string(verdict.overruled);
  view.reason = verdict.reason;
  return view;
}

}  // namespace poolwatch
