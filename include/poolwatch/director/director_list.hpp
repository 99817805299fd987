#pragma once
// Sans-io parser of DIRECTOR-LIST, the director's view of its ring: which directors
// exist, which one it is itself, which are connected to it and whether the ring is
// synced. poolwatch's ring membership is built from it (ring/membership.hpp).
//
// Two formats exist (docs: director-admin-protocol.md §2.3, Dovecot's
// doveadm_cmd_director_list()):
//   2.2.19-2.2.33, one line per director: ip, port, type, last_failed, status; type is
//     self, left, right, l+r, removed or empty; status is the connection's
//     (handshaking, synced, syncing; empty without one) or, for self, the ring's
//     (handshaking, synced, "syncing - last sync N secs ago").
//   2.2.34+, one line per ring connection (12 fields: ip, port, left|right|in|out,
//     last_failed, status, ping_ms, bytes in/out/buffered/peak, last input/output), a
//     host line for a director without connections (ip, port, removed|self|"",
//     last_failed, then "ring synced" and last_sync_msecs for self, else one empty
//     field), and 8-field lines (status onwards) for incoming connections whose
//     director is not known yet.
// Every line is checked field by field; anything else fails the whole reply, so a
// garbled list never becomes a ring membership.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch::director {

inline constexpr std::string_view kDirectorListCommand = "DIRECTOR-LIST\n";

// A ring line is under 200 bytes even for IPv6 with 20-digit counters; a longer one is
// not a DIRECTOR-LIST line.
inline constexpr std::size_t kMaxDirectorListLine = 1024;
// Dovecot rings have a handful of directors, each with at most a few connection lines.
inline constexpr std::size_t kMaxDirectorListLines = 1024;
inline constexpr std::size_t kMaxRingDirectors = 256;

enum class DirectorListFormat {
  unknown,         // nothing seen that tells (only host lines of unconnected peers)
  per_director,    // 2.2.19-2.2.33
  per_connection,  // 2.2.34+
};
std::string_view to_string(DirectorListFormat format);

// What a line's type field says. left_and_right is the old format's "l+r" (a ring of
// two, where one peer is both neighbours); in and out are the new format's
// connections that are not (yet) a neighbour.
enum class RingLinkType { none, self, left, right, left_and_right, in, out, removed };
std::string_view to_string(RingLinkType type);

// A connection's status, or for the director itself the ring's. none: the line shows
// no connection (an unconnected peer) or says nothing.
enum class LinkStatus { none, handshaking, syncing, synced };
std::string_view to_string(LinkStatus status);

// One line of the reply.
struct DirectorListLine {
  std::optional<IpAddress> address;  // empty: an incoming connection not identified yet
  std::uint16_t port = 0;
  RingLinkType type = RingLinkType::none;
  // The director that answered. Only the 2.2.34+ format still tells it on a removed
  // director's line (6 fields), so a removed self line has type removed and self set.
  bool self = false;
  std::int64_t last_failed = 0;  // unix time; 0 = never
  LinkStatus status = LinkStatus::none;
  // Self only, when the ring is syncing: "last sync N secs ago".
  std::optional<std::int64_t> last_sync_secs_ago;
  DirectorListFormat format = DirectorListFormat::unknown;  // what this line proves
};

struct DirectorListLineParse {
  std::optional<DirectorListLine> line;
  std::string error;  // set when line is empty
};

DirectorListLineParse parse_director_list_line(std::string_view line);

// One director of the ring, its lines merged.
struct RingDirector {
  IpAddress address;
  std::uint16_t port = 0;
  bool self = false;
  bool removed = false;  // removed from the ring, waiting for purge
  bool left = false;     // our left neighbour
  bool right = false;    // our right neighbour
  // For self: the ring's state. For a peer: the best status of its left/right
  // connections (none when it is neither neighbour).
  LinkStatus status = LinkStatus::none;
  std::optional<std::int64_t> last_sync_secs_ago;  // self, while syncing
  std::int64_t last_failed = 0;
  // A neighbour whose connection is synced: the way Dovecot's own docs tell a live peer.
  bool connected() const { return !self && (left || right) && status == LinkStatus::synced; }
};

struct DirectorList {
  DirectorListFormat format = DirectorListFormat::unknown;
  std::vector<RingDirector> directors;  // ordered by address, then port
  std::size_t unidentified_connections = 0;
  // The director that answered; nullptr if the list has no self line.
  const RingDirector* self() const;
  const RingDirector* find(const IpAddress& address, std::uint16_t port) const;
};

// Collects the lines of one DIRECTOR-LIST reply up to the empty line that ends it.
class DirectorListParser {
 public:
  enum class State { need_more, done, failed };

  // Feeds one line (without LF). After done or failed further lines are refused.
  State feed_line(std::string_view line);

  State state() const { return state_; }
  const std::string& error() const { return error_; }
  // The merged list once state() is done.
  DirectorList take() { return std::move(list_); }

 private:
  State fail(std::string error);
  State merge(const DirectorListLine& line);

  State state_ = State::need_more;
  std::string error_;
  DirectorList list_;
  std::size_t lines_ = 0;
};

// The whole reply as text ("line\nline\n\n"), for tests and tools: parses up to the
// empty line; an error for a reply without one or with anything after it.
struct DirectorListParse {
  std::optional<DirectorList> list;
  std::string error;
};
DirectorListParse parse_director_list(std::string_view reply);

}  // namespace poolwatch::director
