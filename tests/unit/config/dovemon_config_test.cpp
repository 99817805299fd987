#include "poolwatch/config/dovemon_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "poolwatch/common/text.hpp"

namespace poolwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

DovemonSettings parse_dovemon_yaml(const std::string& yaml) {
  return parse_dovemon_config(yaml, "dovemon.config.yml", "/etc/dovecot/dovemon.testaccounts.yml");
}

// The warnings about one key ("key: ...").
std::vector<std::string> warnings_for(const DovemonSettings& s, const std::string& key) {
  std::vector<std::string> found;
  for (const auto& w : s.warnings)
    if (w.starts_with(key + ": ")) found.push_back(w);
  return found;
}

std::string error_of(const std::string& yaml) {
  try {
    parse_dovemon_yaml(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DovemonConfig, EmptyFileGivesDovemonDefaults) {
  auto s = parse_dovemon_yaml("");
  const Config& c = s.config;
  EXPECT_EQ(c.health.interval, Seconds(10));
  EXPECT_EQ(c.health.timeout, Seconds(3));
  EXPECT_TRUE(c.health.timeout_growth);
  EXPECT_EQ(c.health.retry_count, 3);
  EXPECT_EQ(c.health.rapid_rounds, 10);
  EXPECT_EQ(c.health.rapid_fails_needed, 7);
  EXPECT_EQ(c.health.rapid_timeout, Seconds(2));
  EXPECT_EQ(c.probe.ports, (std::vector<PortSpec>{{Protocol::imap, 143, TlsMode::plain}}));
  EXPECT_TRUE(c.probe.imap_list);
  EXPECT_EQ(c.probe.auth, AuthMechanism::login);
  EXPECT_EQ(c.actions.flush_mode, FlushMode::reset_users);
  EXPECT_EQ(c.log.target, LogTarget::syslog);
  EXPECT_EQ(c.log.syslog_facility, "mail");
  EXPECT_EQ(c.credentials.test_accounts, "/etc/dovecot/dovemon.testaccounts.yml");
  EXPECT_FALSE(s.foreground);
  EXPECT_THAT(s.warnings, IsEmpty());
}

TEST(DovemonConfig, DocumentedExampleMapsWithoutWarnings) {
  auto s = parse_dovemon_yaml(R"(loglevel: 4
syslog_facility: 'local5'
director_admin_socket: /var/run/dovecot/director-admin
lockfile: /run/poolwatch/poolwatch.pid
auth: plain
poll_imap: yes
poll_pop3: no
poll_lmtp: no
imap_ssl: no
pop3_ssl: no
lmtp_ssl: no
interval: 10
timeout: 3
retry_count: 3
)");
  EXPECT_THAT(s.warnings, IsEmpty());
  EXPECT_EQ(s.config.log.level, "debug");
  EXPECT_EQ(s.config.log.syslog_facility, "local5");
}

TEST(DovemonConfig, Loglevel) {
  EXPECT_EQ(parse_dovemon_yaml("loglevel: 0").config.log.level, "info");
  EXPECT_EQ(parse_dovemon_yaml("loglevel: 1").config.log.level, "warn");
  EXPECT_EQ(parse_dovemon_yaml("loglevel: 2").config.log.level, "error");
  EXPECT_EQ(parse_dovemon_yaml("loglevel: 3").config.log.level, "debug");
  EXPECT_EQ(parse_dovemon_yaml("loglevel: 4").config.log.level, "debug");
  EXPECT_EQ(parse_dovemon_yaml("").config.log.level, "info");
  EXPECT_THAT(error_of("loglevel: -1"),
              HasSubstr("dovemon.config.yml:1: loglevel: must be between"));
  EXPECT_THAT(error_of("loglevel: loud"), HasSubstr("loglevel: expected an integer (got 'loud')"));
}

// Found by the dovemon_config fuzz harness: a warning quoted a value or an unknown key
// as it was, and YAML's escapes put any byte there (ESC, CR, NUL), into the log.
TEST(DovemonConfig, WarningsCarryNoControlBytes) {
  auto s = parse_dovemon_yaml(
      "syslog_facility: \"loc\\e[2J\\rforged\"\n"
      "\"odd\\x07key\": 1\n"
      "logger_socket_addr: \"/run/x\\0y\"\n");
  ASSERT_EQ(s.warnings.size(), 3u);
  for (const auto& warning : s.warnings) EXPECT_FALSE(has_control_bytes(warning)) << warning;
  EXPECT_THAT(s.warnings[0], HasSubstr("'loc?[2J?forged' is not supported"));
}

TEST(DovemonConfig, Debug) {
  auto on = parse_dovemon_yaml("loglevel: 0\ndebug: True");
  EXPECT_TRUE(on.foreground);
  EXPECT_EQ(on.config.log.target, LogTarget::stderr_);
  EXPECT_EQ(on.config.log.level, "debug");
  auto off = parse_dovemon_yaml("debug: False");
  EXPECT_FALSE(off.foreground);
  EXPECT_EQ(off.config.log.target, LogTarget::syslog);
}

TEST(DovemonConfig, BooleansAsDovemonAcceptsThem) {
  for (const char* yes : {"True", "true", "yes"})
    EXPECT_TRUE(
        parse_dovemon_yaml(std::string("use_host_flush: ") + yes).config.actions.flush_mode ==
        FlushMode::flush)
        << yes;
  for (const char* no : {"False", "false", "no"})
    EXPECT_TRUE(
        parse_dovemon_yaml(std::string("use_host_flush: ") + no).config.actions.flush_mode ==
        FlushMode::reset_users)
        << no;
  EXPECT_THAT(error_of("poll_imap: maybe"),
              HasSubstr("poll_imap: expected True/true/yes or False/false/no (got 'maybe')"));
  EXPECT_THAT(error_of("poll_imap: [yes]"), HasSubstr("poll_imap: expected a boolean"));
}

TEST(DovemonConfig, Lockfile) {
  auto s = parse_dovemon_yaml("lockfile: /run/poolwatch/dovemon.pid");
  EXPECT_EQ(s.config.pidfile, "/run/poolwatch/dovemon.pid");
  EXPECT_THAT(s.warnings, IsEmpty());
  auto legacy = parse_dovemon_yaml("lockfile: /var/lock/subsys/dovemon");
  EXPECT_EQ(legacy.config.pidfile, "/var/lock/subsys/dovemon");
  EXPECT_THAT(warnings_for(legacy, "lockfile"),
              ::testing::ElementsAre(HasSubstr("/run/poolwatch/")));
}

TEST(DovemonConfig, DirectorAdminSocket) {
  EXPECT_EQ(parse_dovemon_yaml("director_admin_socket: /srv/director-admin").config.director.socket,
            "/srv/director-admin");
  EXPECT_THAT(error_of("director_admin_socket: ''"), HasSubstr("director_admin_socket: must name"));
}

TEST(DovemonConfig, LoggerSocketAddr) {
  EXPECT_THAT(parse_dovemon_yaml("logger_socket_addr: /dev/log").warnings, IsEmpty());
  auto other = parse_dovemon_yaml("logger_socket_addr: /var/run/syslog");
  EXPECT_THAT(warnings_for(other, "logger_socket_addr"),
              ::testing::ElementsAre(HasSubstr("cannot be honoured")));
}

TEST(DovemonConfig, SyslogFacility) {
  EXPECT_EQ(parse_dovemon_yaml("syslog_facility: local5").config.log.syslog_facility, "local5");
  auto odd = parse_dovemon_yaml("syslog_facility: auth");
  EXPECT_EQ(odd.config.log.syslog_facility, "mail");
  EXPECT_THAT(warnings_for(odd, "syslog_facility"), ::testing::ElementsAre(HasSubstr("'auth'")));
}

TEST(DovemonConfig, Auth) {
  EXPECT_EQ(parse_dovemon_yaml("auth: plain").config.probe.auth, AuthMechanism::login);
  EXPECT_EQ(parse_dovemon_yaml("auth: sasl").config.probe.auth, AuthMechanism::plain);
  EXPECT_THAT(error_of("auth: kerberos"), HasSubstr("auth: must be plain or sasl"));
}

TEST(DovemonConfig, Interval) {
  EXPECT_EQ(parse_dovemon_yaml("interval: 30").config.health.interval, Seconds(30));
  EXPECT_EQ(parse_dovemon_yaml("interval: 2.5").config.health.interval, Seconds(2.5));
  EXPECT_THAT(error_of("interval: 0"), HasSubstr("interval: must be at least 0.05 and at most"));
  EXPECT_THAT(error_of("interval: 1e-300"), HasSubstr("interval: must be at least 0.05"));
  EXPECT_THAT(error_of("interval: 10s"), HasSubstr("interval: expected a number of seconds"));
}

TEST(DovemonConfig, TimeoutGrows) {
  auto s = parse_dovemon_yaml("timeout: 4");
  EXPECT_EQ(s.config.health.timeout, Seconds(4));
  EXPECT_TRUE(s.config.health.timeout_growth);
}

TEST(DovemonConfig, RetryCount) {
  EXPECT_EQ(parse_dovemon_yaml("retry_count: 5").config.health.retry_count, 5);
  auto zero = parse_dovemon_yaml("retry_count: 0");
  EXPECT_EQ(zero.config.health.retry_count, 1);
  EXPECT_THAT(warnings_for(zero, "retry_count"), ::testing::SizeIs(1));
}

TEST(DovemonConfig, RapidRounds) {
  EXPECT_EQ(parse_dovemon_yaml("rapid_rounds: 12").config.health.rapid_rounds, 12);
  auto none = parse_dovemon_yaml("rapid_rounds: 0");
  EXPECT_EQ(none.config.health.rapid_rounds, 0);
  EXPECT_THAT(none.warnings, IsEmpty());
  EXPECT_THAT(error_of("rapid_rounds: 101"), HasSubstr("rapid_rounds: must be between 0 and 100"));
}

TEST(DovemonConfig, RapidFailsNeeded) {
  EXPECT_EQ(parse_dovemon_yaml("rapid_fails_needed: 8").config.health.rapid_fails_needed, 8);
  auto zero = parse_dovemon_yaml("rapid_fails_needed: 0");
  EXPECT_EQ(zero.config.health.rapid_fails_needed, 1);
  EXPECT_THAT(warnings_for(zero, "rapid_fails_needed"), ::testing::SizeIs(1));
  EXPECT_THAT(error_of("rapid_rounds: 5\nrapid_fails_needed: 6"),
              HasSubstr("rapid_fails_needed (6) exceeds rapid_rounds (5)"));
}

TEST(DovemonConfig, RapidpollTimeout) {
  EXPECT_EQ(parse_dovemon_yaml("rapidpoll_timeout: 1.5").config.health.rapid_timeout, Seconds(1.5));
}

TEST(DovemonConfig, PollImapAndPorts) {
  EXPECT_EQ(parse_dovemon_yaml("imap_port: 1143").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::imap, 1143, TlsMode::plain}}));
  EXPECT_EQ(parse_dovemon_yaml("imap_ssl: yes").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::imap, 993, TlsMode::implicit}}));
  EXPECT_EQ(parse_dovemon_yaml("imap_ssl: yes\nimaps_port: 1993").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::imap, 1993, TlsMode::implicit}}));
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_pop3: yes").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::pop3, 110, TlsMode::plain}}));
  EXPECT_THAT(error_of("imap_port: 70000"), HasSubstr("imap_port: must be between 1 and 65535"));
  EXPECT_THAT(error_of("poll_imap: no"), HasSubstr("nothing would be probed"));
}

