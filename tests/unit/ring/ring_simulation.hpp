#pragma once
// A ring of poolwatch instances stepped by hand: each step is one interval in which
// every running instance reads its DIRECTOR-LIST, polls the peers it can reach (their
// reports go through the JSON codec, as on the wire), evaluates, and, if it may act,
// plans with a real ActionPlanner against a shared fake HOST-LIST. What the directors
// would be sent is counted, so a test can say "exactly one HOST-DOWN reached the ring".

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/ring/report_json.hpp"
#include "poolwatch/ring/ring_coordinator.hpp"
#include "ring_test_support.hpp"

namespace poolwatch::ring::test {

class RingSimulation {
 public:
  struct Instance {
    InstanceId id;
    RingCoordinator ring;
    ActionPlanner planner;
    bool running = true;            // its poolwatch
    bool director_up = true;        // its director
    std::set<IpAddress> sees_down;  // what its own probes say
    RingEvaluation last;
    bool evaluated = false;  // serves its report only once it has one
  };
  struct SentCommand {
    InstanceId by;
    director::HostCommand kind;
    IpAddress address;
  };

  explicit RingSimulation(std::vector<InstanceId> ids, std::vector<IpAddress> backends)
      : ids_(std::move(ids)), backends_(std::move(backends)) {
    for (const auto& address : backends_) pool_.hosts.push_back({address, 100, 0, "", false, 0});
    for (const auto& id : ids_) add_instance(id, {});
  }

  Instance& at(const InstanceId& id) { return instances_.at(id); }
  HostEntry& host(const IpAddress& address) {
    for (auto& host : pool_.hosts)
      if (host.address == address) return host;
    throw std::out_of_range("no such backend");
  }
  void cut(const InstanceId& from, const InstanceId& to) { cut_.insert({from, to}); }
  void cut_both(const InstanceId& a, const InstanceId& b) {
    cut(a, b);
    cut(b, a);
  }
  void heal() { cut_.clear(); }
  // Every instance restarted from what it persisted.
  void restart_all() {
    std::map<InstanceId, std::string> saved;
    for (auto& [id, instance] : instances_)
      saved[id] = encode_ownership(instance.ring.ownership().state());
    const auto down = sees_down_of_all();
    instances_.clear();
    for (const auto& id : ids_) {
      const auto decoded = decode_ownership(saved.at(id));
      add_instance(id, decoded.state.value());
      at(id).sees_down = down.at(id);
    }
  }
  void all_see_down(const IpAddress& address, bool down) {
    for (auto& [id, instance] : instances_) {
      if (down)
        instance.sees_down.insert(address);
      else
        instance.sees_down.erase(address);
    }
  }

  // One interval.
  void step() {
    clock.advance_seconds(settings.interval.count());
    for (auto& [id, instance] : instances_) read_director_list(instance);
    std::map<InstanceId, std::string> served;
    for (auto& [id, instance] : instances_)
      if (instance.running && instance.evaluated)
        served[id] = encode_report(instance.ring.report(clock.now()));
    for (auto& [id, instance] : instances_) poll_peers(instance, served);
    for (auto& [id, instance] : instances_) {
      if (!instance.running) continue;
      instance.last = instance.ring.evaluate(local_votes(instance), clock.now(), clock.unix_now());
      instance.evaluated = true;
      if (instance.last.role.may_act()) act(instance);
    }
  }
  void steps(int count) {
    for (int i = 0; i < count; ++i) step();
  }

