#include "poolwatch/cli/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "poolwatch/config/config_loader.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

struct Parsed {
  std::variant<CliOptions, int> result;
  std::string out;
  std::string err;

  bool ok() const { return std::holds_alternative<CliOptions>(result); }
  const CliOptions& options() const { return std::get<CliOptions>(result); }
  int exit_code() const { return std::get<int>(result); }
};

Parsed parse_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "poolwatch");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  auto result = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  return {std::move(result), out.str(), err.str()};
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "poolwatch-cli-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    empty_config_ = write("empty.yml", "");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  // Parses with an explicit, empty config file so the host's /etc never matters.
  Parsed parse_with_defaults(std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", empty_config_});
    return parse_cli(std::move(args));
  }

  CliOptions expect_ok(const Parsed& parsed) {
    EXPECT_TRUE(parsed.ok()) << parsed.err;
    return parsed.ok() ? parsed.options() : CliOptions{};
  }

  std::string dir_;
  std::string empty_config_;
};

}  // namespace

TEST_F(Cli, NoArgumentsRunsTheDaemonWithDefaults) {
  struct stat info {};
  if (::stat(default_config_path, &info) == 0) GTEST_SKIP() << default_config_path << " exists";
  Parsed parsed = parse_cli({});
  const CliOptions& o = expect_ok(parsed);
  EXPECT_EQ(o.command, Command::run);
  EXPECT_EQ(o.config, Config{});
  EXPECT_EQ(o.config_path, "");
  EXPECT_FALSE(o.foreground);
  EXPECT_FALSE(o.once);
  EXPECT_FALSE(o.debug);
  EXPECT_EQ(parsed.out, "");
  EXPECT_EQ(parsed.err, "");
}

TEST_F(Cli, ExplicitConfigMustExist) {
  Parsed parsed = parse_cli({"-c", dir_ + "/missing.yml"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 2);
  EXPECT_EQ(parsed.err, "poolwatch: cannot read config file '" + dir_ +
                            "/missing.yml': No such file or directory\n");
}

TEST_F(Cli, ConfigFileErrorsExitTwoWithTheFileLine) {
  std::string path = write("bad.yml", "health:\n  retry_count: 0\n");
  Parsed parsed = parse_cli({"--config", path});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 2);
  EXPECT_EQ(parsed.err,
            "poolwatch: " + path + ":2: health.retry_count: must be between 1 and 100 (got 0)\n");
}

// The command line's socket is checked like the file's: exit 2 naming the key.
TEST_F(Cli, ADirectorSocketPathTooLongForSockaddrUnExitsTwo) {
  const std::string too_long = "/run/" + std::string(103, 'd');
  Parsed parsed = parse_with_defaults({"--socket", too_long});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 2);
  EXPECT_THAT(parsed.err, StartsWith("poolwatch: --socket /run/"));
  EXPECT_THAT(parsed.err, HasSubstr(": director.socket: is 108 bytes long;"));
}

TEST_F(Cli, ConfigFileIsReadAndNamed) {
  std::string path = write("p.yml", "health:\n  interval: 20\ndirector:\n  socket: /from/file\n");
  const CliOptions& o = expect_ok(parse_cli({"-c", path}));
  EXPECT_EQ(o.config_path, path);
  EXPECT_EQ(o.config.health.interval, 20s);
  EXPECT_EQ(o.config.director.socket, "/from/file");
}

TEST_F(Cli, CommandLineBeatsFileAndLastWordWins) {
  std::string path = write("p.yml", "health:\n  interval: 20\n");
  EXPECT_EQ(expect_ok(parse_cli({"-c", path})).config.health.interval, 20s);
  EXPECT_EQ(expect_ok(parse_cli({"-c", path, "--interval", "30"})).config.health.interval, 30s);
  EXPECT_EQ(expect_ok(parse_cli({"-c", path, "--set", "health.interval=40", "--interval", "50"}))
                .config.health.interval,
            50s);
  EXPECT_EQ(expect_ok(parse_cli({"-c", path, "--interval", "50", "--set", "health.interval=40"}))
                .config.health.interval,
            40s);
  EXPECT_EQ(expect_ok(parse_cli({"-c", path, "-i", "1", "-i", "2m"})).config.health.interval, 120s);
}

