// poolmon's command line, option by option: an operator moves OPTIONS= from
// /etc/default/poolmon to poolwatch and every option keeps its meaning (upstream 0.6 and
// the maintained fork). -c is the exception: it names poolwatch's config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "poolwatch/cli/cli.hpp"
#include "support/child_process.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;
using poolwatch::test::TempDir;
using ::testing::HasSubstr;

namespace {

class CliPoolmon : public ::testing::Test {
 protected:
  // With an empty config file, so that the host's /etc never matters.
  std::variant<CliOptions, int> parse(std::vector<std::string> args, bool empty_config = true) {
    if (empty_config) args.insert(args.begin(), {"-c", empty_config_});
    args.insert(args.begin(), "poolwatch");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    auto result = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
    out_ = out.str();
    err_ = err.str();
    return result;
  }

  CliOptions ok(std::vector<std::string> args) {
    auto result = parse(std::move(args));
    EXPECT_TRUE(std::holds_alternative<CliOptions>(result)) << err_;
    return std::holds_alternative<CliOptions>(result) ? std::get<CliOptions>(result) : CliOptions{};
  }

  int exit_code(std::vector<std::string> args, bool empty_config = true) {
    auto result = parse(std::move(args), empty_config);
    EXPECT_TRUE(std::holds_alternative<int>(result));
    return std::holds_alternative<int>(result) ? std::get<int>(result) : -1;
  }

