// The value syntaxes shared by the YAML loader and the command line: durations,
// poolmon port specs, listen addresses, and the names of the config enums.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config_keys.hpp"
#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config_loader.hpp"

namespace poolwatch {

using config_detail::quote_value;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<unsigned long> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "ADDRESS:PORT" or "[ADDRESS]:PORT" cut at the port's colon; nullopt when there is no
// such colon, or (without brackets) more than one colon.
struct HostAndPort {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
};

std::optional<HostAndPort> split_host_and_port(std::string_view text) {
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    return HostAndPort{text.substr(1, close - 1), text.substr(close + 2), true};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
  return HostAndPort{text.substr(0, colon), text.substr(colon + 1), false};
}

std::uint16_t parse_port_number(std::string_view text, unsigned long min, std::string_view whole) {
  auto value = parse_unsigned(text);
  if (!value) throw ConfigError(fmt::format("invalid port number {}", quote_value(whole)));
  if (*value < min || *value > 65535)
    throw ConfigError(fmt::format("port must be between {} and 65535 (got {})", min, *value));
  return static_cast<std::uint16_t>(*value);
}

}  // namespace

Seconds parse_duration(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  struct Unit {
    std::string_view suffix;
    double seconds;
  };
  // "ms" before "m" and "s" so the longest suffix wins.
  constexpr Unit units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
  double scale = 1;
  for (const auto& unit : units) {
    if (text.size() > unit.suffix.size() && text.ends_with(unit.suffix)) {
      text.remove_suffix(unit.suffix.size());
      scale = unit.seconds;
      break;
    }
  }
  text = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value))
    throw ConfigError(
        fmt::format("invalid duration {} (use seconds like 10 or 0.5, or 500ms, 10s, 2m, 1h)",
                    quote_value(original)));
  if (value < 0)
    throw ConfigError(fmt::format("duration must not be negative (got {})", quote_value(original)));
  return Seconds(value * scale);
}

std::vector<std::string> split_hook_command(std::string_view command) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < command.size()) {
    const auto start = command.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const auto end = std::min(command.find_first_of(" \t", start), command.size());
    words.emplace_back(command.substr(start, end - start));
    at = end;
  }
  return words;
}

PortSpec parse_port_spec(std::string_view text, TlsMode tls) {
  const std::string_view whole = text;
  text = trim(text);
  PortSpec spec;
  spec.tls = tls;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    auto name = trim(text.substr(0, colon));
    auto protocol = protocol_from_string(name);
    if (!protocol)
      throw ConfigError(fmt::format("unknown protocol {} in port {} (use IMAP, POP3 or LMTP)",
                                    quote_value(name), quote_value(whole)));
    spec.protocol = *protocol;
    spec.port = parse_port_number(trim(text.substr(colon + 1)), 1, whole);
    return spec;
  }
  spec.port = parse_port_number(text, 1, whole);
  // poolmon infers the protocol from the well-known numbers; anything else is IMAP.
  switch (spec.port) {
    case 110:
    case 995:
      spec.protocol = Protocol::pop3;
      break;
    case 24:
      spec.protocol = Protocol::lmtp;
      break;
    default:
      spec.protocol = Protocol::imap;
      break;
  }
  return spec;
}

std::string to_string(const PortSpec& port) {
  std::string name(to_string(port.protocol));
  for (auto& c : name)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return fmt::format("{}:{} ({})", name, port.port, to_string(port.tls));
}

namespace config_detail {

// The forms the HTTP server binds (http_server.cpp): an IP literal or localhost, a port.
std::optional<std::string> listen_address_problem(std::string_view text) {
  const auto parts = split_host_and_port(text);
  if (!parts && text.starts_with('['))
    return fmt::format("invalid listen address {} (use [::1]:9167)", quote_value(text));
  if (!parts)
    return fmt::format(
        "invalid listen address {} (use ADDRESS:PORT, e.g. 127.0.0.1:9167 or [::1]:9167)",
        quote_value(text));
  const auto address = IpAddress::parse(parts->host);
  if ((!address || (parts->bracketed && !address->is_v6())) &&
      !(parts->host == "localhost" && !parts->bracketed))
    return fmt::format("invalid listen address {}: {} is not an IP address or localhost",
                       quote_value(text), quote_value(parts->host));
  auto number = parse_unsigned(parts->port);
  if (!number) return fmt::format("invalid port number {}", quote_value(text));
  if (*number > 65535) return fmt::format("port must be between 0 and 65535 (got {})", *number);
  return std::nullopt;
}

// Peers reach this listener at a fixed port, so neither a host name (nothing is resolved
// here) nor port 0 (a port nobody knows) makes sense.
std::optional<std::string> ring_listen_problem(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::string_view examples = "e.g. 192.0.2.10:9168 or [2001:db8::10]:9168";
  const auto parts = split_host_and_port(text);
  if (!parts) {
    const auto whole = text.starts_with('[') ? std::nullopt : IpAddress::parse(text);
    if (whole && whole->is_v6())
      return fmt::format("{}: an IPv6 address goes in brackets, followed by the port ({})",
                         quote_value(text), examples);
    if (whole) return fmt::format("{} has no port (use IP:PORT, {})", quote_value(text), examples);
    return fmt::format("invalid address {} (use IP:PORT, {})", quote_value(text), examples);
  }
  const auto address = IpAddress::parse(parts->host);
  if (!address)
    return fmt::format("{} is not an IP address (use IP:PORT, {}; host names are not accepted)",
                       quote_value(parts->host), examples);
  if (parts->bracketed && !address->is_v6())
    return fmt::format("invalid address {}: only an IPv6 address goes in brackets",
                       quote_value(text));
  const auto number = parse_unsigned(parts->port);
  if (!number) return fmt::format("invalid port number {}", quote_value(text));
  if (*number < 1 || *number > 65535)
    return fmt::format("port must be between 1 and 65535 (got {})", *number);
  return std::nullopt;
}

// The address alone: the kernel picks the port, and the backend decides the family.
std::optional<std::string> source_address_problem(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto address = IpAddress::parse(text);
  if (!address)
    return fmt::format(
        "must be an IP address of this host, e.g. 192.0.2.10 or 2001:db8::10, without a port, "
        "brackets or host name (got {})",
        quote_value(text));
  if (address->is_unspecified())
    return fmt::format("{} means any address: leave probe.source_address empty for that",
                       quote_value(text));
  return std::nullopt;
}

}  // namespace config_detail

std::string_view to_string(FlushMode mode) {
  switch (mode) {
    case FlushMode::reset_users:
      return "reset-users";
    case FlushMode::flush:
      return "flush";
    case FlushMode::none:
      return "none";
  }
  return "?";
}

std::string_view to_string(GuardCounts counts) {
  return counts == GuardCounts::all ? "all" : "own";
}

std::string_view to_string(AuthMechanism mech) {
  switch (mech) {
    case AuthMechanism::login:
      return "login";
    case AuthMechanism::plain:
      return "plain";
  }
  return "?";
}

std::string_view to_string(VerifyName verify) {
  switch (verify) {
    case VerifyName::none:
      return "none";
    case VerifyName::ip:
      return "ip";
    case VerifyName::hostname:
      return "hostname";
    case VerifyName::ptr:
      return "ptr";
  }
  return "?";
}

std::string_view to_string(LogTarget target) {
  switch (target) {
    case LogTarget::stderr_:
      return "stderr";
    case LogTarget::syslog:
      return "syslog";
    case LogTarget::file:
      return "file";
  }
  return "?";
}

}  // namespace poolwatch
