#pragma once
// Internal to the config loader: the one table of every config key with its parser and
// range check. The YAML walk, apply_setting, validate and the documentation test all
// read this table, so a key exists in all of them or in none.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "poolwatch/config/config.hpp"

namespace poolwatch::config_detail {

// A bad value for one key, without its location: the caller knows the key path, the
// origin and (for the whole value) the line. `line` (1-based) and `subpath` ("[2]")
// point inside the value when an element of a list is wrong.
struct ValueError {
  explicit ValueError(std::string message_, int line_ = 0, std::string subpath_ = {})
      : message(std::move(message_)), line(line_), subpath(std::move(subpath_)) {}
  std::string message;
  int line = 0;
  std::string subpath;
};

struct KeyDef {
  using Setter = std::function<void(Config&, const YAML::Node&)>;
  using Checker = std::function<std::optional<std::string>(const Config&)>;
  KeyDef(std::string_view path_, bool verbatim_, Setter set_, Checker check_, int priority_ = 1)
      : path(path_),
        verbatim(verbatim_),
        set(std::move(set_)),
        check(std::move(check_)),
        priority(priority_) {}

  std::string_view path;
  // Command-line text is taken verbatim (string keys) instead of being read as YAML.
  bool verbatim = false;
  // Reads the node into the config; throws ValueError on a wrong type or syntax.
  std::function<void(Config&, const YAML::Node&)> set;
  // The key's own range rule; a message when violated.
  std::function<std::optional<std::string>(const Config&)> check;
  // Lower applies first within one mapping ("ports" before "ssl_ports", which adds).
  int priority = 1;
};

const std::vector<KeyDef>& key_table();
// The passive.* entries (config_keys_passive.cpp), in the order docs/configuration.md has.
void add_passive_keys(std::vector<KeyDef>& table);
const KeyDef* find_key(std::string_view path);
// True for "probe", "probe.tls", ...: a proper prefix of some key path.
bool is_section(std::string_view path);
// The names directly under a section ("" is the top level): keys and sub-sections.
std::vector<std::string> names_under(std::string_view section);

// Node readers: each throws ValueError naming what was expected and what was found.
std::string describe(const YAML::Node& node);  // "'text'", "a list", "a mapping", "nothing"
std::string scalar(const YAML::Node& node, std::string_view expected);
bool to_bool(const YAML::Node& node);  // true/false, yes/no, on/off
long long to_integer(const YAML::Node& node);
double to_number(const YAML::Node& node);
Seconds to_duration(const YAML::Node& node);
std::size_t to_size(const YAML::Node& node);  // 8192, 64k, 1M
// A list of port specs or mappings, or one comma-separated string.
std::vector<PortSpec> to_ports(const YAML::Node& node, TlsMode default_tls);

// A message when `text` is not an HTTP listen address the server can bind.
std::optional<std::string> listen_address_problem(std::string_view text);
// ring.listen: a message unless `text` is empty or "IP:PORT" / "[IPv6]:PORT" with an IP
// literal (no host name: the config library resolves nothing) and a port 1..65535.
std::optional<std::string> ring_listen_problem(std::string_view text);
// probe.source_address: a message unless `text` is empty or an IP literal, without a port.
std::optional<std::string> source_address_problem(std::string_view text);

// 'text' for messages, truncated so a pasted blob cannot flood them.
std::string quote_value(std::string_view text);
// The edit distance of a and b (a swap of neighbours is one edit), or `limit` when it is
// no less: the one measure of "a typo of" for every "did you mean" of the config files.
std::size_t typo_distance(std::string_view a, std::string_view b, std::size_t limit);
// Longer unknown names get no hint.
constexpr std::size_t kMaxTypoName = 64;
// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

}  // namespace poolwatch::config_detail
