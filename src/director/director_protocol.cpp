#include "poolwatch/director/director_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "director_fields.hpp"

namespace poolwatch {

std::string_view to_string(DirectorReplyStatus s) {
  switch (s) {
    case DirectorReplyStatus::ok:
      return "ok";
    case DirectorReplyStatus::not_found:
      return "not_found";
    case DirectorReplyStatus::try_again:
      return "try_again";
    case DirectorReplyStatus::ring_sync_timeout:
      return "ring_sync_timeout";
    case DirectorReplyStatus::error:
      return "error";
    case DirectorReplyStatus::no_reply:
      return "no_reply";
  }
  return "unknown";
}

namespace director {
namespace {

constexpr char kEscape = '\001';

using director_detail::parse_signed;
using director_detail::parse_unsigned;
using director_detail::peer_excerpt;

HostLineParse fail(std::string error) {
  return {std::nullopt, std::move(error)};
}

}  // namespace

std::optional<std::string> version_line_error(std::string_view line) {
  const auto fields = split_tabs(line);
  if (fields[0] != "VERSION") return "handshake is not a VERSION line: " + peer_excerpt(line);
  if (fields.size() < 4) return "VERSION line has too few fields: " + peer_excerpt(line);
  if (fields.size() > 4) return "VERSION line has extra fields: " + peer_excerpt(line);
  if (fields[1] != "director-doveadm")
    return "VERSION line names service '" + peer_excerpt(fields[1]) + "', not director-doveadm";
  const auto major = parse_unsigned<unsigned>(fields[2]);
  if (!major || *major != 1)
    return "incompatible director-doveadm major version '" + peer_excerpt(fields[2]) + "'";
  if (!parse_unsigned<unsigned>(fields[3]))
    return "VERSION line minor version is not a number: '" + peer_excerpt(fields[3]) + "'";
  return std::nullopt;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const auto tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::string tab_escape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case '\0':
        out += {kEscape, '0'};
        break;
      case kEscape:
        out += {kEscape, '1'};
        break;
      case '\t':
        out += {kEscape, 't'};
        break;
      case '\r':
        out += {kEscape, 'r'};
        break;
      case '\n':
        out += {kEscape, 'n'};
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string tab_unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != kEscape) {
      out += escaped[i];
      continue;
    }
    if (++i == escaped.size()) break;  // a lone trailing escape is dropped, as Dovecot does
    switch (escaped[i]) {
      case '0':
        out += '\0';
        break;
      case '1':
        out += kEscape;
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        out += escaped[i];
    }
  }
  return out;
}

HostLineParse parse_host_line(std::string_view line) {
  const auto fields = split_tabs(line);
  if (fields.size() != 3 && fields.size() != 4 && fields.size() != 6) {
    return fail(fmt::format("HOST-LIST line has {} fields (expected 3, 4 or 6): {}", fields.size(),
                            peer_excerpt(line)));
  }
  HostEntry host;
  // The director prints addresses with inet_ntop: never a scope id or brackets.
  const auto address =
      fields[0].find('%') == std::string_view::npos ? IpAddress::parse(fields[0]) : std::nullopt;
  if (!address)
    return fail("HOST-LIST line has a bad IP address '" + peer_excerpt(fields[0]) + "'");
  host.address = *address;

  const auto vhosts = parse_unsigned<std::uint32_t>(fields[1]);
  if (!vhosts)
    return fail("HOST-LIST line has a bad vhost count '" + peer_excerpt(fields[1]) + "'");
  if (*vhosts > kMaxVhostCount) {
    return fail(fmt::format("HOST-LIST line has vhost count {} above the maximum {}", *vhosts,
                            kMaxVhostCount));
  }
  host.vhost_count = *vhosts;
  const auto users = parse_unsigned<std::uint32_t>(fields[2]);
  if (!users) return fail("HOST-LIST line has a bad user count '" + peer_excerpt(fields[2]) + "'");
  host.user_count = *users;

  if (fields.size() >= 4) {
    if (fields[3].size() > kMaxTagBytes) {
      return fail(fmt::format("HOST-LIST line has a tag of {} bytes, above the maximum {}: {}",
                              fields[3].size(), kMaxTagBytes, peer_excerpt(fields[3])));
    }
    host.tag = tab_unescape(fields[3]);
  }
  if (fields.size() == 6) {
    if (fields[4] == "U")
      host.down = false;
    else if (fields[4] == "D")
      host.down = true;
    else
      return fail("HOST-LIST line has a bad up/down flag '" + peer_excerpt(fields[4]) + "'");
    const auto stamp = parse_signed(fields[5]);
    if (!stamp) return fail("HOST-LIST line has a bad timestamp '" + peer_excerpt(fields[5]) + "'");
    host.last_updown_change = *stamp;
  }
  return {std::move(host), {}};
}

