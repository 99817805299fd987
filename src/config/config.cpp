// Loading the YAML file and single overrides through the key table, and the rules that
// involve several keys. Every error names its origin, line and key path.

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "config_keys.hpp"
#include "poolwatch/config/config_loader.hpp"

namespace poolwatch {

using config_detail::find_key;
using config_detail::is_section;
using config_detail::key_table;
using config_detail::KeyDef;
using config_detail::quote_value;
using config_detail::ValueError;

namespace {

// An operator's config file, not data from a peer; the cap only guards against pointing
// -c at something huge by mistake.
constexpr std::size_t max_config_bytes = 1 << 20;

// Where a key was found: for messages of checks that run after the whole walk.
using KeyLines = std::map<std::string, int, std::less<>>;

std::string join_path(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : fmt::format("{}.{}", prefix, name);
}

// "did you mean 'retry_count'?" from the siblings, or the full path of a key with that
// exact name in another section ("interval" at the top level -> health.interval).
std::string suggestion(std::string_view section, std::string_view name) {
  if (auto close = config_detail::closest_name(name, config_detail::names_under(section)))
    return fmt::format(" (did you mean '{}'?)", *close);
  for (const auto& def : key_table()) {
    auto dot = def.path.rfind('.');
    std::string_view last = dot == std::string_view::npos ? def.path : def.path.substr(dot + 1);
    if (last == name) return fmt::format(" (did you mean '{}'?)", def.path);
  }
  return "";
}

class YamlLoader {
 public:
  explicit YamlLoader(std::string_view origin) : origin_(origin) {}

  Config load(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      // yaml-cpp's what() repeats the position in its own words; ours names the file.
      throw ConfigError(fmt::format("{}:{}: malformed YAML: {}", origin_, e.mark.line + 1, e.msg));
    }
    Config config;
    if (root.IsNull()) return config;  // empty file or only comments: all defaults
    if (!root.IsMap())
      // The text is not echoed: a poolmon credfile passed by mistake holds a password.
      fail(root, "",
           "the top level must be a mapping of keys (is this a poolwatch config file? "
           "poolmon's -c credential file is --credfile in poolwatch)");
    walk(root, "", config);
    validate_with_lines(config);
    return config;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& at, std::string_view path, std::string_view message) {
    fail_at(at.Mark().line + 1, path, message);
  }

  [[noreturn]] void fail_at(int line, std::string_view path, std::string_view message) {
    if (path.empty()) throw ConfigError(fmt::format("{}:{}: {}", origin_, line, message));
    throw ConfigError(fmt::format("{}:{}: {}: {}", origin_, line, path, message));
  }

  void walk(const YAML::Node& map, const std::string& section, Config& config) {
    struct Entry {
      const KeyDef* def;
      YAML::Node value;
      int line;
    };
    std::vector<Entry> entries;
    for (const auto& item : map) {
      if (!item.first.IsScalar()) fail(item.first, section, "keys must be plain names");
      const std::string& name = item.first.Scalar();
      const std::string path = join_path(section, name);
      const int line = item.first.Mark().line + 1;
      if (auto [it, inserted] = lines_.emplace(path, line); !inserted)
        fail_at(line, path, fmt::format("duplicate key (first set on line {})", it->second));
      if (const KeyDef* def = find_key(path)) {
        entries.push_back({def, item.second, line});
      } else if (is_section(path)) {
        if (item.second.IsNull()) continue;
        if (!item.second.IsMap())
          fail(item.second, path, "expected a mapping of keys (this is a section)");
        walk(item.second, path, config);
      } else {
        fail_at(line, path, "unknown key" + suggestion(section, name));
      }
    }
    // Two passes rather than a sort: assigning a YAML::Node overwrites the node it refers to.
    for (int priority : {0, 1}) {
      for (const auto& entry : entries) {
        if (entry.def->priority != priority) continue;
        try {
          entry.def->set(config, entry.value);
        } catch (const ValueError& e) {
          fail_at(e.line ? e.line : entry.line, std::string(entry.def->path) + e.subpath,
                  e.message);
        }
        if (auto problem = entry.def->check(config)) fail_at(entry.line, entry.def->path, *problem);
      }
    }
  }

  void validate_with_lines(const Config& config);

