#pragma once
// What one instance tells the others every interval: its director's state, its own
// verdict on every backend it probes, whom it sees acting, and the downs the instances
// made as far as it knows. Its JSON form is in report_json.hpp; the signature that will
// wrap it in envelope.hpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/health/health_tracker.hpp"
#include "poolwatch/ring/ownership.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {

// Bounds of a report, checked when one is decoded: a pool, a backend's checks and a
// reason beyond these are not a report but garbage.
inline constexpr std::size_t kMaxReportBackends = 10000;
inline constexpr std::size_t kMaxFailingChecks = 32;
inline constexpr std::size_t kMaxReportText = 512;
// Older than any answer window; a report saying more is garbage.
inline constexpr std::chrono::milliseconds kMaxActorHeardAgo = std::chrono::hours(24);

struct FailingCheck {
  std::string check;    // "imap:143"
  std::string failure;  // to_string(FailureClass): "connect refused"
  std::string reason;
  friend bool operator==(const FailingCheck&, const FailingCheck&) = default;
};

// One instance's own view of one backend: this is its vote.
struct BackendReport {
  IpAddress address;
  Verdict verdict = Verdict::unknown;
  std::int64_t since_unix = 0;       // when that verdict began
  std::int64_t last_probe_unix = 0;  // the latest probe of any of its checks; 0: none yet
  std::vector<FailingCheck> failing;
  friend bool operator==(const BackendReport&, const BackendReport&) = default;
};

struct PeerReport {
  InstanceId instance;              // the sender's director's ring address
  std::int64_t generated_unix = 0;  // the sender's clock; probe ages are taken against it
  // Its director is in the ring and synced (ring/membership.hpp: director_in_sync).
  bool director_synced = false;
  RingRole role = RingRole::isolated;
  // Whom the sender sees acting, and how long ago that one last answered it (0 when it
  // is the sender itself): lets an instance that cannot hear that actor still defer to
  // it, for as long as its own view would have lasted (role.hpp).
  std::optional<InstanceId> actor;
  std::chrono::milliseconds actor_heard_ago{0};
  std::vector<BackendReport> backends;  // ordered by address, one each
  OwnershipState ownership;
  friend bool operator==(const PeerReport&, const PeerReport&) = default;
};

// A peer's report as this instance holds it: when it arrived, by the steady clock.
struct ReceivedReport {
  PeerReport report;
  SteadyTime received{};
};

// This instance's vote on a backend from the health tracker's status, with the time its
// latest probe ended. Reasons are made printable and cut to kMaxReportText, so what is
// sent always decodes.
BackendReport backend_report(const BackendStatus& status);

}  // namespace poolwatch::ring
