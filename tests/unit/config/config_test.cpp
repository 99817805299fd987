#include "poolwatch/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "poolwatch/config/config_loader.hpp"
#include "support/child_process.hpp"
#include "support/source_tree.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

std::string source_file(const std::string& relative) {
  return test::read_source_file(relative);
}

// The message of the ConfigError that loading `yaml` throws ("" if it loads).
std::string load_error(const std::string& yaml) {
  try {
    load_config_string(yaml, "t.yml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string setting_error(const std::string& key, const std::string& value) {
  Config config;
  try {
    apply_setting(config, key, value);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

void flatten(const YAML::Node& map, const std::string& prefix, std::set<std::string>& paths,
             const std::set<std::string>& leaves) {
  for (const auto& item : map) {
    std::string path = prefix.empty() ? item.first.Scalar() : prefix + "." + item.first.Scalar();
    if (item.second.IsMap() && !leaves.count(path))
      flatten(item.second, path, paths, leaves);
    else
      paths.insert(path);
  }
}

}  // namespace

TEST(ConfigExample, ValidatesAndGivesTheDefaults) {
  Config loaded = load_config_file(POOLWATCH_SOURCE_DIR "/config/poolwatch.yml");
  EXPECT_EQ(loaded, Config{});
}

TEST(ConfigExample, SetsEveryKeyTheLoaderAccepts) {
  auto keys = config_key_paths();
  std::set<std::string> expected(keys.begin(), keys.end());
  std::set<std::string> in_example;
  flatten(YAML::Load(source_file("config/poolwatch.yml")), "", in_example, expected);
  EXPECT_EQ(in_example, expected);
}

TEST(ConfigDocs, ListEveryKeyTheLoaderAccepts) {
  const std::string docs = source_file("docs/configuration.md");
  ASSERT_FALSE(docs.empty());
  auto keys = config_key_paths();
  ASSERT_GT(keys.size(), 50u);
  for (const auto& key : keys) EXPECT_THAT(docs, HasSubstr("| `" + key + "` |")) << key;
}

TEST(ConfigLoad, GoodFileSetsEveryKindOfValue) {
  const Config c = load_config_string(R"(
director:
  socket: /run/dovecot/director-admin
  command_timeout: 2m
probe:
  ports:
    - 143
    - POP3:110
    - {protocol: lmtp, port: 24}
    - {protocol: imap, port: 1143, tls: starttls}
  ssl_ports: [IMAP:993]
  tls:
    verify_peer: yes
    verify_name: hostname
    name_template: "%{backend_host}.mail.example"
    min_version: 1.3
  auth: plain
  max_line: 4k
  max_bytes: 2M
credentials:
  default_user: probe-%{backend_host}
  default_password_file: /etc/poolwatch/probe.pass
health:
  interval: 500ms
  retry_count: 5
  rapid_rounds: 6
  rapid_fails_needed: 6
  jitter_percent: 2.5
  suspect_interval: 2s
actions:
  flush_mode: flush
  max_down_percent: 33.3
log:
  target: file
  file: /var/log/poolwatch.log
  syslog_facility: local5
  level: debug
http:
  enabled: false
  listen: "[::1]:0"
dry_run: true
event_log: /var/log/poolwatch-events.jsonl
)",
                                      "good.yml");
  EXPECT_EQ(c.director.socket, "/run/dovecot/director-admin");
  EXPECT_EQ(c.director.command_timeout, 120s);
  EXPECT_EQ(c.director.connect_timeout, 5s);  // untouched keys keep defaults
  std::vector<PortSpec> ports{{Protocol::imap, 143, TlsMode::plain},
                              {Protocol::pop3, 110, TlsMode::plain},
                              {Protocol::lmtp, 24, TlsMode::plain},
                              {Protocol::imap, 1143, TlsMode::starttls},
                              {Protocol::imap, 993, TlsMode::implicit}};
  EXPECT_EQ(c.probe.ports, ports);
  EXPECT_TRUE(c.probe.tls.verify_peer);
  EXPECT_EQ(c.probe.tls.verify_name, VerifyName::hostname);
  EXPECT_EQ(c.probe.tls.name_template, "%{backend_host}.mail.example");
  EXPECT_EQ(c.probe.tls.min_version, "1.3");
  EXPECT_EQ(c.probe.auth, AuthMechanism::plain);
  EXPECT_EQ(c.probe.max_line, 4096u);
  EXPECT_EQ(c.probe.max_bytes, 2u << 20);
  EXPECT_EQ(c.credentials.default_user, "probe-%{backend_host}");
  EXPECT_EQ(c.health.interval, 500ms);
  EXPECT_EQ(c.health.retry_count, 5);
  EXPECT_EQ(c.health.rapid_fails_needed, 6);
  EXPECT_DOUBLE_EQ(c.health.jitter_percent, 2.5);
  ASSERT_TRUE(c.health.suspect_interval);
  EXPECT_EQ(*c.health.suspect_interval, 2s);
  EXPECT_FALSE(c.health.down_interval);
  EXPECT_EQ(c.actions.flush_mode, FlushMode::flush);
  EXPECT_DOUBLE_EQ(c.actions.max_down_percent, 33.3);
  EXPECT_EQ(c.log.target, LogTarget::file);
  EXPECT_EQ(c.log.syslog_facility, "local5");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_FALSE(c.http.enabled);
  EXPECT_EQ(c.http.listen, "[::1]:0");
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.event_log, "/var/log/poolwatch-events.jsonl");
}

TEST(ConfigLoad, EmptyFileOrOnlyCommentsGivesDefaults) {
  EXPECT_EQ(load_config_string("", "empty.yml"), Config{});
  EXPECT_EQ(load_config_string("# nothing here\n\n", "comments.yml"), Config{});
  EXPECT_EQ(load_config_string("health:\n", "empty-section.yml"), Config{});
  test::TempDir dir;
  EXPECT_EQ(load_config_file(dir.write("empty.yml", "")), Config{});
}

TEST(ConfigLoad, SectionOrderDoesNotMatterForSslPorts) {
  Config c = load_config_string("probe:\n  ssl_ports: [993]\n  ports: [110]\n", "t.yml");
  std::vector<PortSpec> ports{{Protocol::pop3, 110, TlsMode::plain},
                              {Protocol::imap, 993, TlsMode::implicit}};
  EXPECT_EQ(c.probe.ports, ports);
}

TEST(ConfigErrors, UnknownTopLevelKeyNamesLineAndSuggests) {
  EXPECT_EQ(load_error("director:\n  socket: /x\npidfil: /run/p.pid\n"),
            "t.yml:3: pidfil: unknown key (did you mean 'pidfile'?)");
  // A key that belongs in a section is pointed there.
  EXPECT_EQ(load_error("interval: 5\n"),
            "t.yml:1: interval: unknown key (did you mean 'health.interval'?)");
  EXPECT_EQ(load_error("\n\nfrobnicate: 1\n"), "t.yml:3: frobnicate: unknown key");
}

TEST(ConfigErrors, UnknownNestedKeyNamesLineAndSuggests) {
  EXPECT_EQ(load_error("health:\n  interval: 5\n  retry_cuont: 3\n"),
            "t.yml:3: health.retry_cuont: unknown key (did you mean 'retry_count'?)");
  EXPECT_EQ(load_error("probe:\n  tls:\n    verfy_peer: true\n"),
            "t.yml:3: probe.tls.verfy_peer: unknown key (did you mean 'verify_peer'?)");
  EXPECT_EQ(load_error("probe:\n  ports:\n    - {protocol: imap, prot: 143}\n"),
            "t.yml:3: probe.ports[0]: unknown key 'prot' (did you mean 'port'?)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(load_error("health:\n  retry_count: three\n"),
            "t.yml:2: health.retry_count: expected a whole number, got 'three'");
  EXPECT_EQ(load_error("health:\n  retry_count: 2.5\n"),
            "t.yml:2: health.retry_count: expected a whole number, got '2.5'");
  EXPECT_EQ(load_error("http:\n  enabled: maybe\n"),
            "t.yml:2: http.enabled: expected true or false, got 'maybe'");
  EXPECT_EQ(load_error("health: 5\n"),
            "t.yml:1: health: expected a mapping of keys (this is a section)");
  EXPECT_EQ(load_error("pidfile: [a, b]\n"), "t.yml:1: pidfile: expected a string, got a list");
  EXPECT_EQ(load_error("dry_run:\n"), "t.yml:1: dry_run: expected true or false, got nothing");
  EXPECT_THAT(load_error("health:\n  interval: soon\n"),
              StartsWith("t.yml:2: health.interval: invalid duration 'soon'"));
  EXPECT_EQ(load_error("actions:\n  flush_mode: HOST-FLUSH\n"),
            "t.yml:2: actions.flush_mode: must be one of reset-users, flush, none (got "
            "'HOST-FLUSH')");
  EXPECT_EQ(load_error("- a\n- b\n"),
            "t.yml:1: the top level must be a mapping of keys (is this a poolwatch config "
            "file? poolmon's -c credential file is --credfile in poolwatch)");
  EXPECT_EQ(load_error("probe:\n  max_bytes: lots\n"),
            "t.yml:2: probe.max_bytes: expected a byte count (8192, 64k, 1M), got 'lots'");
}

TEST(ConfigErrors, OutOfRangeValues) {
  EXPECT_EQ(load_error("health:\n  retry_count: 0\n"),
            "t.yml:2: health.retry_count: must be between 1 and 100 (got 0)");
  EXPECT_EQ(load_error("health:\n  interval: 0\n"),
            "t.yml:2: health.interval: must be at least 0.05 s and at most 86400 s (got 0 s)");
  // A typo's tiny value would make a busy loop of probes and HOST-LISTs.
  EXPECT_EQ(load_error("health:\n  interval: 1e-300\n"),
            "t.yml:2: health.interval: must be at least 0.05 s and at most 86400 s (got 1e-300 s)");
  EXPECT_EQ(load_error("director:\n  reconnect_initial: 10ms\n"),
            "t.yml:2: director.reconnect_initial: must be at least 0.05 s and at most 3600 s (got "
            "0.01 s)");
  EXPECT_EQ(load_error("health:\n  rapid_interval: 50ms\n  suspect_interval: 0.001\n"),
            "t.yml:3: health.suspect_interval: must be at least 0.05 s and at most 86400 s (got "
            "0.001 s)");
  EXPECT_THAT(load_error("health:\n  timeout: -1\n"),
              AllOf(StartsWith("t.yml:2: health.timeout: "), HasSubstr("negative")));
  EXPECT_EQ(load_error("actions:\n  max_down_percent: 0\n"),
            "t.yml:2: actions.max_down_percent: must be greater than 0 and at most 100 (got 0)");
  EXPECT_EQ(load_error("actions:\n  max_down_percent: 100.5\n"),
            "t.yml:2: actions.max_down_percent: must be greater than 0 and at most 100 (got "
            "100.5)");
  EXPECT_EQ(load_error("log:\n  level: verbose\n"),
            "t.yml:2: log.level: must be one of trace, debug, info, warn, error (got 'verbose')");
  EXPECT_EQ(load_error("log:\n  syslog_facility: local8\n"),
            "t.yml:2: log.syslog_facility: must be one of daemon, mail, user, local0 ... local7 "
            "(got 'local8')");
  EXPECT_EQ(load_error("http:\n  listen: mailhost:9167\n"),
            "t.yml:2: http.listen: invalid listen address 'mailhost:9167': 'mailhost' is not an "
            "IP address or localhost");
  EXPECT_EQ(load_error("http:\n  listen: 127.0.0.1:99999\n"),
            "t.yml:2: http.listen: port must be between 0 and 65535 (got 99999)");
  EXPECT_EQ(load_error("probe:\n  tls:\n    min_version: 1.1\n"),
            "t.yml:3: probe.tls.min_version: must be 1.2 or 1.3 (got '1.1')");
  EXPECT_EQ(load_error("probe:\n  max_line: 100\n"),
            "t.yml:2: probe.max_line: must be between 512 and 1048576 bytes (got 100)");
}

TEST(ConfigErrors, MaxDownPercentHundredIsAccepted) {
  EXPECT_EQ(load_error("actions:\n  max_down_percent: 100\n"), "");
}

TEST(ConfigLoad, MaxDownCountsIsOwnByDefaultOrAll) {
  EXPECT_EQ(Config{}.actions.max_down_counts, GuardCounts::own);
  EXPECT_EQ(
      load_config_string("actions:\n  max_down_counts: all\n", "t.yml").actions.max_down_counts,
      GuardCounts::all);
  EXPECT_EQ(
      load_config_string("actions:\n  max_down_counts: own\n", "t.yml").actions.max_down_counts,
      GuardCounts::own);
  EXPECT_EQ(load_error("actions:\n  max_down_counts: admins\n"),
            "t.yml:2: actions.max_down_counts: must be one of own, all (got 'admins')");
}

TEST(ConfigErrors, BadPortsNameTheListElementAndItsLine) {
  EXPECT_EQ(load_error("probe:\n  ports:\n    - IMAP:143\n    - IMAP:0\n"),
            "t.yml:4: probe.ports[1]: port must be between 1 and 65535 (got 0)");
  EXPECT_EQ(load_error("probe:\n  ports: [70000]\n"),
            "t.yml:2: probe.ports[0]: port must be between 1 and 65535 (got 70000)");
  EXPECT_EQ(load_error("probe:\n  ports:\n    - SMTP:25\n"),
            "t.yml:3: probe.ports[0]: unknown protocol 'SMTP' in port 'SMTP:25' (use IMAP, POP3 "
            "or LMTP)");
  EXPECT_EQ(load_error("probe:\n  ports:\n    - IMAP143\n"),
            "t.yml:3: probe.ports[0]: invalid port number 'IMAP143'");
  EXPECT_EQ(load_error("probe:\n  ports:\n    - {protocol: imap}\n"),
            "t.yml:3: probe.ports[0]: missing 'port'");
  EXPECT_EQ(load_error("probe:\n  ports:\n    - {port: 143, tls: ssl}\n"),
            "t.yml:3: probe.ports[0]: tls: must be plain, implicit or starttls (got 'ssl')");
  EXPECT_EQ(load_error("probe:\n  ports: {port: 143}\n"),
            "t.yml:2: probe.ports: expected a list of ports, got a mapping");
}

TEST(ConfigErrors, CrossFieldRulesNameTheKeyAndLine) {
  EXPECT_EQ(load_error("health:\n  rapid_rounds: 5\n  rapid_fails_needed: 6\n"),
            "t.yml:3: health.rapid_fails_needed: must not exceed health.rapid_rounds (6 > 5)");
  // The default rapid_fails_needed (8) against a smaller rapid_rounds: the file line of
  // the key that is set is not known for the other, so only the origin is named.
  EXPECT_EQ(load_error("health:\n  rapid_rounds: 5\n"),
            "t.yml: health.rapid_fails_needed: must not exceed health.rapid_rounds (8 > 5)");
  EXPECT_EQ(load_error("log:\n  target: file\n"),
            "t.yml: log.file: must name the file, since log.target is file");
  EXPECT_EQ(load_error("probe:\n  ports: []\n"),
            "t.yml:2: probe.ports: at least one port must be checked");
  EXPECT_EQ(load_error("probe:\n  ports: [143, 'IMAP:143']\n"),
            "t.yml:2: probe.ports: IMAP:143 (plain) is listed twice");
  EXPECT_EQ(load_error("probe:\n  max_line: 64k\n  max_bytes: 32k\n"),
            "t.yml:2: probe.max_line: must not exceed probe.max_bytes (65536 > 32768)");
  EXPECT_EQ(load_error("director:\n  reconnect_initial: 2m\n"),
            "t.yml: director.reconnect_max: must not be less than director.reconnect_initial "
            "(60 s < 120 s)");
  EXPECT_EQ(load_error("credentials:\n  default_password_file: /p\n"),
            "t.yml:2: credentials.default_password_file: is set but credentials.default_user is "
            "empty");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(load_error("health:\n  interval: 5\n  interval: 6\n"),
            "t.yml:3: health.interval: duplicate key (first set on line 2)");
}

TEST(ConfigErrors, MalformedYamlInOurWords) {
  const std::string error = load_error("health:\n  interval: [1, 2\n  timeout: 3\n");
  EXPECT_THAT(error, StartsWith("t.yml:"));
  EXPECT_THAT(error, HasSubstr("malformed YAML"));
  EXPECT_THAT(error, Not(HasSubstr("yaml-cpp")));
  EXPECT_EQ(load_error("a: b: c\n"), "t.yml:1: malformed YAML: illegal map value");
  EXPECT_THAT(load_error("health:\n\tinterval: 5\n"), StartsWith("t.yml:2: malformed YAML"));
}

TEST(ConfigErrors, NonMappingFileIsNotEchoed) {
  // A poolmon credfile passed as the config by mistake: its password must not show.
  const std::string error = load_error("probeuser\nhunter2\n");
  EXPECT_THAT(error, StartsWith("t.yml:1: the top level must be a mapping"));
  EXPECT_THAT(error, Not(HasSubstr("hunter2")));
}

TEST(ConfigErrors, LongValuesAreTruncatedInMessages) {
  const std::string error = load_error("health:\n  interval: " + std::string(5000, 'x') + "\n");
  EXPECT_LT(error.size(), 300u);
  EXPECT_THAT(error, HasSubstr("...'"));
}

TEST(ConfigFile, MissingOrUnreadableFileIsAnError) {
  test::TempDir dir;
  try {
    load_config_file(dir.path() + "/missing.yml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read config file '" + dir.path() +
                                         "/missing.yml': No such file or directory");
  }
  try {
    load_config_file(dir.path());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Is a directory"));
  }
}

TEST(ConfigFile, ErrorsNameTheFileAsGiven) {
  test::TempDir dir;
  const std::string path = dir.write("p.yml", "health:\n  retry_count: 0\n");
  try {
    load_config_file(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":2: health.retry_count: must be between 1 and 100 (got 0)");
  }
}

TEST(ConfigFile, OversizedFileIsRejected) {
  test::TempDir dir;
  const std::string path = dir.write("big.yml", "# " + std::string(2 << 20, 'x') + "\n");
  EXPECT_THROW(load_config_file(path), ConfigError);
}

TEST(ApplySetting, SetsEachKindOfKey) {
  Config c;
  apply_setting(c, "health.retry_count", "5");
  apply_setting(c, "health.interval", "2m");
  apply_setting(c, "health.down_interval", "30");
  apply_setting(c, "probe.tls.verify_peer", "yes");
  apply_setting(c, "actions.flush_mode", "none");
  apply_setting(c, "actions.max_down_percent", "25");
  apply_setting(c, "probe.max_bytes", "64k");
  apply_setting(c, "credentials.default_user", "probe-%{backend_host}");
  apply_setting(c, "actions.on_transition", "/usr/local/bin/notify --channel ops: {x}");
  apply_setting(c, "probe.ports", "[IMAP:143, {protocol: pop3, port: 110, tls: starttls}]");
  apply_setting(c, "probe.ssl_ports", "IMAP:993,POP3:995");
  EXPECT_EQ(c.health.retry_count, 5);
  EXPECT_EQ(c.health.interval, 120s);
  EXPECT_EQ(c.health.down_interval, Seconds(30));
  EXPECT_TRUE(c.probe.tls.verify_peer);
  EXPECT_EQ(c.actions.flush_mode, FlushMode::none);
  EXPECT_DOUBLE_EQ(c.actions.max_down_percent, 25);
  EXPECT_EQ(c.probe.max_bytes, 65536u);
  // String keys take the text verbatim, whatever YAML would make of it.
  EXPECT_EQ(c.credentials.default_user, "probe-%{backend_host}");
  EXPECT_EQ(c.actions.on_transition, "/usr/local/bin/notify --channel ops: {x}");
  std::vector<PortSpec> ports{{Protocol::imap, 143, TlsMode::plain},
                              {Protocol::pop3, 110, TlsMode::starttls},
                              {Protocol::imap, 993, TlsMode::implicit},
                              {Protocol::pop3, 995, TlsMode::implicit}};
  EXPECT_EQ(c.probe.ports, ports);
  // An empty value clears an optional duration and a string.
  apply_setting(c, "health.down_interval", "");
  apply_setting(c, "credentials.default_user", "");
  EXPECT_FALSE(c.health.down_interval);
  EXPECT_EQ(c.credentials.default_user, "");
}

TEST(ApplySetting, ValidatesExactlyLikeTheFile) {
  // The same bad value gives the same message, minus the file position.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"health", "retry_count", "0"},       {"health", "retry_count", "x"},
      {"health", "interval", "0"},          {"health", "interval", "fast"},
      {"health", "suspect_interval", "0"},  {"http", "enabled", "maybe"},
      {"http", "listen", "mailhost:1"},     {"log", "level", "loud"},
      {"log", "syslog_facility", "kern"},   {"log", "target", "journal"},
      {"actions", "max_down_percent", "0"}, {"probe", "ports", "[IMAP:0]"},
      {"probe", "max_in_flight", "0"},
  };
  for (const auto& [section, key, value] : cases) {
    const std::string path = section + "." + key;
    const std::string from_file = load_error(section + ":\n  " + key + ": " + value + "\n");
    const std::string prefix = "t.yml:2: ";
    ASSERT_THAT(from_file, StartsWith(prefix)) << path;
    EXPECT_EQ(setting_error(path, value), from_file.substr(prefix.size())) << path;
  }
}