TEST(DovemonConfig, PollImapList) {
  EXPECT_FALSE(parse_dovemon_yaml("poll_imap_list: no").config.probe.imap_list);
  EXPECT_TRUE(parse_dovemon_yaml("poll_imap_list: yes").config.probe.imap_list);
}

TEST(DovemonConfig, PollImapSelect) {
  EXPECT_TRUE(parse_dovemon_yaml("poll_imap_select: yes").config.probe.imap_select);
  EXPECT_FALSE(parse_dovemon_yaml("poll_imap_select: no").config.probe.imap_select);
}

TEST(DovemonConfig, PollImapAppendAndExpunge) {
  auto both = parse_dovemon_yaml("poll_imap_append: yes\npoll_imap_expunge: yes");
  EXPECT_TRUE(both.config.probe.imap_append_expunge);
  EXPECT_THAT(both.warnings, IsEmpty());

  auto append = parse_dovemon_yaml("poll_imap_append: yes");
  EXPECT_TRUE(append.config.probe.imap_append_expunge);
  EXPECT_THAT(warnings_for(append, "poll_imap_append"), ::testing::SizeIs(1));

  auto expunge = parse_dovemon_yaml("poll_imap_expunge: yes");
  EXPECT_FALSE(expunge.config.probe.imap_append_expunge);
  EXPECT_TRUE(expunge.config.probe.imap_select);
  EXPECT_THAT(warnings_for(expunge, "poll_imap_expunge"),
              ::testing::ElementsAre(HasSubstr("cannot be honoured")));
}

