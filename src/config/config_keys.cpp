// The table of every config key: how its YAML value is read and which range it must
// be in. One entry per key keeps the loader, the command line and the docs in step.

#include "config_keys.hpp"

#include <fmt/format.h>
#include <sys/un.h>

#include <algorithm>
#include <type_traits>

#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/credentials.hpp"
#include "poolwatch/config/log_names.hpp"

namespace poolwatch::config_detail {

namespace {

std::string format_seconds(Seconds s) {
  return fmt::format("{:g} s", s.count());
}

// The accessor idiom: one generic lambda reaches the field of a const or mutable Config.
#define FIELD(member)    \
  [](auto& c) -> auto& { \
    return c.member;     \
  }

template <class Get>
KeyDef string_key(std::string_view path, Get get, bool required = false) {
  return {path, true,
          [get](Config& c, const YAML::Node& n) {
            get(c) = n.IsNull() ? std::string() : scalar(n, "a string");
          },
          [get, required](const Config& c) -> std::optional<std::string> {
            if (required && get(c).empty()) return "must not be empty";
            return std::nullopt;
          }};
}

// A string restricted by a predicate, e.g. a log level or a listen address.
template <class Get, class Check>
KeyDef checked_string_key(std::string_view path, Get get, Check check) {
  KeyDef def = string_key(path, get);
  def.check = [get, check](const Config& c) { return check(get(c)); };
  return def;
}

template <class Get>
KeyDef bool_key(std::string_view path, Get get) {
  return {path, false, [get](Config& c, const YAML::Node& n) { get(c) = to_bool(n); },
          [](const Config&) -> std::optional<std::string> { return std::nullopt; }};
}

template <class Get>
KeyDef int_key(std::string_view path, Get get, long long min, long long max) {
  using Field = std::remove_cvref_t<decltype(get(std::declval<Config&>()))>;
  return {path, false,
          [get, min, max](Config& c, const YAML::Node& n) {
            long long value = to_integer(n);
            if (value < min || value > max)
              throw ValueError{fmt::format("must be between {} and {} (got {})", min, max, value)};
            get(c) = static_cast<Field>(value);
          },
          [get, min, max](const Config& c) -> std::optional<std::string> {
            auto value = static_cast<long long>(get(c));
            if (value < min || value > max)
              return fmt::format("must be between {} and {} (got {})", min, max, value);
            return std::nullopt;
          }};
}

template <class Get>
KeyDef size_key(std::string_view path, Get get, std::size_t min, std::size_t max) {
  return {path, false, [get](Config& c, const YAML::Node& n) { get(c) = to_size(n); },
          [get, min, max](const Config& c) -> std::optional<std::string> {
            if (get(c) < min || get(c) > max)
              return fmt::format("must be between {} and {} bytes (got {})", min, max, get(c));
            return std::nullopt;
          }};
}

// A percentage or similar: min < value (or min <= value) and value <= max.
template <class Get>
KeyDef number_key(std::string_view path, Get get, double min, bool min_allowed, double max) {
  return {path, false, [get](Config& c, const YAML::Node& n) { get(c) = to_number(n); },
          [get, min, min_allowed, max](const Config& c) -> std::optional<std::string> {
            double value = get(c);
            if (value < min || (!min_allowed && value == min) || value > max)
              return fmt::format("must be {} {:g} and at most {:g} (got {:g})",
                                 min_allowed ? "at least" : "greater than", min, max, value);
            return std::nullopt;
          }};
}

// A port, or 0 (also empty) for the feature being off: ring.peer_port.
template <class Get>
KeyDef port_or_off_key(std::string_view path, Get get, std::string_view zero_means) {
  auto problem = [zero_means](long long value) -> std::optional<std::string> {
    if (value < 0 || value > 65535)
      return fmt::format("must be between 1 and 65535, or 0 for {} (got {})", zero_means, value);
    return std::nullopt;
  };
  return {path, false,
          [get, problem](Config& c, const YAML::Node& n) {
            const bool empty = n.IsNull() || (n.IsScalar() && n.Scalar().empty());
            const long long value = empty ? 0 : to_integer(n);
            if (auto message = problem(value)) throw ValueError{*message};
            get(c) = static_cast<std::uint16_t>(value);
          },
          [get, problem](const Config& c) { return problem(get(c)); }};
}

// A count that may be left empty for a computed default: ring.quorum.
template <class Get>
KeyDef optional_count_key(std::string_view path, Get get, long long min, long long max,
                          std::string_view empty_means) {
  auto problem = [min, max, empty_means](long long value) -> std::optional<std::string> {
    if (value < min || value > max)
      return fmt::format("must be between {} and {}, or empty for {} (got {})", min, max,
                         empty_means, value);
    return std::nullopt;
  };
  return {path, false,
          [get, problem](Config& c, const YAML::Node& n) {
            if (n.IsNull() || (n.IsScalar() && n.Scalar().empty())) {
              get(c).reset();
              return;
            }
            const long long value = to_integer(n);
            if (auto message = problem(value)) throw ValueError{*message};
            get(c) = static_cast<std::size_t>(value);
          },
          [get, problem](const Config& c) -> std::optional<std::string> {
            if (!get(c)) return std::nullopt;
            return problem(static_cast<long long>(*get(c)));
          }};
}

std::optional<std::string> check_duration(Seconds value, double max) {
  if (value < kMinDuration || value.count() > max)
    return fmt::format("must be at least {} and at most {} (got {})", format_seconds(kMinDuration),
                       format_seconds(Seconds(max)), format_seconds(value));
  return std::nullopt;
}

template <class Get>
KeyDef duration_key(std::string_view path, Get get, double max) {
  return {path, false, [get](Config& c, const YAML::Node& n) { get(c) = to_duration(n); },
          [get, max](const Config& c) { return check_duration(get(c), max); }};
}

// Empty (or null) means "not set": the feature falls back to its base setting.
template <class Get>
KeyDef optional_duration_key(std::string_view path, Get get, double max) {
  return {path, false,
          [get](Config& c, const YAML::Node& n) {
            if (n.IsNull() || (n.IsScalar() && n.Scalar().empty()))
              get(c).reset();
            else
              get(c) = to_duration(n);
          },
          [get, max](const Config& c) -> std::optional<std::string> {
            if (!get(c)) return std::nullopt;
            return check_duration(*get(c), max);
          }};
}

template <class Get, class Enum>
KeyDef choice_key(std::string_view path, Get get,
                  std::vector<std::pair<std::string_view, Enum>> choices) {
  return {path, true,
          [get, choices](Config& c, const YAML::Node& n) {
            std::string names;
            for (const auto& [name, value] : choices) {
              if (n.IsScalar() && n.Scalar() == name) {
                get(c) = value;
                return;
              }
              names += names.empty() ? std::string(name) : fmt::format(", {}", name);
            }
            throw ValueError{fmt::format("must be one of {} (got {})", names, describe(n))};
          },
          [](const Config&) -> std::optional<std::string> { return std::nullopt; }};
}

std::optional<std::string> check_level(const std::string& level) {
  if (log_level_from_name(level)) return std::nullopt;
  return fmt::format("must be one of trace, debug, info, warn, error (got {})", quote_value(level));
}

std::optional<std::string> check_facility(const std::string& facility) {
  if (syslog_facility_from_name(facility)) return std::nullopt;
  return fmt::format("must be one of daemon, mail, user, local0 ... local7 (got {})",
                     quote_value(facility));
}

std::optional<std::string> check_tls_version(const std::string& version) {
  if (version == "1.2" || version == "1.3") return std::nullopt;
  return fmt::format("must be 1.2 or 1.3 (got {})", quote_value(version));
}

// An LMTP envelope address goes between < and > on one command line.
std::optional<std::string> check_envelope_address(const std::string& address) {
  if (address.find_first_of(std::string_view("\r\n\0<> ", 6)) != std::string::npos)
    return fmt::format("must not contain CR, LF, NUL, <, > or a space (got {})",
                       quote_value(address));
  return std::nullopt;
}

std::optional<std::string> check_recipient_template(const std::string& recipient) {
  if (auto problem = check_envelope_address(recipient)) return problem;
  return name_template_problem(recipient);
}

std::optional<std::string> check_name_template(const std::string& text) {
  return name_template_problem(text);
}

// Asio's endpoint, like connect(2), takes the path in a sockaddr_un: at most 107 bytes
// and the NUL. A longer one failed only at the first connect, where nothing said why.
std::optional<std::string> check_unix_socket_path(const std::string& path) {
  constexpr std::size_t max_bytes = sizeof(sockaddr_un{}.sun_path) - 1;
  if (path.empty()) return "must not be empty";
  if (path.find('\0') != std::string::npos) return "must not contain a NUL byte";
  if (path.size() > max_bytes)
    return fmt::format(
        "is {} bytes long; a Unix socket path holds at most {} (use a shorter path, or a "
        "symbolic link to the socket)",
        path.size(), max_bytes);
  return std::nullopt;
}

std::vector<KeyDef> make_table() {
  constexpr double hour = 3600;
  constexpr double day = 86400;
  std::vector<KeyDef> t;
  t.push_back(
      checked_string_key("director.socket", FIELD(director.socket), check_unix_socket_path));
  t.push_back(duration_key("director.connect_timeout", FIELD(director.connect_timeout), hour));
  t.push_back(duration_key("director.command_timeout", FIELD(director.command_timeout), hour));
  t.push_back(duration_key("director.reconnect_initial", FIELD(director.reconnect_initial), hour));
  t.push_back(duration_key("director.reconnect_max", FIELD(director.reconnect_max), day));

  t.push_back({"probe.ports", false,
               [](Config& c, const YAML::Node& n) { c.probe.ports = to_ports(n, TlsMode::plain); },
               [](const Config&) -> std::optional<std::string> { return std::nullopt; }, 0});
  t.push_back({"probe.ssl_ports", false,
               [](Config& c, const YAML::Node& n) {
                 for (const auto& port : to_ports(n, TlsMode::implicit))
                   c.probe.ports.push_back(port);
               },
               [](const Config&) -> std::optional<std::string> { return std::nullopt; }});
  t.push_back(bool_key("probe.tls.verify_peer", FIELD(probe.tls.verify_peer)));
  t.push_back(string_key("probe.tls.ca_file", FIELD(probe.tls.ca_file)));
  t.push_back(string_key("probe.tls.ca_dir", FIELD(probe.tls.ca_dir)));
  t.push_back(choice_key(
      "probe.tls.verify_name", FIELD(probe.tls.verify_name),
      std::vector<std::pair<std::string_view, VerifyName>>{{"none", VerifyName::none},
                                                           {"ip", VerifyName::ip},
                                                           {"hostname", VerifyName::hostname},
                                                           {"ptr", VerifyName::ptr}}));
  t.push_back(checked_string_key("probe.tls.name_template", FIELD(probe.tls.name_template),
                                 check_name_template));
  t.push_back(string_key("probe.tls.sni", FIELD(probe.tls.sni)));
  t.push_back(
      checked_string_key("probe.tls.min_version", FIELD(probe.tls.min_version), check_tls_version));
  t.push_back(bool_key("probe.tls.session_resumption", FIELD(probe.tls.session_resumption)));
  t.push_back(choice_key("probe.auth", FIELD(probe.auth),
                         std::vector<std::pair<std::string_view, AuthMechanism>>{
                             {"login", AuthMechanism::login}, {"plain", AuthMechanism::plain}}));
  t.push_back(bool_key("probe.login", FIELD(probe.login)));
  t.push_back(bool_key("probe.imap_list", FIELD(probe.imap_list)));
  t.push_back(bool_key("probe.imap_select", FIELD(probe.imap_select)));
  t.push_back(bool_key("probe.pop3_stat", FIELD(probe.pop3_stat)));
  t.push_back(bool_key("probe.lmtp_rcpt", FIELD(probe.lmtp_rcpt)));
  t.push_back(
      checked_string_key("probe.lmtp_from", FIELD(probe.lmtp_from), check_envelope_address));
  t.push_back(checked_string_key("probe.lmtp_to", FIELD(probe.lmtp_to), check_recipient_template));
  t.push_back(bool_key("probe.imap_append_expunge", FIELD(probe.imap_append_expunge)));
  t.push_back(bool_key("probe.pop3_dele", FIELD(probe.pop3_dele)));
  t.push_back(bool_key("probe.lmtp_deliver", FIELD(probe.lmtp_deliver)));
  t.push_back(size_key("probe.max_line", FIELD(probe.max_line), 512, 1 << 20));
  t.push_back(size_key("probe.max_bytes", FIELD(probe.max_bytes), 1024, 64 << 20));
  t.push_back(int_key("probe.max_in_flight", FIELD(probe.max_in_flight), 1, 100000));
  t.push_back(checked_string_key(
      "probe.source_address", FIELD(probe.source_address),
      [](const std::string& address) { return source_address_problem(address); }));

  t.push_back(string_key("credentials.default_user", FIELD(credentials.default_user)));
  t.push_back(
      string_key("credentials.default_password_file", FIELD(credentials.default_password_file)));
  t.push_back(string_key("credentials.credfile", FIELD(credentials.credfile)));
  t.push_back(string_key("credentials.test_accounts", FIELD(credentials.test_accounts)));
  t.push_back(string_key("credentials.master_user", FIELD(credentials.master_user)));
  t.push_back(
      bool_key("credentials.poll_unknown_backends", FIELD(credentials.poll_unknown_backends)));

  t.push_back(duration_key("health.interval", FIELD(health.interval), day));
  t.push_back(duration_key("health.timeout", FIELD(health.timeout), hour));
  t.push_back(int_key("health.retry_count", FIELD(health.retry_count), 1, 100));
  t.push_back(int_key("health.rapid_rounds", FIELD(health.rapid_rounds), 0, 100));
  t.push_back(int_key("health.rapid_fails_needed", FIELD(health.rapid_fails_needed), 1, 100));
  t.push_back(duration_key("health.rapid_interval", FIELD(health.rapid_interval), hour));
  t.push_back(duration_key("health.rapid_timeout", FIELD(health.rapid_timeout), hour));
  t.push_back(int_key("health.healthy_threshold", FIELD(health.healthy_threshold), 1, 100));
  t.push_back(number_key("health.jitter_percent", FIELD(health.jitter_percent), 0, true, 50));
  t.push_back(bool_key("health.timeout_growth", FIELD(health.timeout_growth)));
  t.push_back(
      optional_duration_key("health.suspect_interval", FIELD(health.suspect_interval), day));
  t.push_back(optional_duration_key("health.down_interval", FIELD(health.down_interval), day));

  t.push_back(choice_key(
      "actions.flush_mode", FIELD(actions.flush_mode),
      std::vector<std::pair<std::string_view, FlushMode>>{{"reset-users", FlushMode::reset_users},
                                                          {"flush", FlushMode::flush},
                                                          {"none", FlushMode::none}}));
  t.push_back(
      int_key("actions.max_actions_per_scan", FIELD(actions.max_actions_per_scan), 1, 100000));
  t.push_back(
      number_key("actions.max_down_percent", FIELD(actions.max_down_percent), 0, false, 100));
  t.push_back(choice_key("actions.max_down_counts", FIELD(actions.max_down_counts),
                         std::vector<std::pair<std::string_view, GuardCounts>>{
                             {"own", GuardCounts::own}, {"all", GuardCounts::all}}));
  t.push_back(bool_key("actions.up_manual_downs", FIELD(actions.up_manual_downs)));
  t.push_back(bool_key("actions.skip_disabled", FIELD(actions.skip_disabled)));
  t.push_back(string_key("actions.on_transition", FIELD(actions.on_transition)));
  t.push_back(
      duration_key("actions.on_transition_timeout", FIELD(actions.on_transition_timeout), hour));

  t.push_back(
      choice_key("log.target", FIELD(log.target),
                 std::vector<std::pair<std::string_view, LogTarget>>{{"stderr", LogTarget::stderr_},
                                                                     {"syslog", LogTarget::syslog},
                                                                     {"file", LogTarget::file}}));
  t.push_back(string_key("log.file", FIELD(log.file)));
  t.push_back(
      checked_string_key("log.syslog_facility", FIELD(log.syslog_facility), check_facility));
  t.push_back(checked_string_key("log.level", FIELD(log.level), check_level));

  t.push_back(bool_key("http.enabled", FIELD(http.enabled)));
  t.push_back(checked_string_key("http.listen", FIELD(http.listen), [](const std::string& listen) {
    return listen_address_problem(listen);
  }));
  t.push_back(bool_key("metrics.per_backend_latency", FIELD(metrics.per_backend_latency)));

  t.push_back(port_or_off_key("ring.peer_port", FIELD(ring.peer_port), "no ring"));
  t.push_back(optional_count_key("ring.quorum", FIELD(ring.quorum), 1, 1000, "a majority"));
  t.push_back(string_key("ring.secret_file", FIELD(ring.secret_file)));
  t.push_back(checked_string_key("ring.listen", FIELD(ring.listen), [](const std::string& listen) {
    return ring_listen_problem(listen);
  }));

  add_passive_keys(t);
  t.push_back(string_key("pidfile", FIELD(pidfile)));
  t.push_back(string_key("state_file", FIELD(state_file)));
  t.push_back(string_key("event_log", FIELD(event_log)));
  t.push_back(bool_key("dry_run", FIELD(dry_run)));
  return t;
}

#undef FIELD

}  // namespace

const std::vector<KeyDef>& key_table() {
  static const std::vector<KeyDef> table = make_table();
  return table;
}

const KeyDef* find_key(std::string_view path) {
  for (const auto& def : key_table())
    if (def.path == path) return &def;
  return nullptr;
}

bool is_section(std::string_view path) {
  if (path.empty()) return true;
  for (const auto& def : key_table())
    if (def.path.size() > path.size() && def.path.starts_with(path) && def.path[path.size()] == '.')
      return true;
  return false;
}

std::vector<std::string> names_under(std::string_view section) {
  std::vector<std::string> names;
  for (const auto& def : key_table()) {
    std::string_view rest = def.path;
    if (!section.empty()) {
      if (!(rest.size() > section.size() && rest.starts_with(section) &&
            rest[section.size()] == '.'))
        continue;
      rest.remove_prefix(section.size() + 1);
    }
    std::string name(rest.substr(0, rest.find('.')));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

}  // namespace poolwatch::config_detail
