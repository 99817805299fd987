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

#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/log_names.hpp"

namespace poolwatch {
namespace {

// dovemon's per-protocol keys, gathered first because the port list depends on several.
struct ProtocolKeys {
  bool poll = false;
  bool tls = false;
  long long port = 0;
  long long tls_port = 0;
};

struct Pending {
  ProtocolKeys imap{true, false, 143, 993};
  ProtocolKeys pop3{false, false, 110, 995};
  ProtocolKeys lmtp{false, false, 24, 24};  // dovemon has no lmtps_port: TLS uses lmtp_port
  bool imap_append = false;
  bool imap_expunge = false;
  bool pop3_stat = false;
  bool pop3_delete = false;
  bool debug = false;
  std::optional<long long> loglevel;
  bool use_delayed_down = false;
  std::optional<double> delayed_down_delay;
  std::optional<long long> delayed_down_limit;
  std::optional<long long> retry_count, rapid_rounds, rapid_fails_needed;
};

constexpr long long max_port = 65535;

// A typo of a known key gets a hint, so "logelevel" (as in dovemon's own docs) is noticed.
std::optional<std::string_view> closest_key(std::string_view name,
                                            const std::vector<std::string_view>& keys) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;
  for (auto key : keys) {
    auto d = distance(name, key);
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
  // finish()'s steps, each mapping one group of the collected dovemon keys.
  void map_logging();
  void map_thresholds();
  void map_ports();
  void map_deep_checks();
  void report_delayed_down();
  void lockfile();
  void logger_socket_addr();
  void syslog_facility();
  void auth();

  [[noreturn]] void fail(std::string_view message) const {
    throw ConfigError(fmt::format("{}:{}: {}: {}", origin_, line_, key_, message));
  }
  void warn(std::string_view key, std::string_view message) {
    settings_.warnings.push_back(fmt::format("{}: {}", key, message));
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
    if (!(value > 0) || value > 86400)
      fail(fmt::format("must be greater than 0 and at most 86400 seconds (got {})", text));
    return Seconds(value);
  }
  std::string text() const { return node_.IsNull() ? std::string() : scalar("a string"); }

  std::string origin_;
  DovemonSettings& settings_;
  Config& config_;
  Pending pending_;
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
  map_logging();
  map_thresholds();
  map_ports();
  map_deep_checks();
  report_delayed_down();
  try {
    validate(config_);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: after mapping the dovemon keys: {}", origin_, e.what()));
  }
}

void DovemonReader::map_logging() {
  const auto& p = pending_;
  // Logging: dovemon logs to syslog unless `debug` keeps it in the foreground.
  if (p.loglevel) {
    const long long level = *p.loglevel;
    config_.log.level = level == 0 ? "info" : level == 1 ? "warn" : level == 2 ? "error" : "debug";
  }
  if (p.debug) {
    settings_.foreground = true;
    config_.log.target = LogTarget::stderr_;
    config_.log.level = "debug";
  }
}

void DovemonReader::map_thresholds() {
  const auto& p = pending_;
  // The thresholds: poolwatch needs at least one of each, dovemon allows 0.
  if (p.retry_count) {
    config_.health.retry_count = static_cast<int>(std::max<long long>(*p.retry_count, 1));
    if (*p.retry_count == 0)
      warn("retry_count",
           "0 is not possible in poolwatch; using 1 (the first failed round starts the rapid "
           "stage)");
  }
  // rapid_rounds 0 means "no rapid stage" in both: down right after retry_count rounds.
  if (p.rapid_rounds) config_.health.rapid_rounds = static_cast<int>(*p.rapid_rounds);
  if (p.rapid_fails_needed) {
    config_.health.rapid_fails_needed =
        static_cast<int>(std::max<long long>(*p.rapid_fails_needed, 1));
    if (*p.rapid_fails_needed == 0)
      warn("rapid_fails_needed", "0 is not possible in poolwatch; using 1");
  }
  if (config_.health.rapid_rounds > 0 &&
      config_.health.rapid_fails_needed > config_.health.rapid_rounds)
    throw ConfigError(fmt::format(
        "{}: rapid_fails_needed ({}) exceeds rapid_rounds ({}): the backend could never be "
        "marked down",
        origin_, config_.health.rapid_fails_needed, config_.health.rapid_rounds));
}

void DovemonReader::map_ports() {
  const auto& p = pending_;
  // The probed ports, in dovemon's order.
  config_.probe.ports.clear();
  auto add_port = [this](const ProtocolKeys& keys, Protocol protocol) {
    if (!keys.poll) return;
    config_.probe.ports.push_back(
        PortSpec{protocol, static_cast<std::uint16_t>(keys.tls ? keys.tls_port : keys.port),
                 keys.tls ? TlsMode::implicit : TlsMode::plain});
  };
  add_port(p.imap, Protocol::imap);
  add_port(p.pop3, Protocol::pop3);
  add_port(p.lmtp, Protocol::lmtp);
  if (config_.probe.ports.empty())
    throw ConfigError(fmt::format(
        "{}: poll_imap, poll_pop3 and poll_lmtp are all off: nothing would be probed", origin_));
}

void DovemonReader::map_deep_checks() {
  const auto& p = pending_;
  // The deep checks. poolwatch pairs the destructive ones so the test mailbox never grows.
  if (p.imap_append && p.imap_expunge) {
    config_.probe.imap_append_expunge = true;
  } else if (p.imap_append) {
    config_.probe.imap_append_expunge = true;
    warn("poll_imap_append",
         "mapped to probe.imap_append_expunge: poolwatch always expunges the message it "
         "appended, so the test mailbox does not fill up");
  } else if (p.imap_expunge) {
    config_.probe.imap_select = true;
    warn("poll_imap_expunge",
         "cannot be honoured: poolwatch never expunges mail it did not append; mapped to "
         "probe.imap_select (SELECT INBOX) only");
  }
  config_.probe.pop3_stat = p.pop3_stat || p.pop3_delete;
  config_.probe.pop3_dele = p.pop3_delete;
}

void DovemonReader::report_delayed_down() {
  const auto& p = pending_;
  // dovemon's delayed down has no poolwatch equivalent; its guards are relative.
  if (p.use_delayed_down)
    warn("use_delayed_down",
         "cannot be honoured: poolwatch has no down-queue; a failed backend is downed when "
         "its health check decides, and actions.max_down_percent (default 50) and "
         "actions.max_actions_per_scan guard against downing too much of the pool");
  const char* inactive = "has no effect without use_delayed_down, as in dovemon";
  if (p.delayed_down_delay)
    warn("delayed_down_delay",
         p.use_delayed_down ? "cannot be honoured: no down-queue; raise health.retry_count or "
                              "health.rapid_rounds to wait longer before a down"
                            : inactive);
  if (p.delayed_down_limit)
    warn("delayed_down_limit",
         p.use_delayed_down
             ? fmt::format("cannot be honoured: poolwatch limits downs by share of the pool "
                           "(actions.max_down_percent), not by an absolute count ({})",
                           *p.delayed_down_limit)
             : std::string(inactive));
}

// dovemon's documented defaults, for every key that changes what is probed or decided.
Config dovemon_defaults() {
  Config config;
  config.health.interval = Seconds(10);
  config.health.timeout = Seconds(3);
  config.health.timeout_growth = true;  // dovemon grows the timeout 3, 6, 9 s
  config.health.retry_count = 3;
  config.health.rapid_rounds = 10;
  config.health.rapid_fails_needed = 7;
  config.health.rapid_timeout = Seconds(2);
  config.probe.auth = AuthMechanism::login;
  config.probe.imap_list = true;
  config.credentials.poll_unknown_backends = true;
  config.actions.flush_mode = FlushMode::reset_users;
  config.log.target = LogTarget::syslog;
  config.log.syslog_facility = "mail";
  return config;
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
