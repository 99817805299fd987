#include "poolwatch/ring/ownership.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace poolwatch::ring {

SharedOwnership::SharedOwnership(InstanceId self, std::chrono::seconds retention,
                                 OwnershipState persisted)
    : self_(std::move(self)), retention_(retention) {
  // Taken as saved: whatever is stale goes at the next expire(), which knows the time.
  OwnershipChange ignored;
  for (const auto& release : persisted.releases) add_release(release, ignored);
  for (const auto& claim : persisted.claims) add_claim(claim, ignored);
}

SharedOwnership::ClaimKey SharedOwnership::key_of(const DownClaim& claim) {
  return {claim.address, claim.made_by, claim.since_unix};
}

SharedOwnership::ClaimKey SharedOwnership::key_of(const ClaimRelease& release) {
  return {release.address, release.made_by, release.since_unix};
}

bool SharedOwnership::stale(const DownClaim& claim, std::int64_t unix_now) const {
  return claim.confirmed_unix + retention_.count() < unix_now;
}

// Confirmation times are kept in steps of an eighth of the retention, so that confirming
// every scan changes the saved state (and writes the state file) a few times per
// retention, not every scan, while a saved time is never more than a step behind.
std::int64_t SharedOwnership::confirmation_time(std::int64_t unix_now) const {
  const std::int64_t step = std::max<std::int64_t>(1, retention_.count() / 8);
  return unix_now - unix_now % step;
}

bool SharedOwnership::add_claim(const DownClaim& claim, OwnershipChange& change) {
  const auto key = key_of(claim);
  if (releases_.contains(key)) return true;  // released for good; a stale copy stays out
  const auto found = claims_.find(key);
  if (found != claims_.end()) {
    DownClaim& held = found->second;
    const bool flush_pending = held.flush_pending && claim.flush_pending;
    const auto confirmed = std::max(held.confirmed_unix, claim.confirmed_unix);
    if (flush_pending != held.flush_pending || confirmed != held.confirmed_unix) {
      held.flush_pending = flush_pending;
      held.confirmed_unix = confirmed;
      change.changed = true;
    }
    return true;
  }
  if (claims_.size() >= kMaxClaims) return false;
  claims_.emplace(key, claim);
  change.changed = true;
  change.claims_added = true;
  return true;
}

void SharedOwnership::add_release(const ClaimRelease& release, OwnershipChange& change) {
  const auto key = key_of(release);
  const auto found = releases_.find(key);
  if (found != releases_.end()) {
    // The latest copy keeps it longest: a release must outlive every copy of its claim.
    if (release.released_unix > found->second.released_unix) {
      found->second.released_unix = release.released_unix;
      change.changed = true;
    }
    return;
  }
  if (releases_.size() >= kMaxReleases) {
    // The oldest release goes: its claim is the likeliest to have expired everywhere.
    const auto oldest = std::min_element(releases_.begin(), releases_.end(), [](auto& a, auto& b) {
      return a.second.released_unix < b.second.released_unix;
    });
    change.problems.push_back(
        fmt::format("more than {} ownership releases: forgot the oldest, "
                    "of {}",
                    kMaxReleases, oldest->second.address.to_string()));
    releases_.erase(oldest);
  }
  releases_.emplace(key, release);
  claims_.erase(key);
  change.changed = true;
}

OwnershipChange SharedOwnership::merge(const OwnershipState& other, std::int64_t unix_now) {
  OwnershipChange change;
  for (const auto& release : other.releases) add_release(release, change);
  std::size_t refused = 0;
  for (const auto& claim : other.claims)
    if (!stale(claim, unix_now) && !add_claim(claim, change)) ++refused;
  if (refused > 0)
    change.problems.push_back(
        fmt::format("{} ownership claims not taken: more than {} claims", refused, kMaxClaims));
  return change;
}

void SharedOwnership::release_claims_of(const IpAddress& address, std::int64_t unix_now,
                                        OwnershipChange& change) {
  std::vector<ClaimRelease> releases;
  for (const auto& [key, claim] : claims_)
    if (claim.address == address)
      releases.push_back({claim.address, claim.made_by, claim.since_unix, unix_now});
  for (const auto& release : releases) add_release(release, change);
}

