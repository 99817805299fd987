#pragma once
// The /status JSON schema in both directions: the daemon fills the structs and calls
// to_json(), `poolwatch status` parses the same text back.
//
// Schema (every field always present when written; unknown fields are ignored when read):
//   {"backends": [{"address": "10.0.0.1", "state": "up|suspect|rapid|down|...",
//                  "last_outcome": "ok", "last_latency_ms": 12.5, "since_unix": 1700000000,
//                  "reason": "...",
//                  "checks": [{"name": "imap:143", "state": "up", "consecutive_failures": 0,
//                              "last_outcome": "ok", "last_latency_ms": 12.5,
//                              "last_reason": ""}],
//                  "cert_expiry_unix": 1700000000,      (null before a TLS handshake)
//                  "ring": {...}}],                     (on a ring only, BackendRingView)
//    "ring": {"role": "actor", ...}}                     (on a ring only, RingStatusView)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch {

struct CheckStatusView {
  std::string name;  // e.g. "imap:143" or "imaps:993"
  std::string state;
  int consecutive_failures = 0;
  std::string last_outcome;
  double last_latency_ms = 0;
  std::string last_reason;  // the last failure's text, from the network; "" after a success
  friend bool operator==(const CheckStatusView&, const CheckStatusView&) = default;
};

// The ring's word on one backend (docs/ring.md): the votes, the verdict they make, and
// why it differs from this instance's own view, if it does.
struct BackendRingView {
  std::string verdict;  // "up", "down", "unknown"
  std::int64_t votes_down = 0;
  std::int64_t votes_up = 0;
  std::int64_t voters = 0;
  std::int64_t quorum = 0;
  std::string overruled;  // "no", "unreachable_from_this_director_only", ...
  std::string reason;     // the votes and the down voters' failing checks
  friend bool operator==(const BackendRingView&, const BackendRingView&) = default;
};

struct RingPeerStatusView {
  std::string id;  // its director's ring address, "127.0.0.12:9090"
  bool answering = false;
  std::int64_t age_ms = -1;  // since its last good report; -1: none yet
  std::string role;          // what it says it is; "" before its first report
  std::string problem;       // why its last poll was not counted; "" when it was
  friend bool operator==(const RingPeerStatusView&, const RingPeerStatusView&) = default;
};

struct RingStatusView {
  std::string role;    // "alone", "actor", "standby", "isolated"
  std::string reason;  // the sentence
  std::string self;    // this director's ring address; "" before DIRECTOR-LIST
  std::string actor;   // whom this instance sees acting; "" none
  std::int64_t listed = 0;
  std::int64_t answering = 0;  // this instance included
  std::int64_t quorum = 0;
  std::int64_t owned = 0;  // downs the ring's instances hold
  std::vector<RingPeerStatusView> peers;
  friend bool operator==(const RingStatusView&, const RingStatusView&) = default;
};

struct BackendStatusView {
  std::string address;
  std::string state;
  std::string last_outcome;
  double last_latency_ms = 0;
  std::int64_t since_unix = 0;  // when the backend entered `state`; 0 = unknown
  std::string reason;           // why it is in this state; never a secret
  std::vector<CheckStatusView> checks;
  std::optional<BackendRingView> ring;
  // Unix time of the earliest certificate expiry its TLS checks saw; none without TLS.
  std::optional<std::int64_t> cert_expiry_unix;
  friend bool operator==(const BackendStatusView&, const BackendStatusView&) = default;
};

// The document written a backend at a time, so that a large pool's /status never holds
// the event loop (http/body_writer.hpp): begin, add each backend, end. The text is
// to_json()'s.
class StatusJsonWriter {
 public:
  void begin(std::string& out);
  void add(std::string& out, const BackendStatusView& backend);
  void end(std::string& out, const std::optional<RingStatusView>& ring);

 private:
  bool first_ = true;
};

// Valid JSON even when a reason holds bytes that are not UTF-8 (they become U+FFFD).
std::string to_json(const std::vector<BackendStatusView>& backends,
                    const std::optional<RingStatusView>& ring = std::nullopt);
// nullopt with *error set when the text is not JSON or does not follow the schema.
std::optional<std::vector<BackendStatusView>> parse_status_json(std::string_view text,
                                                                std::string* error = nullptr);

// The "ring" object of a status document; nullopt (and *error empty) when there is none.
std::optional<RingStatusView> parse_ring_status(std::string_view text,
                                                std::string* error = nullptr);

// 1 when any backend is down, else 0.
int status_exit_code(const std::vector<BackendStatusView>& backends);

}  // namespace poolwatch