TEST(ApplySetting, UnknownKeysAndSections) {
  EXPECT_EQ(setting_error("health.retry_cuont", "3"),
            "health.retry_cuont: unknown key (did you mean 'retry_count'?)");
  EXPECT_EQ(setting_error("helth.retry_count", "3"),
            "helth.retry_count: unknown key (did you mean 'health.retry_count'?)");
  EXPECT_EQ(setting_error("interval", "3"),
            "interval: unknown key (did you mean 'health.interval'?)");
  EXPECT_EQ(setting_error("health", "3"),
            "health: is a section; set one of its keys, e.g. health.interval");
  EXPECT_EQ(setting_error("", "3"), "empty key path");
}

TEST(ApplySetting, LeavesCrossFieldRulesToValidate) {
  Config c;
  apply_setting(c, "health.rapid_rounds", "5");  // 8 needed > 5 rounds, for now
  EXPECT_THROW(validate(c), ConfigError);
  apply_setting(c, "health.rapid_fails_needed", "4");
  EXPECT_NO_THROW(validate(c));
}

TEST(Validate, ChecksProgrammaticConfigs) {
  EXPECT_NO_THROW(validate(Config{}));
  Config c;
  c.health.retry_count = 0;
  try {
    validate(c);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "health.retry_count: must be between 1 and 100 (got 0)");
  }
  c = Config{};
  c.log.syslog_facility = "bogus";
  EXPECT_THROW(validate(c), ConfigError);
  c = Config{};
  c.probe.ports.clear();
  EXPECT_THROW(validate(c), ConfigError);
}