OwnershipChange SharedOwnership::apply_planner_change(const std::vector<OwnedHost>& before,
                                                      const std::vector<OwnedHost>& after,
                                                      std::int64_t unix_now) {
  OwnershipChange change;
  std::set<IpAddress> owned_after;
  for (const auto& host : after) owned_after.insert(host.address);
  for (const auto& host : before)
    if (!owned_after.contains(host.address)) release_claims_of(host.address, unix_now, change);

  for (const auto& host : after) {
    bool covered = false;
    for (auto& [key, claim] : claims_) {
      if (claim.address != host.address) continue;
      covered = true;
      // The actor's planner knows best whether the flush is still owed (a HOST-DOWN
      // sent again owes one again), so here it is taken as it is, not merged.
      const auto confirmed = std::max(claim.confirmed_unix, confirmation_time(unix_now));
      if (claim.flush_pending != host.flush_pending || claim.confirmed_unix != confirmed) {
        claim.flush_pending = host.flush_pending;
        claim.confirmed_unix = confirmed;
        change.changed = true;
      }
    }
    if (covered) continue;
    DownClaim claim{host.address,       self_,
                    host.since,         host.reason,
                    host.flush_pending, confirmation_time(unix_now)};
    // A HOST-DOWN answered in the same second as the release of an earlier claim of ours
    // on the same host would reuse its key; one second later it is a new claim.
    while (releases_.contains(key_of(claim))) ++claim.since_unix;
    if (!add_claim(claim, change))
      change.problems.push_back(
          fmt::format("more than {} ownership claims: the down of {} is not shared", kMaxClaims,
                      host.address.to_string()));
  }
  change.claims_added = false;  // the planner has these already
  return change;
}

OwnershipChange SharedOwnership::expire(std::int64_t unix_now) {
  OwnershipChange change;
  const auto release_life = 2 * retention_.count();
  std::erase_if(releases_, [&](const auto& entry) {
    const bool old = entry.second.released_unix + release_life < unix_now;
    change.changed = change.changed || old;
    return old;
  });
  std::erase_if(claims_, [&](const auto& entry) {
    const bool old = stale(entry.second, unix_now);
    if (old)
      change.problems.push_back(fmt::format(
          "the claim on {} by {} was not confirmed by an actor for {} s: the down is no "
          "longer poolwatch's",
          entry.second.address.to_string(), entry.second.made_by.to_string(), retention_.count()));
    change.changed = change.changed || old;
    return old;
  });
  return change;
}

std::vector<OwnedHost> SharedOwnership::owned_hosts() const {
  std::vector<OwnedHost> owned;
  for (const auto& [key, claim] : claims_) {
    if (owned.empty() || owned.back().address != claim.address) {
      owned.push_back({claim.address, claim.since_unix, claim.reason, claim.flush_pending});
      continue;
    }
    OwnedHost& host = owned.back();
    if (claim.since_unix < host.since) {
      host.since = claim.since_unix;
      host.reason = claim.reason;
    }
    host.flush_pending = host.flush_pending || claim.flush_pending;
  }
  return owned;
}

bool SharedOwnership::owns(const IpAddress& address) const {
  return std::any_of(claims_.begin(), claims_.end(),
                     [&](const auto& entry) { return entry.second.address == address; });
}

bool SharedOwnership::matches(const std::vector<OwnedHost>& planner_owned) const {
  std::set<IpAddress> claimed;
  for (const auto& [key, claim] : claims_) claimed.insert(claim.address);
  std::set<IpAddress> planned;
  for (const auto& host : planner_owned) planned.insert(host.address);
  return claimed == planned;
}

std::size_t SharedOwnership::held_down(const PoolSnapshot& pool) const {
  std::size_t held = 0;
  for (const auto& host : owned_hosts())
    if (pool.find(host.address) != nullptr) ++held;
  return held;
}

OwnershipState SharedOwnership::state() const {
  OwnershipState state;
  for (const auto& [key, claim] : claims_) state.claims.push_back(claim);
  for (const auto& [key, release] : releases_) state.releases.push_back(release);
  return state;
}

}  // namespace poolwatch::ring
