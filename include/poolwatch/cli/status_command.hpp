#pragma once
// `poolwatch status`: asks a running daemon for GET /status (the schema is
// http/status_view.hpp) and prints it as a table.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/config/config.hpp"
#include "poolwatch/http/status_view.hpp"

namespace poolwatch {

// The human table; `now_unix` turns since_unix into an age. Control characters from
// reasons are replaced so a peer's text cannot drive the terminal.
// The ring's part of /status, above the table: role, peers, ownership.
std::string render_ring_summary(const RingStatusView& ring);
std::string render_status_table(const std::vector<BackendStatusView>& backends,
                                std::int64_t now_unix);

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
  // --watch: the screen is cleared and the table drawn again every watch_interval, an
  // unreachable daemon shown on the screen instead of ending the command.
  bool watch = false;
  std::chrono::milliseconds watch_interval{2000};
  std::uint64_t watch_rounds = 0;  // 0: until interrupted (tests draw a few)
};

// Exit codes: 0 all backends up (or suspect/rapid), 1 any down, 2 the daemon could not
// be asked (unreachable, refused URL, HTTP error, unreadable answer); with watch, those
// of the last round drawn.
int run_status_command(const StatusCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace poolwatch