TEST(DovemonConfig, PollPop3AndPorts) {
  EXPECT_EQ(parse_dovemon_yaml("poll_pop3: yes").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::imap, 143, TlsMode::plain},
                                   {Protocol::pop3, 110, TlsMode::plain}}));
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_pop3: yes\npop3_port: 1110").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::pop3, 1110, TlsMode::plain}}));
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_pop3: yes\npop3_ssl: true\npop3s_port: 1995")
                .config.probe.ports,
            (std::vector<PortSpec>{{Protocol::pop3, 1995, TlsMode::implicit}}));
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_pop3: yes\npop3_ssl: true").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::pop3, 995, TlsMode::implicit}}));
}

TEST(DovemonConfig, PollPop3Stat) {
  EXPECT_TRUE(parse_dovemon_yaml("poll_pop3_stat: yes").config.probe.pop3_stat);
  EXPECT_FALSE(parse_dovemon_yaml("poll_pop3_stat: no").config.probe.pop3_stat);
}

TEST(DovemonConfig, PollPop3DeleteImpliesStat) {
  auto s = parse_dovemon_yaml("poll_pop3_delete: yes");
  EXPECT_TRUE(s.config.probe.pop3_dele);
  EXPECT_TRUE(s.config.probe.pop3_stat);
}

