#pragma once
// The whole runtime configuration as typed values with their defaults. The YAML
// loader (config_loader.hpp) and the command-line overrides (cli.hpp) fill and validate
// it; every other part of poolwatch only reads it. docs/configuration.md describes
// every key; the structs compare with == (a reload can tell what changed).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

using Seconds = std::chrono::duration<double>;

// The shortest duration any setting accepts: below it a typo (1e-300, 0.0001) would turn
// an interval into a busy loop against the backends and the director.
inline constexpr Seconds kMinDuration{0.05};

// A config problem the operator must fix. what() names the key and, from a file, the
// line: "poolwatch.yml:12: health.retry_count: must be between 1 and 100 (got 0)".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DirectorConfig {
  std::string socket = "/var/run/dovecot/director-admin";
  Seconds connect_timeout{5};
  // Ring-sync waits can take 30 s before and 30 s after a command runs.
  Seconds command_timeout{75};
  Seconds reconnect_initial{1};
  Seconds reconnect_max{60};
  friend bool operator==(const DirectorConfig&, const DirectorConfig&) = default;
};

struct PortSpec {
  Protocol protocol = Protocol::imap;
  std::uint16_t port = 143;
  TlsMode tls = TlsMode::plain;
  friend bool operator==(const PortSpec&, const PortSpec&) = default;
};

enum class VerifyName { none, ip, hostname, ptr };
enum class AuthMechanism { login, plain };  // IMAP LOGIN / POP3 USER+PASS, or SASL PLAIN