TEST_F(Cli, NamedOptionsSetTheirKeys) {
  const CliOptions& o = expect_ok(parse_with_defaults(
      {"--socket", "/run/da", "--timeout", "3", "--credfile", "/etc/poolmon.cred", "--pidfile",
       "/run/pw.pid", "--state-file", "/var/lib/pw.json", "--ssl-verify", "--dry-run"}));
  EXPECT_EQ(o.config.director.socket, "/run/da");
  EXPECT_EQ(o.config.health.timeout, 3s);
  EXPECT_EQ(o.config.credentials.credfile, "/etc/poolmon.cred");
  EXPECT_EQ(o.config.pidfile, "/run/pw.pid");
  EXPECT_EQ(o.config.state_file, "/var/lib/pw.json");
  EXPECT_TRUE(o.config.probe.tls.verify_peer);
  EXPECT_TRUE(o.config.dry_run);

  const CliOptions& short_forms = expect_ok(
      parse_with_defaults({"-S", "/run/da2", "-t", "4", "-i", "6", "-k", "/run/k.pid", "-n"}));
  EXPECT_EQ(short_forms.config.director.socket, "/run/da2");
  EXPECT_EQ(short_forms.config.health.timeout, 4s);
  EXPECT_EQ(short_forms.config.health.interval, 6s);
  EXPECT_EQ(short_forms.config.pidfile, "/run/k.pid");
  EXPECT_TRUE(short_forms.config.dry_run);
}

TEST_F(Cli, FlagsCanBeTurnedOffAgainAfterTheFile) {
  std::string path = write("p.yml", "probe:\n  tls:\n    verify_peer: true\ndry_run: true\n");
  const CliOptions& o = expect_ok(parse_cli({"-c", path, "--ssl-verify=0", "--dry-run=false"}));
  EXPECT_FALSE(o.config.probe.tls.verify_peer);
  EXPECT_FALSE(o.config.dry_run);
}

TEST_F(Cli, RunFlags) {
  const CliOptions& o = expect_ok(parse_with_defaults({"-f", "--once"}));
  EXPECT_TRUE(o.foreground);
  EXPECT_TRUE(o.once);
  EXPECT_FALSE(o.debug);
  const CliOptions& debug = expect_ok(parse_with_defaults({"--debug"}));
  EXPECT_TRUE(debug.debug);
  EXPECT_TRUE(debug.foreground);              // debug logging goes to the terminal
  EXPECT_EQ(debug.config.log.level, "info");  // the level is forced at logging setup
}

TEST_F(Cli, PortsReplaceTheConfiguredOnesThenAdd) {
  std::string path = write("p.yml", "probe:\n  ports: [IMAP:143, POP3:110]\n");
  const CliOptions& o = expect_ok(parse_cli({"-c", path, "--port", "LMTP:24", "-p", "2000"}));
  std::vector<PortSpec> expected{{Protocol::lmtp, 24, TlsMode::plain},
                                 {Protocol::imap, 2000, TlsMode::plain}};
  EXPECT_EQ(o.config.probe.ports, expected);

  const CliOptions& with_ssl = expect_ok(parse_cli({"-c", path, "--ssl", "IMAP:993", "-p", "143"}));
  std::vector<PortSpec> expected_ssl{{Protocol::imap, 993, TlsMode::implicit},
                                     {Protocol::imap, 143, TlsMode::plain}};
  EXPECT_EQ(with_ssl.config.probe.ports, expected_ssl);

  const CliOptions& only_ssl = expect_ok(parse_cli({"-c", path, "-s", "995"}));
  std::vector<PortSpec> expected_only{{Protocol::pop3, 995, TlsMode::implicit}};
  EXPECT_EQ(only_ssl.config.probe.ports, expected_only);
}

TEST_F(Cli, BadPortIsAConfigError) {
  Parsed parsed = parse_with_defaults({"--port", "IMAP143"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 2);
  EXPECT_EQ(parsed.err, "poolwatch: --port IMAP143: invalid port number 'IMAP143'\n");
  Parsed duplicate = parse_with_defaults({"--port", "143", "--port", "IMAP:143"});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.err, "poolwatch: probe.ports: IMAP:143 (plain) is listed twice\n");
}

TEST_F(Cli, LogfileChoosesTheTarget) {
  const CliOptions& file = expect_ok(parse_with_defaults({"--logfile", "/var/log/pw.log"}));
  EXPECT_EQ(file.config.log.target, LogTarget::file);
  EXPECT_EQ(file.config.log.file, "/var/log/pw.log");
  const CliOptions& syslog = expect_ok(parse_with_defaults({"-l", "syslog"}));
  EXPECT_EQ(syslog.config.log.target, LogTarget::syslog);
  std::string path = write("p.yml", "log:\n  target: syslog\n");
  const CliOptions& back = expect_ok(parse_cli({"-c", path, "-l", "stderr"}));
  EXPECT_EQ(back.config.log.target, LogTarget::stderr_);
}

