// The passive.* keys (docs/passive.md): their own file so the main table stays short.

#include <fmt/format.h>

#include "config_keys.hpp"
#include "poolwatch/common/ip_network.hpp"

namespace poolwatch::config_detail {

namespace {

// A window shorter than the director's own connect retries (3 s) could never hold the
// faults of one outage; one longer than an hour remembers faults long forgotten.
constexpr Seconds kMinWindow{1};
constexpr Seconds kMaxWindow{3600};

std::vector<std::string> to_networks(const YAML::Node& node) {
  std::vector<std::string> networks;
  if (node.IsNull()) return networks;
  if (node.IsScalar()) {
    networks.push_back(node.Scalar());
    return networks;
  }
  if (!node.IsSequence())
    throw ValueError{fmt::format("expected a list of networks, got {}", describe(node))};
  if (node.size() > 256) throw ValueError{"at most 256 networks"};
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    if (!item.IsScalar())
      throw ValueError{fmt::format("expected a network like 127.0.0.0/8, got {}", describe(item)),
                       item.Mark().line + 1, fmt::format("[{}]", i)};
    networks.push_back(item.Scalar());
  }
  return networks;
}

std::optional<std::string> check_networks(const std::vector<std::string>& networks) {
  for (const auto& text : networks)
    if (!IpNetwork::parse(text))
      return fmt::format(
          "invalid network {} (use ADDRESS/PREFIX with no host bits set, e.g. 127.0.0.0/8, "
          "or one address)",
          quote_value(text));
  return std::nullopt;
}

std::optional<std::string> check_window(Seconds window) {
  if (window < kMinWindow || window > kMaxWindow)
    return fmt::format("must be at least {:g} s and at most {:g} s (got {:g} s)",
                       kMinWindow.count(), kMaxWindow.count(), window.count());
  return std::nullopt;
}

template <class Check>
KeyDef::Checker checker(Check check) {
  return [check](const Config& c) -> std::optional<std::string> { return check(c.passive); };
}

std::optional<std::string> in_range(long long value, long long min, long long max,
                                    std::string_view unit = "") {
  if (value < min || value > max)
    return fmt::format("must be between {} and {}{} (got {})", min, max, unit, value);
  return std::nullopt;
}

// Refused when read, as the main table's integers are: a clamped value would be
// reported as something the operator never wrote.
int checked_int(const YAML::Node& node, int min, int max) {
  const long long value = to_integer(node);
  if (auto problem = in_range(value, min, max)) throw ValueError{*problem};
  return static_cast<int>(value);
}

}  // namespace

void add_passive_keys(std::vector<KeyDef>& t) {
  t.emplace_back(
      "passive.enabled", false,
      [](Config& c, const YAML::Node& n) { c.passive.enabled = to_bool(n); },
      checker([](const PassiveConfig&) -> std::optional<std::string> { return {}; }));
  t.emplace_back(
      "passive.listen", true,
      [](Config& c, const YAML::Node& n) { c.passive.listen = scalar(n, "a listen address"); },
      checker([](const PassiveConfig& p) { return listen_address_problem(p.listen); }));
  t.emplace_back(
      "passive.allow", false,
      [](Config& c, const YAML::Node& n) { c.passive.allow = to_networks(n); },
      checker([](const PassiveConfig& p) { return check_networks(p.allow); }));
  t.emplace_back(
      "passive.max_body", false,
      [](Config& c, const YAML::Node& n) { c.passive.max_body = to_size(n); },
      checker([](const PassiveConfig& p) {
        return in_range(static_cast<long long>(p.max_body), 1024, 1 << 20, " bytes");
      }));
  t.emplace_back(
      "passive.max_events_per_second", false,
      [](Config& c, const YAML::Node& n) {
        c.passive.max_events_per_second = checked_int(n, 1, 1'000'000);
      },
      checker(
          [](const PassiveConfig& p) { return in_range(p.max_events_per_second, 1, 1'000'000); }));
  t.emplace_back(
      "passive.failures", false,
      [](Config& c, const YAML::Node& n) { c.passive.failures = checked_int(n, 1, 100); },
      checker([](const PassiveConfig& p) { return in_range(p.failures, 1, 100); }));
  t.emplace_back(
      "passive.window", false,
      [](Config& c, const YAML::Node& n) { c.passive.window = to_duration(n); },
      checker([](const PassiveConfig& p) { return check_window(p.window); }));
  t.emplace_back(
      "passive.may_down", false,
      [](Config& c, const YAML::Node& n) { c.passive.may_down = to_bool(n); },
      checker([](const PassiveConfig&) -> std::optional<std::string> { return {}; }));
}

}  // namespace poolwatch::config_detail