std::optional<std::string_view> unusable_backend_address(const IpAddress& address) {
  if (address.is_unspecified()) return "the unspecified address";
  IpAddress::V4Bytes v4{};
  bool has_v4 = address.is_v4();
  if (has_v4) v4 = address.v4_bytes();
  const auto& v6 = address.v6_bytes();
  if (address.is_v6()) {
    if (v6[0] == 0xff) return "a multicast address";
    // ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d.
    const bool mapped = std::all_of(v6.begin(), v6.begin() + 10, [](auto b) { return b == 0; }) &&
                        v6[10] == 0xff && v6[11] == 0xff;
    if (mapped) {
      has_v4 = true;
      std::copy(v6.begin() + 12, v6.end(), v4.begin());
    }
  }
  if (!has_v4) return std::nullopt;
  if (std::all_of(v4.begin(), v4.end(), [](auto b) { return b == 0; }))
    return "the unspecified address";
  if ((v4[0] & 0xf0) == 0xe0) return "a multicast address";
  if (std::all_of(v4.begin(), v4.end(), [](auto b) { return b == 0xff; }))
    return "the broadcast address";
  return std::nullopt;
}

void HostListParser::warn(std::string text) {
  if (warnings_.size() < kMaxHostListWarnings)
    warnings_.push_back(std::move(text));
  else
    ++warnings_dropped_;
}

std::vector<std::string> HostListParser::warnings() const {
  auto all = warnings_;
  if (warnings_dropped_ > 0)
    all.push_back(fmt::format("and {} more such HOST-LIST lines", warnings_dropped_));
  return all;
}

HostListParser::State HostListParser::feed_line(std::string_view line) {
  if (state_ != State::need_more) {
    if (state_ == State::done) {
      state_ = State::failed;
      error_ = "line after the end of HOST-LIST";
    }
    return state_;
  }
  bytes_ += line.size() + 1;
  if (bytes_ > kMaxHostListBytes) {
    error_ = fmt::format("HOST-LIST is longer than {} bytes", kMaxHostListBytes);
    return state_ = State::failed;
  }
  if (line.empty()) return state_ = State::done;
  if (++lines_ > kMaxHosts) {
    error_ = fmt::format("HOST-LIST has more than {} hosts", kMaxHosts);
    return state_ = State::failed;
  }
  auto parsed = parse_host_line(line);
  if (!parsed.host) {
    error_ = std::move(parsed.error);
    return state_ = State::failed;
  }
  const auto& host = *parsed.host;
  const auto address = host.address.to_string();
  if (const auto unusable = unusable_backend_address(host.address)) {
    warn(fmt::format("HOST-LIST lists {}, {}: ignored, it is never probed or acted on", address,
                     *unusable));
    return state_;
  }
  if (!seen_.insert(host.address).second) {
    warn(fmt::format(
        "HOST-LIST lists {} more than once: the first entry is kept, this one "
        "(vhosts {}, {}) ignored",
        address, host.vhost_count, host.down ? (*host.down ? "down" : "up") : "no up/down flag"));
    return state_;
  }
  snapshot_.hosts.push_back(std::move(*parsed.host));
  return state_;
}

DirectorReplyStatus classify_reply(std::string_view line) {
  if (line == "OK") return DirectorReplyStatus::ok;
  if (line == "NOTFOUND") return DirectorReplyStatus::not_found;
  if (line == "TRYAGAIN") return DirectorReplyStatus::try_again;
  if (line == "Ring sync timed out") return DirectorReplyStatus::ring_sync_timeout;
  return DirectorReplyStatus::error;
}

std::string_view command_name(HostCommand c) {
  switch (c) {
    case HostCommand::down:
      return "HOST-DOWN";
    case HostCommand::up:
      return "HOST-UP";
    case HostCommand::flush:
      return "HOST-FLUSH";
    case HostCommand::reset_users:
      return "HOST-RESET-USERS";
  }
  return "HOST-UNKNOWN";
}

std::string_view to_string(HostCommand c) {
  switch (c) {
    case HostCommand::down:
      return "down";
    case HostCommand::up:
      return "up";
    case HostCommand::flush:
      return "flush";
    case HostCommand::reset_users:
      return "reset_users";
  }
  return "unknown";
}

std::string format_host_command(HostCommand c, const IpAddress& host) {
  // The director parses the argument with inet_pton, which knows no scope ids.
  return fmt::format("{}\t{}\n", command_name(c), host.without_scope().to_string());
}

}  // namespace director
}  // namespace poolwatch