struct TlsConfig {
  bool verify_peer = false;
  std::string ca_file;
  std::string ca_dir;
  VerifyName verify_name = VerifyName::ip;
  std::string name_template;  // for verify_name: hostname, e.g. "%{backend_host}.mail.example"
  std::string sni;            // empty: the verify name when it is a host name
  std::string min_version = "1.2";
  bool session_resumption = true;
  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

struct ProbeConfig {
  // YAML `probe.ports` followed by `probe.ssl_ports` (implicit TLS); never empty and
  // without duplicates once validated.
  std::vector<PortSpec> ports{{Protocol::imap, 143, TlsMode::plain}};
  TlsConfig tls;
  AuthMechanism auth = AuthMechanism::login;
  bool login = true;         // log in when credentials exist for the backend
  bool imap_list = false;    // LIST "" "%" after login
  bool imap_select = false;  // SELECT INBOX after login
  bool pop3_stat = false;
  bool lmtp_rcpt = true;  // MAIL FROM + RCPT TO + RSET when a recipient is known
  std::string lmtp_from;  // envelope sender; empty: the null sender <> (poolmon --lmtp-from)
  // Recipient (may use %{backend_host}); empty: the backend's probe user (poolmon --lmtp-to)
  std::string lmtp_to;
  // Destructive deep checks, paired so the test mailbox never grows.
  bool imap_append_expunge = false;
  bool pop3_dele = false;
  bool lmtp_deliver = false;
  std::size_t max_line = 8192;
  std::size_t max_bytes = 1 << 20;
  std::size_t max_in_flight = 500;
  // probe.source_address: the local IP probes connect from (multi-homed directors);
  // empty: the kernel picks. An IP literal once validated.
  std::string source_address;
  friend bool operator==(const ProbeConfig&, const ProbeConfig&) = default;
};

struct CredentialsConfig {
  std::string default_user;           // plain or template: "probe-%{backend_host}"
  std::string default_password_file;  // password only, first line
  std::string credfile;               // poolmon: line 1 user, line 2 password
  std::string test_accounts;          // dovemon testaccounts YAML
  std::string master_user;            // SASL authzid-style master login
  bool poll_unknown_backends = true;  // probe hosts with no account (no login)
  friend bool operator==(const CredentialsConfig&, const CredentialsConfig&) = default;
};

struct HealthConfig {
  Seconds interval{10};
  // One deadline per whole dialogue; allows Dovecot's 2 s failure delay + penalty.
  Seconds timeout{10};
  int retry_count = 3;
  int rapid_rounds = 10;
  int rapid_fails_needed = 8;
  Seconds rapid_interval{1};
  Seconds rapid_timeout{5};
  int healthy_threshold = 1;
  double jitter_percent = 5;
  bool timeout_growth = false;              // dovemon: timeout x1, x2, x3 with consecutive failures
  std::optional<Seconds> suspect_interval;  // faster polls after a failure
  std::optional<Seconds> down_interval;     // polls of a backend that is down
  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

enum class FlushMode { reset_users, flush, none };

// Which down hosts count against actions.max_down_percent: only those poolwatch took down
// (own), or every host the director lists down, an administrator's included (all).
enum class GuardCounts { own, all };

struct ActionConfig {
  FlushMode flush_mode = FlushMode::reset_users;
  int max_actions_per_scan = 10;
  double max_down_percent = 50;
  GuardCounts max_down_counts = GuardCounts::own;
  bool up_manual_downs = false;  // never HOST-UP a host an admin took down
  bool skip_disabled = false;    // do not probe hosts with vhost_count 0
  std::string on_transition;     // hook: CMD down|up ADDRESS REASON
  Seconds on_transition_timeout{30};
  friend bool operator==(const ActionConfig&, const ActionConfig&) = default;
};

enum class LogTarget { stderr_, syslog, file };

struct LogConfig {
  LogTarget target = LogTarget::stderr_;
  std::string file;
  std::string syslog_facility = "daemon";
  std::string level = "info";
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct HttpConfig {
  bool enabled = true;
  std::string listen = "127.0.0.1:9167";
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

// metrics.*: what /metrics exports.
struct MetricsConfig {
  // poolwatch_probe_duration_seconds by backend and protocol, or by protocol only: its
  // 15 lines per check are most of /metrics on a large pool.
  bool per_backend_latency = true;
  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

// ring.*: poolwatch on every director of a ring (docs/ring.md). peer_port 0: no ring,
// the instance acts alone as it always has.
struct RingConfig {
  std::uint16_t peer_port = 0;  // where every director's poolwatch serves its report
  // The instances that must see a backend down (or up) for the ring to act; empty: a
  // majority of the instances that answer, this one included.
  std::optional<std::size_t> quorum;
  // The shared secret that signs every request and reply (first line, at least 32
  // bytes); read like the password files (owner-only permissions). Required with a ring.
  std::string secret_file;
  // Where this instance serves its report: "IP:PORT". Empty: this director's ring
  // address (DIRECTOR-LIST's self line) at peer_port, bound once that is known.
  std::string listen;
  friend bool operator==(const RingConfig&, const RingConfig&) = default;
  bool enabled() const { return peer_port != 0; }
};

// passive.*: learning from the director's own proxy events (docs/passive.md). Off by
// default; when on, the endpoint listens on loopback unless told otherwise.
struct PassiveConfig {
  bool enabled = false;
  std::string listen = "127.0.0.1:9169";  // 9168 is the ring's usual port
  // Who may post: networks in CIDR form, or single addresses.
  std::vector<std::string> allow = {"127.0.0.0/8", "::1/128"};
  std::size_t max_body = 64 * 1024;
  int max_events_per_second = 2000;  // beyond it posts get 429, so probes never starve
  int failures = 3;                  // backend faults within `window`, no success between
  Seconds window{10};
  bool may_down = false;  // true: the faults alone take the backend down
  friend bool operator==(const PassiveConfig&, const PassiveConfig&) = default;
};

struct Config {
  DirectorConfig director;
  ProbeConfig probe;
  CredentialsConfig credentials;
  HealthConfig health;
  ActionConfig actions;
  LogConfig log;
  HttpConfig http;
  MetricsConfig metrics;
  RingConfig ring;
  PassiveConfig passive;
  std::string pidfile = "/run/poolwatch/poolwatch.pid";
  std::string state_file = "/var/lib/poolwatch/state";
  std::string event_log;
  bool dry_run = false;
  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace poolwatch
