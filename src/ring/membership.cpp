#include "poolwatch/ring/membership.hpp"

#include <fmt/format.h>

#include <set>

namespace poolwatch::ring {

const RingPeer* Membership::find(const InstanceId& id) const {
  for (const auto& peer : peers)
    if (peer.id == id) return &peer;
  return nullptr;
}

bool director_in_sync(const director::RingDirector& self, const RingSettings& settings) {
  if (self.status == director::LinkStatus::synced) return true;
  if (self.status != director::LinkStatus::syncing || !self.last_sync_secs_ago) return false;
  const auto since_sync = std::chrono::seconds(*self.last_sync_secs_ago);
  return since_sync.count() >= 0 && since_sync <= 2 * settings.interval;
}

MembershipResult membership_from(const director::DirectorList& list, const RingSettings& settings) {
  const auto* self = list.self();
  if (self == nullptr) return {std::nullopt, "DIRECTOR-LIST has no line for this director"};
  if (self->removed) return {std::nullopt, "this director is removed from the ring"};
  if (settings.peer_port == 0) return {std::nullopt, "ring.peer_port is not set"};

  Membership membership;
  membership.self = {self->address, self->port};
  membership.self_director_synced = director_in_sync(*self, settings);
  // Peers are reached at their director's address and one port for all, so two
  // directors on one address could not be told apart; the first one is the peer.
  std::set<IpAddress> addresses{self->address};
  for (const auto& director : list.directors) {
    if (director.removed) continue;
    ++membership.listed;
    if (director.self) continue;
    const InstanceId id{director.address, director.port};
    if (!addresses.insert(director.address).second) {
      membership.problems.push_back(fmt::format(
          "director {} shares its address with another director: its poolwatch cannot be "
          "told apart at port {} and is not polled",
          id.to_string(), settings.peer_port));
      continue;
    }
    membership.peers.push_back({id, director.address, settings.peer_port, director.connected()});
  }
  return {std::move(membership), {}};
}

std::optional<std::string> PeerTable::record(const Membership& membership, const InstanceId& from,
                                             PeerReport report, SteadyTime now) {
  if (membership.find(from) == nullptr)
    return fmt::format("a report from {}, which is not a member of the ring", from.to_string());
  if (report.instance != from)
    return fmt::format("the poolwatch polled at {} answers as {}", from.to_string(),
                       report.instance.to_string());
  last_.insert_or_assign(from, ReceivedReport{std::move(report), now});
  return std::nullopt;
}

void PeerTable::retain_members(const Membership& membership) {
  std::erase_if(last_, [&](const auto& entry) { return membership.find(entry.first) == nullptr; });
}

std::vector<const ReceivedReport*> PeerTable::answering(const RingSettings& settings,
                                                        SteadyTime now) const {
  std::vector<const ReceivedReport*> answering;
  for (const auto& [id, received] : last_)
    if (now - received.received <= answer_window(settings)) answering.push_back(&received);
  return answering;
}

const ReceivedReport* PeerTable::last(const InstanceId& id) const {
  const auto found = last_.find(id);
  return found == last_.end() ? nullptr : &found->second;
}

}  // namespace poolwatch::ring