TEST_F(Cli, SetReachesAnyKeyAndValidates) {
  const CliOptions& o = expect_ok(parse_with_defaults(
      {"--set", "health.retry_count=5", "--set", "probe.ports=[POP3:110]", "--set",
       "actions.flush_mode=none", "--set", "credentials.default_user=probe=%{backend_host}"}));
  EXPECT_EQ(o.config.health.retry_count, 5);
  EXPECT_EQ(o.config.probe.ports, (std::vector<PortSpec>{{Protocol::pop3, 110, TlsMode::plain}}));
  EXPECT_EQ(o.config.actions.flush_mode, FlushMode::none);
  EXPECT_EQ(o.config.credentials.default_user, "probe=%{backend_host}");  // split at the first =

  Parsed bad = parse_with_defaults({"--set", "health.retry_count=0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.exit_code(), 2);
  EXPECT_EQ(bad.err, "poolwatch: health.retry_count: must be between 1 and 100 (got 0)\n");

  Parsed unknown = parse_with_defaults({"--set", "health.retry_cuont=3"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.err,
            "poolwatch: health.retry_cuont: unknown key (did you mean 'retry_count'?)\n");

  Parsed no_equals = parse_with_defaults({"--set", "health.retry_count"});
  ASSERT_FALSE(no_equals.ok());
  EXPECT_EQ(no_equals.exit_code(), 2);
  EXPECT_EQ(no_equals.err, "poolwatch: --set 'health.retry_count': expected KEY=VALUE\n");
}

TEST_F(Cli, NamedOptionErrorsNameTheOption) {
  Parsed parsed = parse_with_defaults({"--interval", "0"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 2);
  EXPECT_EQ(parsed.err,
            "poolwatch: --interval 0: health.interval: must be at least 0.05 s and at most 86400 s "
            "(got 0 s)\n");
}

TEST_F(Cli, CrossFieldRulesApplyAfterAllOverrides) {
  Parsed too_few = parse_with_defaults({"--set", "health.rapid_rounds=5"});
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.err,
            "poolwatch: health.rapid_fails_needed: must not exceed health.rapid_rounds (8 > 5)\n");
  expect_ok(parse_with_defaults(
      {"--set", "health.rapid_rounds=5", "--set", "health.rapid_fails_needed=4"}));
}

TEST_F(Cli, UsageErrorsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--no-such-option"},
                                        {"--interval"},
                                        {"frobnicate"},
                                        {"probe"},
                                        {"run", "status"},
                                        {"probe", "--tls", "--starttls", "h"},
                                        {"probe", "--protocol", "smtp", "h"},
                                        {"probe", "--port", "0", "h"},
                                        {"probe", "--password-file", "/nonexistent/pw", "h"}}) {
    Parsed parsed = parse_with_defaults(args);
    ASSERT_FALSE(parsed.ok()) << args[0];
    EXPECT_EQ(parsed.exit_code(), 2) << args[0];
    EXPECT_THAT(parsed.err, StartsWith("poolwatch: ")) << args[0];
    EXPECT_EQ(parsed.out, "");
  }
}

TEST_F(Cli, HelpListsEveryOptionAndExitsZero) {
  Parsed parsed = parse_cli({"--help"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 0);
  EXPECT_EQ(parsed.err, "");
  for (const char* option : {"--config",
                             "-c,",
                             "--foreground",
                             "--dry-run",
                             "--debug",
                             "--once",
                             "--version",
                             "--help",
                             "--set KEY=VALUE",
                             "--socket",
                             "--interval",
                             "--timeout",
                             "--port",
                             "--ssl SPEC",
                             "--credfile",
                             "--logfile",
                             "--pidfile",
                             "--ssl-verify",
                             "--state-file",
                             "/etc/poolwatch/poolwatch.yml",
                             "run",
                             "probe",
                             "status"}) {
    EXPECT_THAT(parsed.out, HasSubstr(option)) << option;
  }

  Parsed probe = parse_cli({"probe", "--help"});
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.exit_code(), 0);
  for (const char* option : {"--protocol", "--tls", "--starttls", "--port", "--user",
                             "--password-file", "--master-user", "--ca", "HOST[:PORT]"}) {
    EXPECT_THAT(probe.out, HasSubstr(option)) << option;
  }
  Parsed status = parse_cli({"status", "--help"});
  for (const char* option : {"--json", "--url"}) EXPECT_THAT(status.out, HasSubstr(option));
}

TEST_F(Cli, VersionExitsZero) {
  Parsed parsed = parse_cli({"--version"});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.exit_code(), 0);
  EXPECT_EQ(parsed.out, "poolwatch " POOLWATCH_VERSION "\n");
}

