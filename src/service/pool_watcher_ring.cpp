// PoolWatcher's ring step (ring.peer_port set, docs/ring.md): after HOST-LIST, read
// DIRECTOR-LIST, poll the peers, and let the ring say whether this instance acts and
// with which verdicts.
#include <spdlog/spdlog.h>

#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/service/pool_watcher.hpp"

namespace poolwatch {

namespace asio = boost::asio;

std::vector<ring::BackendReport> PoolWatcher::local_votes() const {
  std::vector<ring::BackendReport> votes;
  for (const auto& backend : tracker_.status()) votes.push_back(ring::backend_report(backend));
  return votes;
}

// nullopt: this instance must not act now (standby or isolated). Otherwise the verdicts
// to plan with, the planner holding what the ring owns.
asio::awaitable<std::optional<std::map<IpAddress, BackendVerdict>>> PoolWatcher::ring_turn() {
  {
    const ScopedFlag busy(director_busy_);
    co_await ring_->read_director_list(director_);
  }
  if (stopping_) co_return std::nullopt;
  co_await ring_->poll_peers();
  if (stopping_) co_return std::nullopt;
  auto evaluation = ring_->evaluate(local_votes());
  if (!evaluation.role.may_act()) co_return std::nullopt;
  // Another instance took a backend down or brought one up, or this one just became the
  // actor: the planner adopts what the ring owns before it plans.
  if (!ring_->planner_matches(planner_.owned())) {
    spdlog::info("ring: the planner adopts the ring's {} down(s)", ring_->owned_hosts().size());
    planner_ = ActionPlanner(config_.actions, config_.dry_run, ring_->owned_hosts());
  }
  if (evaluation.planner_verdicts) co_return std::move(evaluation.planner_verdicts);
  co_return tracker_.verdicts();
}

// HOST-LIST failed: the director is out of reach, so this instance tells its peers it
// cannot act (the failed DIRECTOR-LIST makes it isolated) and keeps its votes current.
asio::awaitable<void> PoolWatcher::ring_turn_without_pool(std::string error) {
  ring_->director_list_failed(std::move(error));
  co_await ring_->poll_peers();
  if (stopping_) co_return;
  ring_->evaluate(local_votes());
}

}  // namespace poolwatch