TEST(DovemonConfig, PollLmtpAndPort) {
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_lmtp: yes").config.probe.ports,
            (std::vector<PortSpec>{{Protocol::lmtp, 24, TlsMode::plain}}));
  EXPECT_EQ(parse_dovemon_yaml("poll_imap: no\npoll_lmtp: yes\nlmtp_port: 2424\nlmtp_ssl: yes")
                .config.probe.ports,
            (std::vector<PortSpec>{{Protocol::lmtp, 2424, TlsMode::implicit}}));
}

TEST(DovemonConfig, PollLmtpDeliver) {
  EXPECT_TRUE(parse_dovemon_yaml("poll_lmtp_deliver: yes").config.probe.lmtp_deliver);
  EXPECT_FALSE(parse_dovemon_yaml("poll_lmtp_deliver: no").config.probe.lmtp_deliver);
}

TEST(DovemonConfig, PollUnknownBackends) {
  EXPECT_FALSE(
      parse_dovemon_yaml("poll_unknown_backends: no").config.credentials.poll_unknown_backends);
  EXPECT_TRUE(
      parse_dovemon_yaml("poll_unknown_backends: yes").config.credentials.poll_unknown_backends);
}

TEST(DovemonConfig, UseHostFlush) {
  EXPECT_EQ(parse_dovemon_yaml("use_host_flush: yes").config.actions.flush_mode, FlushMode::flush);
  EXPECT_EQ(parse_dovemon_yaml("use_host_flush: no").config.actions.flush_mode,
            FlushMode::reset_users);
}

TEST(DovemonConfig, UseDelayedDownIsReported) {
  EXPECT_THAT(parse_dovemon_yaml("use_delayed_down: no").warnings, IsEmpty());
  auto s = parse_dovemon_yaml("use_delayed_down: yes");
  EXPECT_THAT(warnings_for(s, "use_delayed_down"),
              ::testing::ElementsAre(HasSubstr("max_down_percent")));
}

TEST(DovemonConfig, DelayedDownDelayIsReported) {
  EXPECT_THAT(warnings_for(parse_dovemon_yaml("delayed_down_delay: 120"), "delayed_down_delay"),
              ::testing::ElementsAre(HasSubstr("no effect without use_delayed_down")));
  EXPECT_THAT(warnings_for(parse_dovemon_yaml("use_delayed_down: yes\ndelayed_down_delay: 120"),
                           "delayed_down_delay"),
              ::testing::ElementsAre(HasSubstr("cannot be honoured")));
}

