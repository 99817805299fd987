#include "poolwatch/config/dovemon_config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "config_keys.hpp"
#include "dovemon_mapping.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/log_names.hpp"

namespace poolwatch {
namespace {

using dovemon_detail::dovemon_defaults;
using dovemon_detail::DovemonKeys;
using dovemon_detail::map_dovemon_keys;

constexpr long long max_port = 65535;

// A typo of a known key gets a hint, so "logelevel" (as in dovemon's own docs) is noticed.
std::optional<std::string_view> closest_key(std::string_view name,
                                            const std::vector<std::string_view>& keys) {
  if (name.size() > config_detail::kMaxTypoName) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;
  for (auto key : keys) {
    const auto d = config_detail::typo_distance(name, key, best_distance);
    if (d < best_distance) {
      best_distance = d;
      best = key;
    }
  }
  return best;
}

class DovemonReader {
 public:
  DovemonReader(std::string_view origin, DovemonSettings& settings)
      : origin_(origin), settings_(settings), config_(settings.config) {}

  void read(const YAML::Node& root) {
    if (root.IsNull()) {
      finish();
      return;
    }
    if (!root.IsMap())
      throw ConfigError(fmt::format("{}: expected a mapping of dovemon keys", origin_));
    std::map<std::string, int> first_line;
    for (const auto& item : root) {
      const int line = item.first.Mark().line + 1;
      if (!item.first.IsScalar())
        throw ConfigError(fmt::format("{}:{}: keys must be plain names", origin_, line));
      const std::string key = item.first.Scalar();
      if (auto [it, inserted] = first_line.emplace(key, line); !inserted)
        warn(key, fmt::format("set twice (lines {} and {}); the last value wins, as in dovemon",
                              it->second, line));
      key_ = key;
      node_ = item.second;
      line_ = item.second.Mark().line + 1;
      apply();
    }
    finish();
  }

 private:
  static const std::vector<std::pair<std::string_view, void (*)(DovemonReader&)>>& handlers();
  void apply();
  void finish();
  void lockfile();
  void logger_socket_addr();
  void syslog_facility();
  void auth();

  [[noreturn]] void fail(std::string_view message) const {
    throw ConfigError(fmt::format("{}:{}: {}: {}", origin_, line_, key_, message));
  }
  // Warnings go to the log and quote the file's keys and values, which YAML escapes can
  // fill with any byte: control bytes become '?' (nothing is cut).
  void warn(std::string_view key, std::string_view message) {
    settings_.warnings.push_back(
        printable_excerpt(fmt::format("{}: {}", key, message), std::string::npos));
  }
  void warn(std::string_view message) { warn(key_, message); }

  std::string scalar(std::string_view expected) const {
    if (!node_.IsScalar()) fail(fmt::format("expected {}", expected));
    return node_.Scalar();
  }
  // PyYAML's YAML 1.1 booleans, which is what dovemon accepts.
  bool boolean() const {
    static constexpr std::array<std::string_view, 8> yes{"True", "true", "TRUE", "yes",
                                                         "Yes",  "YES",  "on",   "On"};
    static constexpr std::array<std::string_view, 8> no{"False", "false", "FALSE", "no",
                                                        "No",    "NO",    "off",   "Off"};
    const std::string text = scalar("a boolean (True/true/yes or False/false/no)");
    if (std::find(yes.begin(), yes.end(), text) != yes.end()) return true;
    if (std::find(no.begin(), no.end(), text) != no.end()) return false;
    fail(fmt::format("expected True/true/yes or False/false/no (got '{}')", text));
  }
  long long integer(long long min, long long max) const {
    const std::string text = scalar("an integer");
    long long value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
      fail(fmt::format("expected an integer (got '{}')", text));
    if (value < min || value > max)
      fail(fmt::format("must be between {} and {} (got {})", min, max, value));
    return value;
  }
  Seconds seconds() const {
    const std::string text = scalar("a number of seconds");
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
      fail(fmt::format("expected a number of seconds (got '{}')", text));
    if (!(value >= kMinDuration.count()) || value > 86400)
      fail(fmt::format("must be at least {:g} and at most 86400 seconds (got {})",
                       kMinDuration.count(), text));
    return Seconds(value);
  }
  std::string text() const { return node_.IsNull() ? std::string() : scalar("a string"); }

