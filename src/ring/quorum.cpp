#include "poolwatch/ring/quorum.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "poolwatch/common/text.hpp"

namespace poolwatch::ring {
namespace {

// The ring's reason text goes into logs, the hook and /status: bounded however many vote.
constexpr std::size_t kMaxVerdictReason = 1000;

struct Vote {
  const PeerReport* voter = nullptr;
  const BackendReport* backend = nullptr;
  Verdict verdict = Verdict::unknown;
};

// A verdict from a probe older than max_probe_age (by the voter's own clock, so clock
// differences between instances do not matter) is no vote.
Verdict vote_of(const PeerReport& voter, const BackendReport& backend,
                const RingSettings& settings) {
  if (backend.verdict == Verdict::unknown || backend.last_probe_unix <= 0) return Verdict::unknown;
  const auto age = std::chrono::seconds(voter.generated_unix - backend.last_probe_unix);
  if (age > settings.max_probe_age) return Verdict::unknown;
  return backend.verdict;
}

std::string down_reasons(const std::vector<Vote>& votes) {
  std::string reasons;
  for (const auto& vote : votes) {
    if (vote.verdict != Verdict::down) continue;
    reasons += fmt::format("; {}:", vote.voter->instance.to_string());
    if (vote.backend->failing.empty()) reasons += " down";
    for (const auto& check : vote.backend->failing)
      reasons += fmt::format(" {} {}: {}", check.check, check.failure, check.reason);
  }
  return reasons;
}

Overruled overruled_because(const RingVerdict& ring, const InstanceId& self) {
  if (ring.local == Verdict::unknown || ring.local == ring.verdict) return Overruled::no;
  if (ring.local == Verdict::down) {
    const bool only_here = ring.down_voters.size() == 1 && ring.down_voters.front() == self;
    if (only_here && ring.votes_up > 0) return Overruled::unreachable_from_here_only;
    return ring.verdict == Verdict::up ? Overruled::down_for_a_minority : Overruled::no_quorum;
  }
  return ring.verdict == Verdict::down ? Overruled::up_for_a_minority : Overruled::no_quorum;
}

RingVerdict tally(const IpAddress& address, const std::vector<Vote>& votes, const PeerReport& self,
                  std::size_t voters, const RingSettings& settings) {
  RingVerdict ring;
  ring.address = address;
  ring.voters = voters;
  ring.quorum = effective_quorum(settings, voters);
  for (const auto& vote : votes) {
    if (vote.voter == &self) ring.local = vote.verdict;
    if (vote.verdict == Verdict::down) {
      ++ring.votes_down;
      ring.down_voters.push_back(vote.voter->instance);
    } else if (vote.verdict == Verdict::up) {
      ++ring.votes_up;
    }
  }
  std::sort(ring.down_voters.begin(), ring.down_voters.end());
  const bool down = ring.votes_down >= ring.quorum;
  const bool up = ring.votes_up >= ring.quorum;
  // Both at once is possible only with a ring.quorum below a majority: the views
  // conflict, and doing nothing is the one safe answer.
  if (down != up) ring.verdict = down ? Verdict::down : Verdict::up;
  for (const auto& vote : votes)
    if (ring.verdict != Verdict::unknown && vote.verdict == ring.verdict &&
        vote.backend->since_unix > 0 &&
        (ring.since_unix == 0 || vote.backend->since_unix < ring.since_unix))
      ring.since_unix = vote.backend->since_unix;
  ring.overruled = overruled_because(ring, self.instance);
  const auto summary = fmt::format("{} down, {} up of {} instances (quorum {})", ring.votes_down,
                                   ring.votes_up, ring.voters, ring.quorum);
  ring.reason = printable_excerpt(summary + down_reasons(votes), kMaxVerdictReason);
  return ring;
}

}  // namespace

std::string_view to_string(Overruled overruled) {
  switch (overruled) {
    case Overruled::no:
      return "no";
    case Overruled::unreachable_from_here_only:
      return "unreachable_from_this_director_only";
    case Overruled::down_for_a_minority:
      return "down_for_a_minority";
    case Overruled::up_for_a_minority:
      return "up_for_a_minority";
    case Overruled::no_quorum:
      return "no_quorum";
  }
  return "?";
}

std::size_t effective_quorum(const RingSettings& settings, std::size_t answering) {
  if (settings.quorum) return std::max<std::size_t>(1, *settings.quorum);
  return answering / 2 + 1;
}

std::map<IpAddress, RingVerdict> ring_verdicts(const PeerReport& self,
                                               const std::vector<const PeerReport*>& peers,
                                               const RingSettings& settings) {
  std::vector<const PeerReport*> voters{&self};
  voters.insert(voters.end(), peers.begin(), peers.end());
  std::map<IpAddress, std::vector<Vote>> votes;
  for (const auto* voter : voters)
    for (const auto& backend : voter->backends)
      votes[backend.address].push_back({voter, &backend, vote_of(*voter, backend, settings)});

  std::map<IpAddress, RingVerdict> verdicts;
  for (const auto& [address, backend_votes] : votes)
    verdicts.emplace(address, tally(address, backend_votes, self, voters.size(), settings));
  return verdicts;
}

std::map<IpAddress, BackendVerdict> planner_verdicts(
    const std::map<IpAddress, RingVerdict>& verdicts) {
  std::map<IpAddress, BackendVerdict> planner;
  for (const auto& [address, ring] : verdicts)
    planner.emplace(address, BackendVerdict{ring.verdict, ring.since_unix, ring.reason});
  return planner;
}

}  // namespace poolwatch::ring