TEST_F(Cli, GlobalOptionsMayFollowTheCommand) {
  std::string path = write("p.yml", "health:\n  interval: 20\n");
  const CliOptions& o = expect_ok(parse_cli({"run", "--once", "-c", path, "-n"}));
  EXPECT_EQ(o.command, Command::run);
  EXPECT_TRUE(o.once);
  EXPECT_TRUE(o.config.dry_run);
  EXPECT_EQ(o.config.health.interval, 20s);
}

TEST_F(Cli, ProbeArguments) {
  std::string password = write("pw", "secret\n");
  const CliOptions& o = expect_ok(
      parse_with_defaults({"probe", "--protocol", "POP3", "--tls", "--user", "probe@example.org",
                           "--password-file", password, "--master-user", "admin", "10.0.0.5:995"}));
  EXPECT_EQ(o.command, Command::probe);
  EXPECT_EQ(o.probe.target, "10.0.0.5");
  EXPECT_EQ(o.probe.port, 995);
  EXPECT_EQ(o.probe.protocol, Protocol::pop3);
  EXPECT_EQ(o.probe.tls, TlsMode::implicit);
  EXPECT_EQ(o.probe.user, "probe@example.org");
  EXPECT_EQ(o.probe.password_file, password);
  EXPECT_EQ(o.probe.master_user, "admin");

  const CliOptions& bare = expect_ok(parse_with_defaults({"probe", "backend1"}));
  EXPECT_EQ(bare.probe.target, "backend1");
  EXPECT_FALSE(bare.probe.port);
  EXPECT_FALSE(bare.probe.protocol);
  EXPECT_EQ(bare.probe.tls, TlsMode::plain);

  const CliOptions& v6 = expect_ok(parse_with_defaults({"probe", "--starttls", "[::1]:143"}));
  EXPECT_EQ(v6.probe.target, "::1");
  EXPECT_EQ(v6.probe.port, 143);
  EXPECT_EQ(v6.probe.tls, TlsMode::starttls);

  const CliOptions& v6_bare = expect_ok(parse_with_defaults({"probe", "--port", "24", "fd00::5"}));
  EXPECT_EQ(v6_bare.probe.target, "fd00::5");
  EXPECT_EQ(v6_bare.probe.port, 24);

  const CliOptions& same = expect_ok(parse_with_defaults({"probe", "--port", "993", "h:993"}));
  EXPECT_EQ(same.probe.port, 993);
}

TEST_F(Cli, ProbeTargetErrors) {
  Parsed conflict = parse_with_defaults({"probe", "--port", "993", "h:143"});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.exit_code(), 2);
  EXPECT_EQ(conflict.err, "poolwatch: probe: --port 993 contradicts h:143\n");
  for (const char* bad : {"h:0", "h:x", ":143", "[::1", "[::1]x"}) {
    Parsed parsed = parse_with_defaults({"probe", bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.exit_code(), 2);
    EXPECT_THAT(parsed.err, StartsWith("poolwatch: probe: ")) << bad;
  }
}

TEST_F(Cli, StatusArguments) {
  const CliOptions& o = expect_ok(parse_with_defaults({"status", "--json"}));
  EXPECT_EQ(o.command, Command::status);
  EXPECT_TRUE(o.status.json);
  EXPECT_EQ(o.status.url, "");  // the status client derives it from http.listen

  const CliOptions& url =
      expect_ok(parse_with_defaults({"status", "--url", "http://10.1.1.1:80/status"}));
  EXPECT_FALSE(url.status.json);
  EXPECT_EQ(url.status.url, "http://10.1.1.1:80/status");

  const CliOptions& listen =
      expect_ok(parse_with_defaults({"--set", "http.listen=0.0.0.0:8000", "status"}));
  EXPECT_EQ(listen.config.http.listen, "0.0.0.0:8000");
}