TEST(DovemonConfig, DelayedDownLimitIsReported) {
  EXPECT_THAT(warnings_for(parse_dovemon_yaml("delayed_down_limit: 2"), "delayed_down_limit"),
              ::testing::ElementsAre(HasSubstr("no effect without use_delayed_down")));
  EXPECT_THAT(warnings_for(parse_dovemon_yaml("use_delayed_down: yes\ndelayed_down_limit: 2"),
                           "delayed_down_limit"),
              ::testing::ElementsAre(HasSubstr("absolute count (2)")));
}

TEST(DovemonConfig, EmptyBeupdatescriptIsNoHook) {
  auto empty = parse_dovemon_yaml("beupdatescript: ''");
  EXPECT_EQ(empty.config.actions.on_transition, "");
  EXPECT_THAT(empty.warnings, IsEmpty());
}

TEST(DovemonConfig, UnknownKeysAreReportedWithHint) {
  auto s = parse_dovemon_yaml("logelevel: 4\nfrobnicate: 1");
  EXPECT_THAT(s.warnings, ::testing::ElementsAre(
                              "logelevel: unknown dovemon key, ignored (did you mean loglevel?)",
                              "frobnicate: unknown dovemon key, ignored"));
}

TEST(DovemonConfig, DuplicateKeyLastWins) {
  auto s = parse_dovemon_yaml("interval: 10\ninterval: 20");
  EXPECT_EQ(s.config.health.interval, Seconds(20));
  EXPECT_THAT(warnings_for(s, "interval"), ::testing::ElementsAre(HasSubstr("lines 1 and 2")));
}

TEST(DovemonConfig, MalformedInputIsAConfigError) {
  EXPECT_THAT(error_of("- a\n- b"), HasSubstr("expected a mapping"));
  EXPECT_THAT(error_of("interval: [1"), HasSubstr("dovemon.config.yml:"));
  EXPECT_THAT(error_of("\n\ntimeout: {a: 1}"), HasSubstr("dovemon.config.yml:3: timeout:"));
}

class DovemonFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "dovemon_test.XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

// The script must exist and be executable: the config check looks at it.
TEST_F(DovemonFileTest, Beupdatescript) {
  write("be-update", "#!/bin/sh\nexit 0\n");
  const auto script = (dir_ / "be-update").string();
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  auto s = parse_dovemon_yaml("beupdatescript: " + script);
  EXPECT_EQ(s.config.actions.on_transition, script);
  EXPECT_THAT(warnings_for(s, "beupdatescript"), ::testing::SizeIs(1));
}

TEST_F(DovemonFileTest, TestAccountsNextToConfigAreMapped) {
  write("dovemon.config.yml", "interval: 15\n");
  write("dovemon.testaccounts.yml", "10.2.2.75:\n  username: u\n  password: p\n");
  auto s = load_dovemon_config((dir_ / "dovemon.config.yml").string());
  EXPECT_EQ(s.config.health.interval, Seconds(15));
  EXPECT_EQ(s.config.credentials.test_accounts, (dir_ / "dovemon.testaccounts.yml").string());
  EXPECT_THAT(s.warnings, IsEmpty());
}

TEST_F(DovemonFileTest, MissingTestAccountsIsReported) {
  write("dovemon.config.yml", "interval: 15\n");
  auto s = load_dovemon_config((dir_ / "dovemon.config.yml").string());
  EXPECT_EQ(s.config.credentials.test_accounts, "");
  EXPECT_THAT(warnings_for(s, "test accounts"), ::testing::SizeIs(1));
}

TEST_F(DovemonFileTest, ExplicitTestAccountsPath) {
  write("dovemon.config.yml", "");
  auto s = load_dovemon_config((dir_ / "dovemon.config.yml").string(), "/etc/other.yml");
  EXPECT_EQ(s.config.credentials.test_accounts, "/etc/other.yml");
}

TEST_F(DovemonFileTest, MissingFileIsAConfigError) {
  EXPECT_THROW(load_dovemon_config((dir_ / "absent.yml").string()), ConfigError);
}

}  // namespace
}  // namespace poolwatch
