#include "poolwatch/director/director_list.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "director_fields.hpp"
#include "poolwatch/director/director_protocol.hpp"

namespace poolwatch::director {
namespace {

namespace fields_detail = director_detail;

// The shapes of a DIRECTOR-LIST line, by field count.
constexpr std::size_t kHostLineFields = 5;      // both formats
constexpr std::size_t kSelfLineFields = 6;      // 2.2.34+
constexpr std::size_t kUnknownConnFields = 8;   // 2.2.34+: status onwards
constexpr std::size_t kConnectionFields = 12;   // 2.2.34+
constexpr std::size_t kConnectionCounters = 7;  // the fields after the status

DirectorListLineParse line_error(std::string error) {
  return {std::nullopt, std::move(error)};
}

std::optional<RingLinkType> host_line_type(std::string_view text) {
  if (text.empty()) return RingLinkType::none;
  if (text == "self") return RingLinkType::self;
  if (text == "removed") return RingLinkType::removed;
  if (text == "left") return RingLinkType::left;
  if (text == "right") return RingLinkType::right;
  if (text == "l+r") return RingLinkType::left_and_right;
  return std::nullopt;
}

std::optional<RingLinkType> connection_type(std::string_view text) {
  if (text == "left") return RingLinkType::left;
  if (text == "right") return RingLinkType::right;
  if (text == "in") return RingLinkType::in;
  if (text == "out") return RingLinkType::out;
  return std::nullopt;
}

// "handshaking", "synced" or "syncing - last sync N secs ago", after the 2.2.34+ "ring "
// prefix if there is one. Fills status and the seconds; false for anything else.
bool parse_ring_status(std::string_view text, DirectorListLine& out) {
  constexpr std::string_view kSyncingPrefix = "syncing - last sync ";
  constexpr std::string_view kSyncingSuffix = " secs ago";
  if (text == "handshaking") {
    out.status = LinkStatus::handshaking;
  } else if (text == "synced") {
    out.status = LinkStatus::synced;
  } else if (text.starts_with(kSyncingPrefix) && text.ends_with(kSyncingSuffix) &&
             text.size() > kSyncingPrefix.size() + kSyncingSuffix.size()) {
    const auto seconds = fields_detail::parse_signed(text.substr(
        kSyncingPrefix.size(), text.size() - kSyncingPrefix.size() - kSyncingSuffix.size()));
    if (!seconds) return false;
    out.status = LinkStatus::syncing;
    out.last_sync_secs_ago = *seconds;
  } else {
    return false;
  }
  return true;
}

// A connection's status: "synced", "syncing", or while handshaking (2.2.34+)
// "handshaking - N USERs received|sent"; the old format says just "handshaking".
std::optional<LinkStatus> connection_status(std::string_view text, bool with_user_count) {
  if (text == "synced") return LinkStatus::synced;
  if (text == "syncing") return LinkStatus::syncing;
  if (!with_user_count) {
    if (text == "handshaking") return LinkStatus::handshaking;
    return std::nullopt;
  }
  constexpr std::string_view kPrefix = "handshaking - ";
  if (!text.starts_with(kPrefix)) return std::nullopt;
  auto rest = text.substr(kPrefix.size());
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (!fields_detail::parse_unsigned<std::uint64_t>(rest.substr(0, space))) return std::nullopt;
  rest = rest.substr(space);
  if (rest != " USERs received" && rest != " USERs sent") return std::nullopt;
  return LinkStatus::handshaking;
}

// ip, port and last_failed: the first four fields of a host or connection line.
std::optional<std::string> parse_identity(const std::vector<std::string_view>& fields,
                                          DirectorListLine& out) {
  const auto address =
      fields[0].find('%') == std::string_view::npos ? IpAddress::parse(fields[0]) : std::nullopt;
  if (!address)
    return "DIRECTOR-LIST line has a bad IP address '" + fields_detail::peer_excerpt(fields[0]) +
           "'";
  out.address = *address;
  const auto port = fields_detail::parse_unsigned<std::uint32_t>(fields[1]);
  if (!port || *port == 0 || *port > 65535)
    return "DIRECTOR-LIST line has a bad port '" + fields_detail::peer_excerpt(fields[1]) + "'";
  out.port = static_cast<std::uint16_t>(*port);
  const auto last_failed = fields_detail::parse_signed(fields[3]);
  if (!last_failed)
    return "DIRECTOR-LIST line has a bad last-failed time '" +
           fields_detail::peer_excerpt(fields[3]) + "'";
  out.last_failed = *last_failed;
  return std::nullopt;
}

// ping_ms, the four byte counters and the two last input/output times.
std::optional<std::string> check_counters(const std::vector<std::string_view>& fields,
                                          std::size_t first) {
  for (std::size_t i = first; i < first + kConnectionCounters; ++i) {
    const bool is_time = i >= first + kConnectionCounters - 2;
    const bool good = is_time ? fields_detail::parse_signed(fields[i]).has_value()
                              : fields_detail::parse_unsigned<std::uint64_t>(fields[i]).has_value();
    if (!good)
      return fmt::format("DIRECTOR-LIST connection line has a bad number '{}' in field {}",
                         fields_detail::peer_excerpt(fields[i]), i + 1);
  }
  return std::nullopt;
}

DirectorListLineParse parse_host_line(const std::vector<std::string_view>& fields) {
  DirectorListLine out;
  if (auto error = parse_identity(fields, out)) return line_error(std::move(*error));
  const auto type = host_line_type(fields[2]);
  if (!type)
    return line_error("DIRECTOR-LIST line has an unknown type '" +
                      fields_detail::peer_excerpt(fields[2]) + "'");
  out.type = *type;
  out.self = *type == RingLinkType::self;
  const bool neighbour = *type == RingLinkType::left || *type == RingLinkType::right ||
                         *type == RingLinkType::left_and_right;
  // Only the old format names neighbours on a host line, or shows self's ring status or
  // a connection status there; the new format leaves a peer's fifth field empty.
  if (out.self) {
    if (!parse_ring_status(fields[4], out))
      return line_error("DIRECTOR-LIST self line has a bad ring status '" +
                        fields_detail::peer_excerpt(fields[4]) + "'");
  } else if (!fields[4].empty()) {
    const auto status = connection_status(fields[4], false);
    if (!status)
      return line_error("DIRECTOR-LIST line has a bad status '" +
                        fields_detail::peer_excerpt(fields[4]) + "'");
    out.status = *status;
  }
  const bool old_format = out.self || neighbour || out.status != LinkStatus::none;
  out.format = old_format ? DirectorListFormat::per_director : DirectorListFormat::unknown;
  return {std::move(out), {}};
}

DirectorListLineParse parse_self_line(const std::vector<std::string_view>& fields) {
  DirectorListLine out;
  if (auto error = parse_identity(fields, out)) return line_error(std::move(*error));
  if (fields[2] != "self" && fields[2] != "removed")
    return line_error("DIRECTOR-LIST 6-field line is not a self line: type '" +
                      fields_detail::peer_excerpt(fields[2]) + "'");
  out.type = fields[2] == "self" ? RingLinkType::self : RingLinkType::removed;
  out.self = true;
  constexpr std::string_view kRingPrefix = "ring ";
  if (!fields[4].starts_with(kRingPrefix) ||
      !parse_ring_status(fields[4].substr(kRingPrefix.size()), out))
    return line_error("DIRECTOR-LIST self line has a bad ring status '" +
                      fields_detail::peer_excerpt(fields[4]) + "'");
  if (!fields_detail::parse_unsigned<std::uint32_t>(fields[5]))
    return line_error("DIRECTOR-LIST self line has a bad last sync time '" +
                      fields_detail::peer_excerpt(fields[5]) + "'");
  out.format = DirectorListFormat::per_connection;
  return {std::move(out), {}};
}

DirectorListLineParse parse_connection_line(const std::vector<std::string_view>& fields) {
  DirectorListLine out;
  const bool identified = fields.size() == kConnectionFields;
  const std::size_t status_field = identified ? 4 : 0;
  if (identified) {
    if (auto error = parse_identity(fields, out)) return line_error(std::move(*error));
    const auto type = connection_type(fields[2]);
    if (!type)
      return line_error("DIRECTOR-LIST connection line has an unknown type '" +
                        fields_detail::peer_excerpt(fields[2]) + "'");
    out.type = *type;
  } else {
    out.type = RingLinkType::in;  // only incoming connections come unidentified
  }
  const auto status = connection_status(fields[status_field], true);
  if (!status)
    return line_error("DIRECTOR-LIST connection line has a bad status '" +
                      fields_detail::peer_excerpt(fields[status_field]) + "'");
  out.status = *status;
  if (auto error = check_counters(fields, status_field + 1)) return line_error(std::move(*error));
  out.format = DirectorListFormat::per_connection;
  return {std::move(out), {}};
}

LinkStatus better(LinkStatus a, LinkStatus b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

}  // namespace

std::string_view to_string(DirectorListFormat format) {
  switch (format) {
    case DirectorListFormat::unknown:
      return "unknown";
    case DirectorListFormat::per_director:
      return "2.2.19-2.2.33";
    case DirectorListFormat::per_connection:
      return "2.2.34+";
  }
  return "?";
}

std::string_view to_string(RingLinkType type) {
  switch (type) {
    case RingLinkType::none:
      return "";
    case RingLinkType::self:
      return "self";
    case RingLinkType::left:
      return "left";
    case RingLinkType::right:
      return "right";
    case RingLinkType::left_and_right:
      return "l+r";
    case RingLinkType::in:
      return "in";
    case RingLinkType::out:
      return "out";
    case RingLinkType::removed:
      return "removed";
  }
  return "?";
}

std::string_view to_string(LinkStatus status) {
  switch (status) {
    case LinkStatus::none:
      return "none";
    case LinkStatus::handshaking:
      return "handshaking";
    case LinkStatus::syncing:
      return "syncing";
    case LinkStatus::synced:
      return "synced";
  }
  return "?";
}

DirectorListLineParse parse_director_list_line(std::string_view line) {
  if (line.size() > kMaxDirectorListLine)
    return line_error(fmt::format("DIRECTOR-LIST line of {} bytes is longer than {}", line.size(),
                                  kMaxDirectorListLine));
  const auto fields = split_tabs(line);
  switch (fields.size()) {
    case kHostLineFields:
      return parse_host_line(fields);
    case kSelfLineFields:
      return parse_self_line(fields);
    case kUnknownConnFields:
    case kConnectionFields:
      return parse_connection_line(fields);
    default:
      return line_error(fmt::format("DIRECTOR-LIST line has {} fields (expected 5, 6, 8 or 12): {}",
                                    fields.size(), fields_detail::peer_excerpt(line)));
  }
}

const RingDirector* DirectorList::self() const {
  for (const auto& director : directors)
    if (director.self) return &director;
  return nullptr;
}

const RingDirector* DirectorList::find(const IpAddress& address, std::uint16_t port) const {
  for (const auto& director : directors)
    if (director.address == address && director.port == port) return &director;
  return nullptr;
}

DirectorListParser::State DirectorListParser::fail(std::string error) {
  error_ = std::move(error);
  return state_ = State::failed;
}

DirectorListParser::State DirectorListParser::merge(const DirectorListLine& line) {
  if (line.format != DirectorListFormat::unknown) {
    if (list_.format == DirectorListFormat::unknown) list_.format = line.format;
    if (list_.format != line.format)
      return fail("DIRECTOR-LIST mixes the 2.2.19-2.2.33 and 2.2.34+ line formats");
  }
  if (!line.address) {
    ++list_.unidentified_connections;
    return state_;
  }
  auto& directors = list_.directors;
  auto it = std::find_if(directors.begin(), directors.end(), [&](const RingDirector& d) {
    return d.address == *line.address && d.port == line.port;
  });
  if (it == directors.end()) {
    if (directors.size() >= kMaxRingDirectors)
      return fail(fmt::format("DIRECTOR-LIST has more than {} directors", kMaxRingDirectors));
    RingDirector director;
    director.address = *line.address;
    director.port = line.port;
    it = directors.insert(directors.end(), director);
  }
  if (line.self) {
    const auto* other_self = list_.self();
    if (other_self != nullptr && other_self != &*it)
      return fail("DIRECTOR-LIST has two self lines");
    it->self = true;
    it->status = line.status;
    it->last_sync_secs_ago = line.last_sync_secs_ago;
  }
  it->removed = it->removed || line.type == RingLinkType::removed;
  const bool left = line.type == RingLinkType::left || line.type == RingLinkType::left_and_right;
  const bool right = line.type == RingLinkType::right || line.type == RingLinkType::left_and_right;
  it->left = it->left || left;
  it->right = it->right || right;
  if ((left || right) && !it->self) it->status = better(it->status, line.status);
  it->last_failed = std::max(it->last_failed, line.last_failed);
  return state_;
}

DirectorListParser::State DirectorListParser::feed_line(std::string_view line) {
  if (state_ != State::need_more) {
    if (state_ == State::done) return fail("line after the end of DIRECTOR-LIST");
    return state_;
  }
  if (line.empty()) {
    std::sort(list_.directors.begin(), list_.directors.end(),
              [](const RingDirector& a, const RingDirector& b) {
                return std::tie(a.address, a.port) < std::tie(b.address, b.port);
              });
    return state_ = State::done;
  }
  if (++lines_ > kMaxDirectorListLines)
    return fail(fmt::format("DIRECTOR-LIST has more than {} lines", kMaxDirectorListLines));
  const auto parsed = parse_director_list_line(line);
  if (!parsed.line) return fail(parsed.error);
  return merge(*parsed.line);
}

DirectorListParse parse_director_list(std::string_view reply) {
  DirectorListParser parser;
  std::size_t start = 0;
  while (start < reply.size() && parser.state() == DirectorListParser::State::need_more) {
    const auto end = reply.find('\n', start);
    if (end == std::string_view::npos) break;
    parser.feed_line(reply.substr(start, end - start));
    start = end + 1;
  }
  if (parser.state() == DirectorListParser::State::failed) return {std::nullopt, parser.error()};
  if (parser.state() == DirectorListParser::State::need_more)
    return {std::nullopt, "DIRECTOR-LIST reply ends without its empty line"};
  if (start != reply.size()) return {std::nullopt, "text after the end of DIRECTOR-LIST"};
  return {parser.take(), {}};
}

}  // namespace poolwatch::director
