#pragma once
// `poolwatch status`: asks a running daemon for GET /status and prints it. This file
// owns the /status JSON schema in both directions: the daemon fills the structs and
// calls to_json(), the command parses the same text back.
//
// Schema (every field always present when written; unknown fields are ignored when read):
//   {"backends": [{"address": "10.0.0.1", "state": "up|suspect|rapid|down|...",
//                  "last_outcome": "ok", "last_latency_ms": 12.5, "since_unix": 1700000000,
//                  "reason": "...",
//                  "checks": [{"name": "imap:143", "state": "up", "consecutive_failures": 0,
//                              "last_outcome": "ok", "last_latency_ms": 12.5}]}]}

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/config.hpp"

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

// The human table; `now_unix` turns since_unix into an age. Control characters from
// reasons are replaced so a peer's text cannot drive the terminal.
std::string render_status_table(const std::vector<BackendStatusView>& backends,
                                std::int64_t now_unix);
// 1 when any backend is down, else 0.
int status_exit_code(const std::vector<BackendStatusView>& backends);

struct StatusUrl {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host;    // for the Host header
  std::string target;  // path and query, "/status" when the URL has none
};

// http://IP[:port][/path], IPv6 in brackets, "localhost" meaning 127.0.0.1. Only IP
// literals: the command must never resolve names or leave the machine.
std::optional<StatusUrl> parse_status_url(std::string_view url, std::string* error = nullptr);
// Loopback addresses, or exactly the address the daemon is configured to listen on.
bool status_endpoint_allowed(const boost::asio::ip::tcp::endpoint& endpoint,
                             const HttpConfig& http);
// The URL of /status for a listen address ("0.0.0.0:9167" asks 127.0.0.1:9167).
std::string default_status_url(const HttpConfig& http);

struct HttpFetchResult {
  std::string error;  // empty on success (any HTTP status)
  unsigned status = 0;
  std::string body;
};
// One GET with a deadline on the whole exchange and a capped body size.
HttpFetchResult http_get(const StatusUrl& url, std::chrono::milliseconds timeout);

struct StatusCommandOptions {
  std::string url;  // empty: default_status_url(http)
  bool json = false;
  HttpConfig http;  // from the daemon's config: the one non-loopback address allowed
  std::chrono::milliseconds timeout{5000};
};

// Exit codes: 0 all backends up (or suspect/rapid), 1 any down, 2 the daemon could not
// be asked (unreachable, refused URL, HTTP error, unreadable answer).
int run_status_command(const StatusCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace poolwatch