  TempDir dir_;
  std::string empty_config_ = dir_.write("empty.yml", "");
  std::string out_, err_;
};

TEST_F(CliPoolmon, PortTakesANumberOrProtocolColonNumber) {
  const auto o = ok({"-p", "143", "--port=POP3:110", "--port", "lmtp:24", "-p", "IMAP:110"});
  EXPECT_EQ(o.config.probe.ports, (std::vector<PortSpec>{{Protocol::imap, 143, TlsMode::plain},
                                                         {Protocol::pop3, 110, TlsMode::plain},
                                                         {Protocol::lmtp, 24, TlsMode::plain},
                                                         {Protocol::imap, 110, TlsMode::plain}}));
}

TEST_F(CliPoolmon, PortTypoIsRefusedInsteadOfFailingEveryBackend) {
  EXPECT_EQ(exit_code({"--port", "IMAP143"}), 2);
  EXPECT_THAT(err_, HasSubstr("--port IMAP143"));
  EXPECT_EQ(exit_code({"--port", "70000"}), 2);
}

TEST_F(CliPoolmon, SslIsAnImplicitTlsPort) {
  const auto o = ok({"-s", "993", "--ssl=POP3:995"});
  EXPECT_EQ(o.config.probe.ports,
            (std::vector<PortSpec>{{Protocol::imap, 993, TlsMode::implicit},
                                   {Protocol::pop3, 995, TlsMode::implicit}}));
}

TEST_F(CliPoolmon, TimeoutIsTheProbeDeadline) {
  EXPECT_EQ(ok({"-t", "5"}).config.health.timeout, 5s);
  EXPECT_EQ(ok({"--timeout=7"}).config.health.timeout, 7s);
  EXPECT_EQ(exit_code({"--timeout", "0"}), 2);  // the fork refuses timeout < 1 too
}

TEST_F(CliPoolmon, IntervalIsTheScanPeriod) {
  EXPECT_EQ(ok({"-i", "30"}).config.health.interval, 30s);
  EXPECT_EQ(ok({"--interval=45"}).config.health.interval, 45s);
  EXPECT_EQ(exit_code({"-i", "0"}), 2);  // as the fork: a zero interval would spin
  EXPECT_THAT(err_, HasSubstr("--interval 0"));
}

TEST_F(CliPoolmon, SocketIsTheDirectorAdminSocket) {
  EXPECT_EQ(ok({"-S", "/var/run/dovecot/director-admin"}).config.director.socket,
            "/var/run/dovecot/director-admin");
  EXPECT_EQ(ok({"--socket=/run/da"}).config.director.socket, "/run/da");
}

TEST_F(CliPoolmon, CredfileIsTheLoginFile) {
  EXPECT_EQ(ok({"--credfile=/etc/poolmon.cred"}).config.credentials.credfile, "/etc/poolmon.cred");
}

TEST_F(CliPoolmon, ShortCIsTheConfigAndACredfileThereSaysSo) {
  const auto credfile = dir_.write("poolmon.cred", "probe@example.test\nS3cr3t pw\n");
  EXPECT_EQ(exit_code({"-c", credfile}, false), 2);
  EXPECT_THAT(err_, HasSubstr("--credfile"));
  EXPECT_THAT(err_, ::testing::Not(HasSubstr("S3cr3t")));
}

TEST_F(CliPoolmon, LmtpFromIsTheEnvelopeSender) {
  EXPECT_EQ(ok({}).config.probe.lmtp_from, "");  // MAIL FROM:<>, as poolmon
  EXPECT_EQ(ok({"--lmtp-from=probe@example.test"}).config.probe.lmtp_from, "probe@example.test");
  EXPECT_EQ(exit_code({"--lmtp-from", "a>b"}), 2);
  EXPECT_THAT(err_, HasSubstr("--lmtp-from"));
}

TEST_F(CliPoolmon, LmtpToTurnsOnTheRecipientCheck) {
  const auto o = ok({"--set", "probe.lmtp_rcpt=false", "--lmtp-to", "rcpt@example.test"});
  EXPECT_EQ(o.config.probe.lmtp_to, "rcpt@example.test");
  EXPECT_TRUE(o.config.probe.lmtp_rcpt);
  EXPECT_EQ(exit_code({"--lmtp-to", "two words"}), 2);
  EXPECT_EQ(exit_code({"--lmtp-to", "probe-%{backend}@x"}), 2);
  EXPECT_THAT(err_, HasSubstr("%{backend}"));
}

TEST_F(CliPoolmon, LockfileAndPidfileAreOneFile) {
  EXPECT_EQ(ok({"--lockfile", "/run/poolmon.pid"}).config.pidfile, "/run/poolmon.pid");
  EXPECT_EQ(ok({"-k", "/run/k.pid"}).config.pidfile, "/run/k.pid");
  EXPECT_EQ(ok({"--pidfile=/run/p.pid"}).config.pidfile, "/run/p.pid");
}

TEST_F(CliPoolmon, LogfileIsAFileOrSyslog) {
  const auto file = ok({"-l", "/var/log/poolmon.log"});
  EXPECT_EQ(file.config.log.target, LogTarget::file);
  EXPECT_EQ(file.config.log.file, "/var/log/poolmon.log");
  EXPECT_EQ(ok({"--logfile=syslog"}).config.log.target, LogTarget::syslog);
}

TEST_F(CliPoolmon, ForegroundStaysAttached) {
  EXPECT_FALSE(ok({}).foreground);
  EXPECT_TRUE(ok({"-f"}).foreground);
  EXPECT_TRUE(ok({"--foreground"}).foreground);
}

TEST_F(CliPoolmon, DebugLogsPerPortAndStaysAttached) {
  const auto o = ok({"-d"});
  EXPECT_TRUE(o.debug);
  EXPECT_TRUE(o.foreground);
}

TEST_F(CliPoolmon, ShortFlagsBundleAsInGetopt) {
  const auto o = ok({"-fdn"});
  EXPECT_TRUE(o.foreground);
  EXPECT_TRUE(o.debug);
  EXPECT_TRUE(o.config.dry_run);
}

TEST_F(CliPoolmon, DryRunSendsNothing) {
  EXPECT_FALSE(ok({}).config.dry_run);
  EXPECT_TRUE(ok({"-n"}).config.dry_run);
  EXPECT_TRUE(ok({"--dry-run"}).config.dry_run);
}

TEST_F(CliPoolmon, SslVerifyTakesZeroOrOne) {
  EXPECT_FALSE(ok({}).config.probe.tls.verify_peer);
  EXPECT_TRUE(ok({"--ssl-verify"}).config.probe.tls.verify_peer);
  EXPECT_TRUE(ok({"--ssl-verify=1"}).config.probe.tls.verify_peer);
  EXPECT_TRUE(ok({"-v", "1"}).config.probe.tls.verify_peer);
  EXPECT_FALSE(ok({"--ssl-verify", "0"}).config.probe.tls.verify_peer);
  EXPECT_FALSE(ok({"--ssl-verify", "1", "-v", "0"}).config.probe.tls.verify_peer);
  EXPECT_EQ(exit_code({"--ssl-verify", "2"}), 2);
}

TEST_F(CliPoolmon, HelpExitsZero) {
  EXPECT_EQ(exit_code({"-h"}), 0);  // poolmon exited 1, which broke `poolmon -h && ...`
  EXPECT_THAT(out_, HasSubstr("--lmtp-to"));
}

TEST_F(CliPoolmon, AWholePoolmonOptionsLine) {
  // The OPTIONS= line of a typical /etc/default/poolmon, unchanged.
  const auto o = ok({"-f",
                     "-S",
                     "/var/run/dovecot/director-admin",
                     "-i",
                     "30",
                     "-t",
                     "5",
                     "-p",
                     "143",
                     "-p",
                     "POP3:110",
                     "-s",
                     "993",
                     "--credfile",
                     "/etc/poolmon.cred",
                     "--lmtp-to",
                     "rcpt@example.test",
                     "-l",
                     "syslog",
                     "-k",
                     "/var/run/poolmon.pid"});
  EXPECT_TRUE(o.foreground);
  EXPECT_EQ(o.config.probe.ports.size(), 3u);
  EXPECT_EQ(o.config.credentials.credfile, "/etc/poolmon.cred");
  EXPECT_EQ(o.config.probe.lmtp_to, "rcpt@example.test");
  EXPECT_EQ(o.config.log.target, LogTarget::syslog);
  EXPECT_EQ(o.config.pidfile, "/var/run/poolmon.pid");
}

}  // namespace
