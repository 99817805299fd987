#pragma once
// Sans-io director-admin protocol (the doveadm <-> director UNIX socket): the
// handshake, HOST-LIST parsing, reply classification and command encoding. No I/O here;
// DirectorClient feeds it lines and sends what it encodes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/director/pool.hpp"

namespace poolwatch {

// Enough for any error message a director sends in reply to a host command.
inline constexpr std::size_t kMaxReplyText = 200;

enum class DirectorReplyStatus { ok, not_found, try_again, ring_sync_timeout, error, no_reply };

std::string_view to_string(DirectorReplyStatus s);

struct DirectorReply {
  DirectorReplyStatus status = DirectorReplyStatus::no_reply;
  // The reply line made printable (printable_excerpt, at most kMaxReplyText bytes), or for
  // no_reply why there was none: the director's text goes to logs and /status as is.
  std::string text;
  bool ok() const { return status == DirectorReplyStatus::ok; }
};

namespace director {

// What both sides send first. The server sends its line unprompted on accept.
inline constexpr std::string_view kHandshakeLine = "VERSION\tdirector-doveadm\t1\t0\n";

// Replies are built by the director without a length limit; we refuse anything longer.
inline constexpr std::size_t kMaxReplyLine = 64 * 1024;
// The director rejects request lines longer than this, including the LF.
inline constexpr std::size_t kMaxRequestLine = 1024;
// More hosts than any real pool; bounds the memory a runaway HOST-LIST can take.
inline constexpr std::size_t kMaxHosts = 100000;
// The longest tag a HOST-LIST line may carry, in bytes as sent (tab-escaped). Dovecot
// sets no limit of its own on a tag name, but a tag only ever reaches a director inside
// one request line: doveadm's "HOST-SET\t<ip>@<tag>\t<vhosts>" on the director-admin
// socket, which reads through a 1024-byte stream buffer (doveadm-connection.c,
// i_stream_create_fd(fd, 1024)), or a ring HOST line, read the same way
// (director-connection.c, MAX_INBUF_SIZE 1024). So no tag a director accepted is
// longer than 1024 bytes; a longer one is refused and fails the whole HOST-LIST.
inline constexpr std::size_t kMaxTagBytes = 1024;
// The whole HOST-LIST reply, every line with its LF: 32 MiB, enough for kMaxHosts hosts
// at over 300 bytes a line (a real line is 30-80 bytes plus its tag). A longer reply
// fails the HOST-LIST, so a hostile director cannot make poolwatch hold more than this
// (plus the parsed entries) however it spreads its bytes over lines and tags.
inline constexpr std::size_t kMaxHostListBytes = 32 * 1024 * 1024;
inline constexpr std::uint32_t kMaxVhostCount = 1000;
// The warnings one HOST-LIST keeps word for word; the rest are only counted.
inline constexpr std::size_t kMaxHostListWarnings = 5;

// Checks the server's VERSION line (without LF) the way Dovecot's
// version_string_verify() does for "director-doveadm" major 1: any unsigned minor,
// nothing after it. nullopt when it is acceptable, otherwise why not.
std::optional<std::string> version_line_error(std::string_view line);

// Splits on TAB; an empty line gives one empty field.
std::vector<std::string_view> split_tabs(std::string_view line);

// Dovecot's tab-escaping (str_append_tabescaped / t_strsplit_tabescaped): byte \001 is
// the escape; \001 followed by 0, 1, t, r, n stands for NUL, \001, TAB, CR, LF.
std::string tab_escape(std::string_view raw);
std::string tab_unescape(std::string_view escaped);

struct HostLineParse {
  std::optional<HostEntry> host;
  std::string error;  // set when host is empty
};

// One HOST-LIST line: 6 fields (2.2.19+: ip, vhosts, users, tag, U|D, timestamp),
// 4 fields (2.2.16+: with tag) or 3 fields (ip, vhosts, users). A tag longer than
// kMaxTagBytes is refused.
HostLineParse parse_host_line(std::string_view line);

// Why a HOST-LIST address cannot be a backend, or nullopt when it can: the unspecified
// address (0.0.0.0, ::) connects to the local host, and a multicast or broadcast address
// (224.0.0.0/4, 255.255.255.255, ff00::/8; IPv4-mapped forms too) is no host at all.
std::optional<std::string_view> unusable_backend_address(const IpAddress& address);

// Collects the lines of one HOST-LIST reply up to the empty line that ends it; more
// than kMaxHosts lines or kMaxHostListBytes bytes fail it.
//
// A real director lists each address once, but a hostile or broken one may not: an
// address listed again is dropped (the first entry is kept) so that the pool guard counts
// distinct hosts and a host gets one command per scan. An address that cannot be a
// backend (unusable_backend_address) is dropped too. Both are reported in warnings().
class HostListParser {
 public:
  enum class State { need_more, done, failed };

  // Feeds one line (without LF). After done or failed further lines are refused.
  State feed_line(std::string_view line);

  State state() const { return state_; }
  const std::string& error() const { return error_; }
  // The snapshot once state() is done.
  PoolSnapshot take() { return std::move(snapshot_); }
  // What was dropped from the list and why, one sentence each (printable, bounded): at
  // most kMaxHostListWarnings, then one that says how many more.
  std::vector<std::string> warnings() const;

 private:
  void warn(std::string text);

  State state_ = State::need_more;
  std::string error_;
  PoolSnapshot snapshot_;
  std::set<IpAddress> seen_;
  std::vector<std::string> warnings_;
  std::size_t warnings_dropped_ = 0;
  std::size_t lines_ = 0;
  std::size_t bytes_ = 0;
};

// Classifies a single-line reply (HOST-UP, HOST-DOWN, HOST-FLUSH, ...). Any text that
// is not one of the fixed words is an error message from the director.
DirectorReplyStatus classify_reply(std::string_view line);

// The commands poolwatch sends. Each takes a host address, so the address-less forms
// (HOST-FLUSH without an argument flushes every host) cannot be produced.
enum class HostCommand { down, up, flush, reset_users };

std::string_view command_name(HostCommand c);  // "HOST-DOWN", ...
// "down", "up", "flush", "reset_users": the action label of the director-action metrics,
// which dashboards and alert rules select on; keep the values.
std::string_view to_string(HostCommand c);

// "HOST-DOWN\t127.0.0.1\n". The address is printed the way the director parses it:
// IPv6 without brackets.
std::string format_host_command(HostCommand c, const IpAddress& host);

inline constexpr std::string_view kHostListCommand = "HOST-LIST\n";

}  // namespace director
}  // namespace poolwatch
