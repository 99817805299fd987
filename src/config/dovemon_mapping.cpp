#include "dovemon_mapping.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace poolwatch::dovemon_detail {

namespace {

struct Mapping {
  DovemonSettings& settings;
  Config& config;
  std::string_view origin;
  void warn(std::string_view key, std::string_view message) {
    settings.warnings.push_back(fmt::format("{}: {}", key, message));
  }
};

void map_logging(const DovemonKeys& p, Mapping& m) {
  // Logging: dovemon logs to syslog unless `debug` keeps it in the foreground.
  if (p.loglevel) {
    const long long level = *p.loglevel;
    m.config.log.level = level == 0 ? "info" : level == 1 ? "warn" : level == 2 ? "error" : "debug";
  }
  if (p.debug) {
    m.settings.foreground = true;
    m.config.log.target = LogTarget::stderr_;
    m.config.log.level = "debug";
  }
}

void map_thresholds(const DovemonKeys& p, Mapping& m) {
  // The thresholds: poolwatch needs at least one of each, dovemon allows 0.
  if (p.retry_count) {
    m.config.health.retry_count = static_cast<int>(std::max<long long>(*p.retry_count, 1));
    if (*p.retry_count == 0)
      m.warn("retry_count",
             "0 is not possible in poolwatch; using 1 (the first failed round starts the rapid "
             "stage)");
  }
  // rapid_rounds 0 means "no rapid stage" in both: down right after retry_count rounds.
  if (p.rapid_rounds) m.config.health.rapid_rounds = static_cast<int>(*p.rapid_rounds);
  if (p.rapid_fails_needed) {
    m.config.health.rapid_fails_needed =
        static_cast<int>(std::max<long long>(*p.rapid_fails_needed, 1));
    if (*p.rapid_fails_needed == 0)
      m.warn("rapid_fails_needed", "0 is not possible in poolwatch; using 1");
  }
  if (m.config.health.rapid_rounds > 0 &&
      m.config.health.rapid_fails_needed > m.config.health.rapid_rounds)
    throw ConfigError(fmt::format(
        "{}: rapid_fails_needed ({}) exceeds rapid_rounds ({}): the backend could never be "
        "marked down",
        m.origin, m.config.health.rapid_fails_needed, m.config.health.rapid_rounds));
}

void map_ports(const DovemonKeys& p, Mapping& m) {
  // The probed ports, in dovemon's order.
  m.config.probe.ports.clear();
  auto add_port = [&m](const ProtocolKeys& keys, Protocol protocol) {
    if (!keys.poll) return;
    m.config.probe.ports.push_back(
        PortSpec{protocol, static_cast<std::uint16_t>(keys.tls ? keys.tls_port : keys.port),
                 keys.tls ? TlsMode::implicit : TlsMode::plain});
  };
  add_port(p.imap, Protocol::imap);
  add_port(p.pop3, Protocol::pop3);
  add_port(p.lmtp, Protocol::lmtp);
  if (m.config.probe.ports.empty())
    throw ConfigError(fmt::format(
        "{}: poll_imap, poll_pop3 and poll_lmtp are all off: nothing would be probed", m.origin));
}

void map_deep_checks(const DovemonKeys& p, Mapping& m) {
  // The deep checks. poolwatch pairs the destructive ones so the test mailbox never grows.
  if (p.imap_append && p.imap_expunge) {
    m.config.probe.imap_append_expunge = true;
  } else if (p.imap_append) {
    m.config.probe.imap_append_expunge = true;
    m.warn("poll_imap_append",
           "mapped to probe.imap_append_expunge: poolwatch always expunges the message it "
           "appended, so the test mailbox does not fill up");
  } else if (p.imap_expunge) {
    m.config.probe.imap_select = true;
    m.warn("poll_imap_expunge",
           "cannot be honoured: poolwatch never expunges mail it did not append; mapped to "
           "probe.imap_select (SELECT INBOX) only");
  }
  m.config.probe.pop3_stat = p.pop3_stat || p.pop3_delete;
  m.config.probe.pop3_dele = p.pop3_delete;
}

void report_delayed_down(const DovemonKeys& p, Mapping& m) {
  // dovemon's delayed down has no poolwatch equivalent; its guards are relative.
  if (p.use_delayed_down)
    m.warn("use_delayed_down",
           "cannot be honoured: poolwatch has no down-queue; a failed backend is downed when "
           "its health check decides, and actions.max_down_percent (default 50) and "
           "actions.max_actions_per_scan guard against downing too much of the pool");
  const char* inactive = "has no effect without use_delayed_down, as in dovemon";
  if (p.delayed_down_delay)
    m.warn("delayed_down_delay",
           p.use_delayed_down ? "cannot be honoured: no down-queue; raise health.retry_count or "
                                "health.rapid_rounds to wait longer before a down"
                              : inactive);
  if (p.delayed_down_limit)
    m.warn("delayed_down_limit",
           p.use_delayed_down
               ? fmt::format("cannot be honoured: poolwatch limits downs by share of the pool "
                             "(actions.max_down_percent), not by an absolute count ({})",
                             *p.delayed_down_limit)
               : std::string(inactive));
}

}  // namespace

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

void map_dovemon_keys(const DovemonKeys& keys, DovemonSettings& settings, std::string_view origin) {
  Mapping m{settings, settings.config, origin};
  map_logging(keys, m);
  map_thresholds(keys, m);
  map_ports(keys, m);
  map_deep_checks(keys, m);
  report_delayed_down(keys, m);
}

}  // namespace poolwatch::dovemon_detail