  std::string origin_;
  DovemonSettings& settings_;
  Config& config_;
  DovemonKeys pending_;
  std::string key_;
  YAML::Node node_;
  int line_ = 0;
};

using KeyHandler = void (*)(DovemonReader&);

// Every documented dovemon key, in the order of dovemon's documentation table.
const std::vector<std::pair<std::string_view, KeyHandler>>& DovemonReader::handlers() {
  using R = DovemonReader;
  static const std::vector<std::pair<std::string_view, KeyHandler>> table{
      {"loglevel", [](R& r) { r.pending_.loglevel = r.integer(0, 1000); }},
      {"debug", [](R& r) { r.pending_.debug = r.boolean(); }},
      {"lockfile", [](R& r) { r.lockfile(); }},
      {"director_admin_socket",
       [](R& r) {
         r.config_.director.socket = r.text();
         if (r.config_.director.socket.empty()) r.fail("must name the director-admin socket");
       }},
      {"logger_socket_addr", [](R& r) { r.logger_socket_addr(); }},
      {"syslog_facility", [](R& r) { r.syslog_facility(); }},
      {"auth", [](R& r) { r.auth(); }},
      {"interval", [](R& r) { r.config_.health.interval = r.seconds(); }},
      {"timeout", [](R& r) { r.config_.health.timeout = r.seconds(); }},
      {"retry_count", [](R& r) { r.pending_.retry_count = r.integer(0, 100); }},
      {"rapid_rounds", [](R& r) { r.pending_.rapid_rounds = r.integer(0, 100); }},
      {"rapid_fails_needed", [](R& r) { r.pending_.rapid_fails_needed = r.integer(0, 100); }},
      {"rapidpoll_timeout", [](R& r) { r.config_.health.rapid_timeout = r.seconds(); }},
      {"poll_imap", [](R& r) { r.pending_.imap.poll = r.boolean(); }},
      {"imap_ssl", [](R& r) { r.pending_.imap.tls = r.boolean(); }},
      {"imap_port", [](R& r) { r.pending_.imap.port = r.integer(1, max_port); }},
      {"imaps_port", [](R& r) { r.pending_.imap.tls_port = r.integer(1, max_port); }},
      {"poll_imap_list", [](R& r) { r.config_.probe.imap_list = r.boolean(); }},
      {"poll_imap_select", [](R& r) { r.config_.probe.imap_select = r.boolean(); }},
      {"poll_imap_append", [](R& r) { r.pending_.imap_append = r.boolean(); }},
      {"poll_imap_expunge", [](R& r) { r.pending_.imap_expunge = r.boolean(); }},
      {"poll_pop3", [](R& r) { r.pending_.pop3.poll = r.boolean(); }},
      {"pop3_ssl", [](R& r) { r.pending_.pop3.tls = r.boolean(); }},
      {"pop3_port", [](R& r) { r.pending_.pop3.port = r.integer(1, max_port); }},
      {"pop3s_port", [](R& r) { r.pending_.pop3.tls_port = r.integer(1, max_port); }},
      {"poll_pop3_stat", [](R& r) { r.pending_.pop3_stat = r.boolean(); }},
      {"poll_pop3_delete", [](R& r) { r.pending_.pop3_delete = r.boolean(); }},
      {"poll_lmtp", [](R& r) { r.pending_.lmtp.poll = r.boolean(); }},
      {"lmtp_ssl", [](R& r) { r.pending_.lmtp.tls = r.boolean(); }},
      {"lmtp_port",
       [](R& r) { r.pending_.lmtp.port = r.pending_.lmtp.tls_port = r.integer(1, max_port); }},
      {"poll_lmtp_deliver", [](R& r) { r.config_.probe.lmtp_deliver = r.boolean(); }},
      {"poll_unknown_backends",
       [](R& r) { r.config_.credentials.poll_unknown_backends = r.boolean(); }},
      {"use_host_flush",
       [](R& r) {
         r.config_.actions.flush_mode = r.boolean() ? FlushMode::flush : FlushMode::reset_users;
       }},
      {"use_delayed_down", [](R& r) { r.pending_.use_delayed_down = r.boolean(); }},
      {"delayed_down_delay", [](R& r) { r.pending_.delayed_down_delay = r.seconds().count(); }},
      {"delayed_down_limit", [](R& r) { r.pending_.delayed_down_limit = r.integer(0, 1000000); }},
      {"beupdatescript",
       [](R& r) {
         r.config_.actions.on_transition = r.text();
         if (!r.config_.actions.on_transition.empty())
           r.warn(
               "run as SCRIPT down|up ADDRESS REASON: poolwatch adds a third argument, the "
               "reason");
       }},
  };
  return table;
}

void DovemonReader::apply() {
  std::vector<std::string_view> names;
  for (const auto& [name, handler] : handlers()) {
    if (name == key_) {
      handler(*this);
      return;
    }
    names.push_back(name);
  }
  auto hint = closest_key(key_, names);
  warn(hint ? fmt::format("unknown dovemon key, ignored (did you mean {}?)", *hint)
            : std::string("unknown dovemon key, ignored"));
}

void DovemonReader::lockfile() {
  config_.pidfile = text();
  if (config_.pidfile.empty()) fail("must name a file");
  if (!config_.pidfile.starts_with("/run/poolwatch/"))
    warn(
        "used as poolwatch's pidfile; the shipped systemd unit can only write under "
        "/run/poolwatch/ (default /run/poolwatch/poolwatch.pid)");
}

void DovemonReader::logger_socket_addr() {
  const std::string address = text();
  if (!address.empty() && address != "/dev/log")
    warn(
        fmt::format("cannot be honoured: poolwatch logs through syslog(3), which always uses "
                    "/dev/log, not '{}'",
                    address));
}

void DovemonReader::syslog_facility() {
  const std::string facility = text();
  if (syslog_facility_from_name(facility)) {
    config_.log.syslog_facility = facility;
    return;
  }
  warn(
      fmt::format("'{}' is not supported (daemon, mail, user, local0 ... local7); using mail, "
                  "dovemon's default",
                  facility));
  config_.log.syslog_facility = "mail";
}

void DovemonReader::auth() {
  const std::string mechanism = scalar("plain or sasl");
  if (mechanism == "plain") {
    config_.probe.auth = AuthMechanism::login;
  } else if (mechanism == "sasl") {
    config_.probe.auth = AuthMechanism::plain;
  } else {
    fail(fmt::format("must be plain or sasl (got '{}')", mechanism));
  }
}

void DovemonReader::finish() {
  key_.clear();
  map_dovemon_keys(pending_, settings_, origin_);
  try {
    validate(config_);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: after mapping the dovemon keys: {}", origin_, e.what()));
  }
}

}  // namespace

DovemonSettings parse_dovemon_config(std::string_view yaml, std::string_view origin,
                                     const std::string& test_accounts_path) {
  DovemonSettings settings;
  settings.config = dovemon_defaults();
  settings.config.credentials.test_accounts = test_accounts_path;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}: {}", origin, e.mark.line + 1, e.msg));
  }
  DovemonReader(origin, settings).read(root);
  return settings;
}

DovemonSettings load_dovemon_config(const std::string& path,
                                    const std::string& test_accounts_path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read the dovemon config", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read the dovemon config", path));

  std::string accounts = test_accounts_path;
  bool found = true;
  if (accounts.empty()) {
    accounts = (std::filesystem::path(path).parent_path() / "dovemon.testaccounts.yml").string();
    std::error_code error;
    found = std::filesystem::exists(accounts, error);
  }
  DovemonSettings settings = parse_dovemon_config(text.str(), path, found ? accounts : "");
  if (!found)
    settings.warnings.push_back(
        fmt::format("test accounts: no {}; backends are probed without login unless "
                    "credentials.* is set",
                    accounts));
  return settings;
}

}  // namespace poolwatch