  std::string origin_;
  KeyLines lines_;
};

// actions.on_transition must name a program that can run, checked now rather than
// discovered at the first backend failure, when nobody is looking.
std::optional<std::string> hook_command_problem(std::string_view command) {
  const auto words = split_hook_command(command);
  if (words.empty()) return std::nullopt;
  const std::string& program = words.front();
  const auto quoted = quote_value(program);
  if (!program.starts_with('/'))
    return fmt::format(
        "{} is not an absolute path (the hook is an executable's absolute path, optionally "
        "followed by fixed arguments; no shell runs it)",
        quoted);
  struct stat st {};
  if (::stat(program.c_str(), &st) != 0) return fmt::format("{}: {}", quoted, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a regular file", quoted);
  if (::access(program.c_str(), X_OK) != 0)
    return fmt::format("{} is not executable: {}", quoted, std::strerror(errno));
  return std::nullopt;
}

// The rules between keys. `where` gives the "file:line: " prefix for a key path.
template <class Where>
void validate_impl(const Config& c, Where where) {
  auto fail = [&](std::string_view path, std::string_view message) {
    throw ConfigError(fmt::format("{}{}: {}", where(path), path, message));
  };
  for (const auto& def : key_table())
    if (auto problem = def.check(c)) fail(def.path, *problem);

  if (c.probe.ports.empty()) fail("probe.ports", "at least one port must be checked");
  for (std::size_t i = 0; i < c.probe.ports.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (c.probe.ports[i] == c.probe.ports[j])
        fail("probe.ports", fmt::format("{} is listed twice", to_string(c.probe.ports[i])));
  if (c.probe.max_line > c.probe.max_bytes)
    fail("probe.max_line", fmt::format("must not exceed probe.max_bytes ({} > {})",
                                       c.probe.max_line, c.probe.max_bytes));
  if (c.health.rapid_rounds > 0 && c.health.rapid_fails_needed > c.health.rapid_rounds)
    fail("health.rapid_fails_needed",
         fmt::format("must not exceed health.rapid_rounds ({} > {})", c.health.rapid_fails_needed,
                     c.health.rapid_rounds));
  if (c.director.reconnect_max < c.director.reconnect_initial)
    fail("director.reconnect_max",
         fmt::format("must not be less than director.reconnect_initial ({:g} s < {:g} s)",
                     c.director.reconnect_max.count(), c.director.reconnect_initial.count()));
  if (c.log.target == LogTarget::file && c.log.file.empty())
    fail("log.file", "must name the file, since log.target is file");
  if (!c.credentials.default_password_file.empty() && c.credentials.default_user.empty())
    fail("credentials.default_password_file", "is set but credentials.default_user is empty");
  // The other ring.* keys may stay set while peer_port is 0, so that one key (or
  // --set ring.peer_port=0) turns the ring off; they are then unused.
  if (c.ring.enabled() && c.ring.secret_file.empty())
    fail("ring.secret_file",
         "must name the ring's shared secret file, since ring.peer_port is set (see "
         "docs/ring.md)");
  if (auto problem = hook_command_problem(c.actions.on_transition))
    fail("actions.on_transition", *problem);
}

void YamlLoader::validate_with_lines(const Config& config) {
  validate_impl(config, [this](std::string_view path) -> std::string {
    auto it = lines_.find(path);
    if (it == lines_.end()) return fmt::format("{}: ", origin_);
    return fmt::format("{}:{}: ", origin_, it->second);
  });
}

}  // namespace

Config load_config_string(std::string_view yaml, std::string_view origin) {
  return YamlLoader(origin).load(yaml);
}

Config load_config_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rbe"),
                                                       &std::fclose);
  if (!file)
    throw ConfigError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  std::string text;
  char chunk[8192];
  while (true) {
    std::size_t n = std::fread(chunk, 1, sizeof chunk, file.get());
    text.append(chunk, n);
    if (text.size() > max_config_bytes)
      throw ConfigError(
          fmt::format("config file '{}' is larger than {} bytes", path, max_config_bytes));
    if (n < sizeof chunk) break;
  }
  if (std::ferror(file.get()))
    throw ConfigError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  return load_config_string(text, path);
}

void apply_setting(Config& config, std::string_view key_path, std::string_view value) {
  if (key_path.empty()) throw ConfigError("empty key path");
  const KeyDef* def = find_key(key_path);
  if (!def) {
    if (is_section(key_path))
      throw ConfigError(fmt::format("{}: is a section; set one of its keys, e.g. {}.{}", key_path,
                                    key_path, config_detail::names_under(key_path).front()));
    auto dot = key_path.rfind('.');
    std::string_view section = dot == std::string_view::npos ? "" : key_path.substr(0, dot);
    std::string_view name = dot == std::string_view::npos ? key_path : key_path.substr(dot + 1);
    std::string hint = is_section(section) ? suggestion(section, name) : "";
    if (hint.empty()) {
      std::vector<std::string> all;
      for (const auto& key : key_table()) all.emplace_back(key.path);
      if (auto close = config_detail::closest_name(key_path, all))
        hint = fmt::format(" (did you mean '{}'?)", *close);
    }
    throw ConfigError(fmt::format("{}: unknown key{}", key_path, hint));
  }
  YAML::Node node;
  if (def->verbatim) {
    node = YAML::Node(std::string(value));
  } else {
    try {
      node = YAML::Load(std::string(value));
    } catch (const YAML::Exception& e) {
      throw ConfigError(
          fmt::format("{}: cannot read {} as a value: {}", key_path, quote_value(value), e.msg));
    }
  }
  try {
    def->set(config, node);
  } catch (const ValueError& e) {
    throw ConfigError(fmt::format("{}{}: {}", key_path, e.subpath, e.message));
  }
  if (auto problem = def->check(config))
    throw ConfigError(fmt::format("{}: {}", key_path, *problem));
}

void validate(const Config& config) {
  validate_impl(config, [](std::string_view) { return std::string(); });
}

std::vector<std::string> config_key_paths() {
  std::vector<std::string> paths;
  for (const auto& def : key_table()) paths.emplace_back(def.path);
  return paths;
}

}  // namespace poolwatch
