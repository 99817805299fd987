#pragma once
// The /status JSON schema in both directions: the daemon fills the structs and calls
// to_json(), `poolwatch status` parses the same text back.
//
// Schema (every field always present when written; unknown fields are ignored when read):
//   {"backends": [{"address": "10.0.0.1", "state": "up|suspect|rapid|down|...",
//                  "last_outcome": "ok", "last_latency_ms": 12.5, "since_unix": 1700000000,
//                  "reason": "...",
//                  "checks": [{"name": "imap:143", "state": "up", "consecutive_failures": 0,
//                              "last_outcome": "ok", "last_latency_ms": 12.5}]}]}

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
  friend bool operator==(const CheckStatusView&, const CheckStatusView&) = default;
};

struct BackendStatusView {
  std::string address;
  std::string state;
  std::string last_outcome;
  double last_latency_ms = 0;
  std::int64_t since_unix = 0;  // when the backend entered `state`; 0 = unknown
  std::string reason;           // why it is in this state; never a secret
  std::vector<CheckStatusView> checks;
  friend bool operator==(const BackendStatusView&, const BackendStatusView&) = default;
};

// Valid JSON even when a reason holds bytes that are not UTF-8 (they become U+FFFD).
std::string to_json(const std::vector<BackendStatusView>& backends);
// nullopt with *error set when the text is not JSON or does not follow the schema.
std::optional<std::vector<BackendStatusView>> parse_status_json(std::string_view text,
                                                                std::string* error = nullptr);

// 1 when any backend is down, else 0.
int status_exit_code(const std::vector<BackendStatusView>& backends);

}  // namespace poolwatch
