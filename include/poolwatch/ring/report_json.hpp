#pragma once
// The JSON form of a peer report and of the ownership set (the body a peer serves, and
// what the state file will keep). Decoding is strict and bounded: every field must be
// there with its type and range, unknown fields are refused, sizes are capped, and the
// result is a report or an error message, never an exception and never half a report.
//
// Report, version 1 (keys sorted as nlohmann_json writes them):
//   {"actor": "127.0.0.1:9090" | null, "actor_heard_ago_ms": 0,
//    "backends": [{"address": "127.0.1.1", "failing": [{"check": "imap:143",
//                  "failure": "connect_refused", "reason": "..."}],
//                  "last_probe_unix": 1795392860, "since_unix": 1795392800,
//                  "verdict": "up" | "down" | "unknown"}],
//    "director_synced": true, "format": "poolwatch-ring-report",
//    "generated_unix": 1795392863, "instance": "127.0.0.1:9090",
//    "ownership": {"claims": [...], "releases": [...]},
//    "role": "alone" | "actor" | "standby" | "isolated", "version": 1}
// Ownership: {"claims": [{"address", "confirmed_unix", "flush_pending", "made_by",
//   "reason", "since_unix"}], "releases": [{"address", "made_by", "released_unix",
//   "since_unix"}]}, with "format": "poolwatch-ring-ownership" and "version" when it
// stands alone.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/ring/ownership.hpp"
#include "poolwatch/ring/peer_report.hpp"

namespace poolwatch::ring {

inline constexpr int kReportVersion = 1;
inline constexpr std::string_view kReportFormat = "poolwatch-ring-report";
inline constexpr std::string_view kOwnershipFormat = "poolwatch-ring-ownership";
// A report of a few thousand backends is some hundred kilobytes; the cap bounds what a
// peer can make this instance parse (and hold, several times over, while parsing).
inline constexpr std::size_t kMaxReportBytes = 4 * 1024 * 1024;

std::string encode_report(const PeerReport& report);

struct ReportDecode {
  std::optional<PeerReport> report;
  std::string error;  // "backends[2].verdict is \"sideways\"...": log it, act on nothing
};
ReportDecode decode_report(std::string_view body);

std::string encode_ownership(const OwnershipState& state);

struct OwnershipDecode {
  std::optional<OwnershipState> state;
  std::string error;
};
OwnershipDecode decode_ownership(std::string_view text);

}  // namespace poolwatch::ring