// Every template key goes through the same parser at load: a typo in any of them stops
// the start-up with the key and the line, instead of failing every probe.
TEST(NameTemplateKeys, TlsNameTemplateTypoIsALoadError) {
  const auto error =
      load_error("probe:\n  tls:\n    name_template: \"%{backend_hostname}.mail\"\n");
  EXPECT_THAT(error, AllOf(HasSubstr("t.yml:3"), HasSubstr("probe.tls.name_template"),
                           HasSubstr("%{backend_hostname}"), HasSubstr("%{backend_host}")));
  EXPECT_THAT(load_error("probe:\n  tls:\n    name_template: \"mail-%\"\n"),
              HasSubstr("probe.tls.name_template"));
  EXPECT_EQ(load_error("probe:\n  tls:\n    name_template: \"%{backend_ip}.mail\"\n"), "");
}

TEST(NameTemplateKeys, UserAndRecipientTemplatesAreCheckedTheSameWay) {
  EXPECT_THAT(load_error("probe:\n  lmtp_to: \"%{user}@example.org\"\n"),
              AllOf(HasSubstr("probe.lmtp_to"), HasSubstr("%{user}")));
}

// A sockaddr_un holds at most 107 bytes and the NUL: a longer director.socket used to
// fail only inside the first connect, where the daemon lost the error and hung silently.
TEST(ConfigErrors, DirectorSocketMustFitASockaddrUn) {
  const std::string fits = "/" + std::string(106, 's');
  ASSERT_EQ(fits.size(), 107u);
  EXPECT_EQ(load_error("director:\n  socket: " + fits + "\n"), "");
  EXPECT_THAT(
      load_error("director:\n  socket: " + fits + "x\n"),
      AllOf(StartsWith("t.yml:2: director.socket: is 108 bytes long;"), HasSubstr("at most 107")));
  EXPECT_THAT(setting_error("director.socket", fits + "x"), StartsWith("director.socket: "));
  EXPECT_EQ(setting_error("director.socket", fits), "");
  EXPECT_EQ(load_error("director:\n  socket: \"/run/a\\0b\"\n"),
            "t.yml:2: director.socket: must not contain a NUL byte");
  EXPECT_EQ(load_error("director:\n  socket: \"\"\n"),
            "t.yml:2: director.socket: must not be empty");
}
