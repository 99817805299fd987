#pragma once
// The vocabulary of the ring: how an instance is named, the roles it can have and the
// settings its decisions depend on. See docs/ring.md for the rules as a whole.

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch::ring {

using SteadyTime = std::chrono::steady_clock::time_point;
using Seconds = std::chrono::duration<double>;

// A poolwatch instance is named by its director's ring address, the ip and port that
// DIRECTOR-LIST lists for that director: every instance of the ring sees the same
// names, and the order of these names is what picks the actor.
struct InstanceId {
  IpAddress ip;
  std::uint16_t port = 0;

  // "127.0.0.1:9090", "[2001:db8::1]:9090".
  std::string to_string() const;
  // The text to_string() gives; nullopt for anything else (a scope id included).
  static std::optional<InstanceId> parse(std::string_view text);

  friend auto operator<=>(const InstanceId&, const InstanceId&) = default;
  friend bool operator==(const InstanceId&, const InstanceId&) = default;
};

// alone: its director is the only one of the ring, so it acts as a single instance
// always has. actor: the one instance of a ring that sends director commands.
// standby: probes and publishes its verdicts, sends nothing. isolated: must not act
// because it cannot see enough of the ring (see RoleReason in role.hpp).
enum class RingRole { alone, actor, standby, isolated };
std::string_view to_string(RingRole role);
std::optional<RingRole> ring_role_from_string(std::string_view text);

struct RingSettings {
  // How often peers are polled and DIRECTOR-LIST is read. A peer "answers" while its
  // last good report is at most two intervals old; the actor's role passes on when it
  // has not answered for two intervals.
  Seconds interval{10};
  // ring.quorum: how many instances must see a backend down (or up) for the ring to
  // act on it. Empty: a majority of the instances that answer, this one included.
  std::optional<std::size_t> quorum;
  // ring.peer_port: where each director's poolwatch serves its report, on the
  // director's ring address.
  std::uint16_t peer_port = 0;
  // A peer's verdict on a backend it has not probed for this long is no vote; it must
  // exceed the longest probe interval (health.down_interval) plus its timeout.
  Seconds max_probe_age{300};
  // An ownership claim no actor has confirmed for this long is void, and a release is
  // kept twice as long, so that a claim never outlives its release (ownership.hpp).
  std::chrono::seconds ownership_retention{std::chrono::hours(24 * 7)};
};

// Twice the interval: the age after which a peer no longer answers.
std::chrono::steady_clock::duration answer_window(const RingSettings& settings);

}  // namespace poolwatch::ring
