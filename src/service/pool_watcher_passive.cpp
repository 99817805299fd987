// Passive health in the scan loop's terms (docs/passive.md): the director's proxies
// reported that users cannot reach a backend, so its checks become suspect now and the
// active probes confirm at once. Kept out of pool_watcher.cpp: the scan does not change.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

std::optional<std::string> PoolWatcher::start_passive() {
  if (!config_.passive.enabled || passive_) return std::nullopt;
  PassiveLink::Hooks hooks{
      [this](const IpAddress& address) { return tracker_.backend_state(address).has_value(); },
      [this](const IpAddress& address, const passive::Suspicion& suspicion) {
        on_passive_suspicion(address, suspicion);
      }};
  passive_ = std::make_unique<PassiveLink>(executor_, config_.passive, metrics_.registry(),
                                           std::move(hooks));
  if (auto problem = passive_->start()) {
    passive_.reset();
    return problem;
  }
  return std::nullopt;
}

std::optional<boost::asio::ip::tcp::endpoint> PoolWatcher::passive_endpoint() const {
  if (!passive_) return std::nullopt;
  return passive_->local_endpoint();
}

void PoolWatcher::on_passive_suspicion(const IpAddress& address,
                                       const passive::Suspicion& suspicion) {
  if (stopping_) return;
  const std::chrono::duration<double> span = suspicion.last_fault - suspicion.first_fault;
  const auto cause =
      fmt::format("passive: {} backend faults reported by the director within {:.1f} s",
                  suspicion.faults, span.count());
  auto result = tracker_.suspect_now(address, cause, config_.passive.may_down,
                                     std::chrono::steady_clock::now(), unix_now());
  if (!result.tracked) return;
  const auto name = address.to_string();
  passive_->metrics().rapid_rounds_started(name, result.rapid_rounds_started);
  if (result.checks.empty()) {
    spdlog::debug("backend {}: {}; its checks are in a rapid round or down already", name, cause);
    return;
  }
  passive_suspects_.insert_or_assign(address, suspicion.first_fault);
  for (const auto& [id, t] : result.checks) {
    spdlog::info("{} {} -> {}: {}", name, to_string(t.from), to_string(t.to), t.reason);
    events_.transition(std::chrono::system_clock::now(), name, check_label(id.port),
                       to_string(t.from), to_string(t.to), t.reason);
  }
  // Queued for the old due time: queued again at the new one (a check being probed now
  // reads its new plan when it ends).
  for (const auto& id : result.woken)
    if (due_.contains(id)) queue_check(id, tracker_.plan(id).due);
  if (result.backend) log_backend_transition(*result.backend);
  if (const auto state = tracker_.backend_state(address))
    metrics_.backend_state(name, to_string(*state));
}

void PoolWatcher::note_passive_outcome(const BackendTransition& t) {
  const auto it = passive_suspects_.find(t.address);
  if (it == passive_suspects_.end()) return;
  const auto first_fault = it->second;
  passive_suspects_.erase(it);
  if (t.to != Verdict::down || !passive_) return;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - first_fault;
  const double worst = worst_case_detection_time(config_.health).count();
  // A round that cleared long ago and a later down are not one episode.
  if (took.count() >= worst) return;
  spdlog::info(
      "backend {}: down {:.1f} s after the first fault the director reported (active "
      "probing alone: up to {:.1f} s)",
      t.address.to_string(), took.count(), worst);
  passive_->metrics().detection_saved(t.address.to_string(), worst - took.count());
}

}  // namespace poolwatch
