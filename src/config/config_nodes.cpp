// Reading typed values out of YAML nodes, with messages in the config's own words.
// Both the file loader and command-line overrides come through here.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config_keys.hpp"
#include "poolwatch/config/config_loader.hpp"

namespace poolwatch::config_detail {

namespace {

PortSpec port_from_map(const YAML::Node& node, TlsMode default_tls, const std::string& subpath) {
  PortSpec spec;
  spec.tls = default_tls;
  bool have_port = false;
  auto fail = [&](const YAML::Node& at, std::string message) {
    return ValueError{std::move(message), at.Mark().line + 1, subpath};
  };
  for (const auto& item : node) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    const YAML::Node& value = item.second;
    if (key == "protocol") {
      auto protocol = value.IsScalar() ? protocol_from_string(value.Scalar()) : std::nullopt;
      if (!protocol)
        throw fail(value,
                   fmt::format("protocol: must be imap, pop3 or lmtp (got {})", describe(value)));
      spec.protocol = *protocol;
    } else if (key == "port") {
      long long port = 0;
      try {
        port = to_integer(value);
      } catch (const ValueError& e) {
        throw fail(value, "port: " + e.message);
      }
      if (port < 1 || port > 65535)
        throw fail(value, fmt::format("port: must be between 1 and 65535 (got {})", port));
      spec.port = static_cast<std::uint16_t>(port);
      have_port = true;
    } else if (key == "tls") {
      const std::string mode = value.IsScalar() ? value.Scalar() : "";
      if (mode == "plain")
        spec.tls = TlsMode::plain;
      else if (mode == "implicit")
        spec.tls = TlsMode::implicit;
      else if (mode == "starttls")
        spec.tls = TlsMode::starttls;
      else
        throw fail(value, fmt::format("tls: must be plain, implicit or starttls (got {})",
                                      describe(value)));
    } else {
      auto hint = closest_name(key, {"protocol", "port", "tls"});
      throw fail(item.first, fmt::format("unknown key {}{}", quote_value(key),
                                         hint ? fmt::format(" (did you mean '{}'?)", *hint) : ""));
    }
  }
  if (!have_port) throw fail(node, "missing 'port'");
  return spec;
}

}  // namespace

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote_value(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

std::string scalar(const YAML::Node& node, std::string_view expected) {
  if (!node.IsScalar())
    throw ValueError{fmt::format("expected {}, got {}", expected, describe(node))};
  return node.Scalar();
}

bool to_bool(const YAML::Node& node) {
  std::string text = scalar(node, "true or false");
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  throw ValueError{fmt::format("expected true or false, got {}", quote_value(node.Scalar()))};
}

long long to_integer(const YAML::Node& node) {
  const std::string text = scalar(node, "a whole number");
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw ValueError{fmt::format("expected a whole number, got {}", quote_value(text))};
  return value;
}

double to_number(const YAML::Node& node) {
  const std::string text = scalar(node, "a number");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value))
    throw ValueError{fmt::format("expected a number, got {}", quote_value(text))};
  return value;
}

Seconds to_duration(const YAML::Node& node) {
  const std::string text = scalar(node, "a duration (10, 0.5, 500ms, 10s, 2m)");
  try {
    return parse_duration(text);
  } catch (const ConfigError& e) {
    throw ValueError{e.what()};
  }
}

std::size_t to_size(const YAML::Node& node) {
  std::string_view text = node.IsScalar() ? std::string_view(node.Scalar()) : "";
  const std::string original(text);
  std::size_t scale = 1;
  for (auto [suffix, factor] : {std::pair<std::string_view, std::size_t>{"KiB", 1024},
                                {"k", 1024},
                                {"K", 1024},
                                {"MiB", 1024 * 1024},
                                {"M", 1024 * 1024}}) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      scale = factor;
      break;
    }
  }
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!node.IsScalar() || text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      value > (1ULL << 40))
    throw ValueError{fmt::format("expected a byte count (8192, 64k, 1M), got {}",
                                 node.IsScalar() ? quote_value(original) : describe(node))};
  return static_cast<std::size_t>(value) * scale;
}

// A list of ports: poolmon strings, {protocol, port, tls} mappings, or one string with
// commas (the handy form on a command line).
std::vector<PortSpec> to_ports(const YAML::Node& node, TlsMode default_tls) {
  std::vector<PortSpec> ports;
  auto add_text = [&](std::string_view text, int line, const std::string& subpath) {
    try {
      ports.push_back(parse_port_spec(text, default_tls));
    } catch (const ConfigError& e) {
      throw ValueError{e.what(), line, subpath};
    }
  };
  auto add_scalar = [&](const YAML::Node& item, const std::string& subpath) {
    std::string_view text = item.Scalar();
    for (std::size_t comma; (comma = text.find(',')) != std::string_view::npos;) {
      add_text(text.substr(0, comma), item.Mark().line + 1, subpath);
      text.remove_prefix(comma + 1);
    }
    add_text(text, item.Mark().line + 1, subpath);
  };
  if (node.IsNull()) return ports;
  if (node.IsScalar()) {
    add_scalar(node, "");
    return ports;
  }
  if (!node.IsSequence())
    throw ValueError{fmt::format("expected a list of ports, got {}", describe(node))};
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string subpath = fmt::format("[{}]", i);
    if (item.IsScalar())
      add_scalar(item, subpath);
    else if (item.IsMap())
      ports.push_back(port_from_map(item, default_tls, subpath));
    else
      throw ValueError{
          fmt::format("expected a port like IMAP:143 or a mapping, got {}", describe(item)),
          item.Mark().line + 1, subpath};
  }
  return ports;
}

std::string quote_value(std::string_view text) {
  constexpr std::size_t max_echo = 60;
  if (text.size() > max_echo) return fmt::format("'{}...'", text.substr(0, max_echo));
  return fmt::format("'{}'", text);
}

std::size_t typo_distance(std::string_view a, std::string_view b, std::size_t limit) {
  // Neither string can be nearer than their difference in length: the usual case for a
  // long unknown key, which then costs nothing.
  const std::size_t apart = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (apart >= limit) return limit;
  // Optimal string alignment: swapping two neighbours counts as one typo, so
  // "retry_cuont" is one edit from "retry_count". Only the band of cells within `limit`
  // of the diagonal can stay under it; each cell is capped at `limit`, and three rows are
  // kept, each with a capped cell just outside its band for the next row to read.
  std::vector<std::size_t> before(b.size() + 2, limit), above(b.size() + 2, limit),
      row(b.size() + 2, limit);
  for (std::size_t j = 0; j <= b.size(); ++j) above[j] = std::min(j, limit);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    const std::size_t lo = i > limit ? i - limit : 1;
    const std::size_t hi = std::min(b.size(), i + limit);
    row[lo - 1] = std::min(lo == 1 ? i : limit, limit);
    for (std::size_t j = lo; j <= hi; ++j) {
      std::size_t d =
          std::min({above[j] + 1, row[j - 1] + 1, above[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d = std::min(d, before[j - 2] + 1);
      row[j] = std::min(d, limit);
    }
    row[hi + 1] = limit;
    std::swap(before, above);
    std::swap(above, row);
  }
  return above[b.size()];
}

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  // A name this long is no typo of a key, and would make each distance costly.
  if (name.size() > kMaxTypoName) return std::nullopt;
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(1, name.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = typo_distance(name, candidate, best_distance);
    if (d < best_distance && d < name.size()) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace poolwatch::config_detail