  // Each instance on its own timer, as daemons are: its first round `offset` from now,
  // then one every `period` (a period above the interval is a loop running late). A
  // round reads DIRECTOR-LIST, polls the reports the peers serve at that moment,
  // evaluates and acts. Returns the most instances seen acting at once after any round.
  struct RoundTimer {
    std::chrono::milliseconds offset;
    std::chrono::milliseconds period;
  };
  std::size_t run_timed(std::chrono::milliseconds length,
                        const std::map<InstanceId, RoundTimer>& timers) {
    const SteadyTime end = clock.now() + length;
    std::map<InstanceId, SteadyTime> due;
    for (const auto& [id, timer] : timers) due[id] = clock.now() + timer.offset;
    std::size_t most_acting = acting().size();
    for (;;) {
      const auto next = std::min_element(
          due.begin(), due.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      if (next == due.end() || next->second > end) break;
      clock.advance(
          std::chrono::duration_cast<std::chrono::milliseconds>(next->second - clock.now()));
      round_of(at(next->first));
      next->second += timers.at(next->first).period;
      most_acting = std::max(most_acting, acting().size());
    }
    return most_acting;
  }

  std::vector<InstanceId> acting() const {
    std::vector<InstanceId> result;
    for (const auto& [id, instance] : instances_)
      if (instance.running && instance.last.role.may_act()) result.push_back(id);
    return result;
  }
  std::size_t sent(director::HostCommand kind, const IpAddress& address) const {
    std::size_t count = 0;
    for (const auto& command : sent_)
      if (command.kind == kind && command.address == address) ++count;
    return count;
  }
  const std::vector<SentCommand>& sent_commands() const { return sent_; }

  FakeClock clock;
  RingSettings settings = ring_settings();

 private:
  void add_instance(const InstanceId& id, OwnershipState persisted) {
    RingCoordinator ring(settings, persisted);
    ActionPlanner planner(ActionConfig{}, false, ring.ownership().owned_hosts());
    instances_.emplace(
        id, Instance{id, std::move(ring), std::move(planner), true, true, {}, {}, false});
  }
  // One instance's round at clock.now(), between the others' rounds.
  void round_of(Instance& instance) {
    if (!instance.running) return;
    read_director_list(instance);
    std::map<InstanceId, std::string> served;
    for (auto& [id, other] : instances_)
      if (id != instance.id && other.running && other.evaluated)
        served[id] = encode_report(other.ring.report(clock.now()));
    poll_peers(instance, served);
    instance.last = instance.ring.evaluate(local_votes(instance), clock.now(), clock.unix_now());
    instance.evaluated = true;
    if (instance.last.role.may_act()) act(instance);
  }
  std::map<InstanceId, std::set<IpAddress>> sees_down_of_all() const {
    std::map<InstanceId, std::set<IpAddress>> result;
    for (const auto& [id, instance] : instances_) result[id] = instance.sees_down;
    return result;
  }
  void read_director_list(Instance& instance) {
    if (!instance.running) return;
    if (!instance.director_up) {
      instance.ring.on_director_list_failed("connect: No such file or directory");
      return;
    }
    std::vector<InstanceId> unconnected;
    for (const auto& [id, other] : instances_)
      if (!other.director_up) unconnected.push_back(id);
    instance.ring.on_director_list(director_list(instance.id, ids_, unconnected), clock.now());
  }
  void poll_peers(Instance& instance, const std::map<InstanceId, std::string>& served) {
    if (!instance.running || !instance.ring.membership()) return;
    for (const auto& peer : instance.ring.membership()->peers) {
      if (!served.contains(peer.id) || cut_.contains({instance.id, peer.id})) continue;
      auto decoded = decode_report(served.at(peer.id));
      if (!decoded.report) throw std::runtime_error(decoded.error);
      const auto outcome = instance.ring.on_peer_report(peer.id, std::move(*decoded.report),
                                                        clock.now(), clock.unix_now());
      if (outcome.refused) throw std::runtime_error(*outcome.refused);
    }
  }
  std::map<IpAddress, BackendVerdict> local_verdicts(const Instance& instance) const {
    std::map<IpAddress, BackendVerdict> verdicts;
    for (const auto& address : backends_)
      verdicts[address] = {instance.sees_down.contains(address) ? Verdict::down : Verdict::up,
                           clock.unix_now(), "own probes"};
    return verdicts;
  }
  std::vector<BackendReport> local_votes(const Instance& instance) const {
    std::vector<IpAddress> down(instance.sees_down.begin(), instance.sees_down.end());
    return votes(backends_, down, clock.unix_now());
  }
  // The actor's scan: plan, send one command at a time (the director says OK), keep the
  // shared ownership in step with the planner.
  void act(Instance& instance) {
    const auto verdicts =
        instance.last.planner_verdicts ? *instance.last.planner_verdicts : local_verdicts(instance);
    // The planner adopts what the ring owns (the integration's step 4).
    if (!instance.ring.ownership().matches(instance.planner.owned()))
      instance.planner =
          ActionPlanner(ActionConfig{}, false, instance.ring.ownership().owned_hosts());
    const auto before = instance.planner.owned();
    const auto plan = instance.planner.plan(pool_, verdicts);
    for (const auto& command : plan.commands) {
      sent_.push_back({instance.id, command.kind, command.address});
      if (command.kind == director::HostCommand::down) host(command.address).down = true;
      if (command.kind == director::HostCommand::up) host(command.address).down = false;
      instance.planner.on_command_result(command, DirectorReplyStatus::ok, clock.unix_now());
    }
    instance.ring.ownership().apply_planner_change(before, instance.planner.owned(),
                                                   clock.unix_now());
  }

  std::vector<InstanceId> ids_;
  std::vector<IpAddress> backends_;
  PoolSnapshot pool_;
  std::map<InstanceId, Instance> instances_;
  std::set<std::pair<InstanceId, InstanceId>> cut_;  // (poller, polled) that cannot reach
  std::vector<SentCommand> sent_;
};

}  // namespace poolwatch::ring::test
