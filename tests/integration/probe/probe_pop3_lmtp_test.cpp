// POP3 and LMTP probe dialogues against the fake backend.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::HasSubstr;

namespace {

using Lines = std::vector<std::string>;

}  // namespace

TEST(ProbePop3, UserPassStatQuit) {
  FakeMailServer server(fake_options(Protocol::pop3));
  auto config = probe_config_for(server);
  config.pop3_stat = true;
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received(), (Lines{"USER probe", "PASS probepass", "STAT", "QUIT"}));
  EXPECT_TRUE(transcript_mentions(outcome, "C: PASS <redacted>"));
  EXPECT_FALSE(transcript_mentions(outcome, "probepass"));
}

TEST(ProbePop3, GreetingOnlyWithoutAccount) {
  FakeMailServer server(fake_options(Protocol::pop3));
  EXPECT_TRUE(probe_server(server, std::nullopt).ok());
  EXPECT_EQ(server.received(), Lines{"QUIT"});
}

TEST(ProbePop3, AuthPlainAndMasterUser) {
  FakeMailServer server(fake_options(Protocol::pop3));
  auto config = probe_config_for(server);
  config.auth = AuthMechanism::plain;
  EXPECT_TRUE(probe_once(server, config, fake_account()).ok());
  EXPECT_EQ(server.received().at(0), "AUTH PLAIN AHByb2JlAHByb2JlcGFzcw==");
  const auto master = probe_server(server, Account{"probe", Secret("masterpass"), "master"});
  EXPECT_TRUE(master.ok()) << master.reason;
  EXPECT_THAT(server.received(),
              ::testing::Contains("AUTH PLAIN cHJvYmUAbWFzdGVyAG1hc3RlcnBhc3M="));
  EXPECT_FALSE(transcript_mentions(master, "cHJvYmUA"));
}

TEST(ProbePop3, FailureClasses) {
  struct Case {
    FakeBehaviour behaviour;
    FailureClass expected;
    const char* reason;
  };
  for (const auto& c :
       {Case{FakeBehaviour::reject_password, FailureClass::auth_rejected, "[AUTH]"},
        Case{FakeBehaviour::temp_auth_failure, FailureClass::auth_temporary, "SYS/TEMP"},
        Case{FakeBehaviour::bye, FailureClass::protocol_error, "refused"},
        Case{FakeBehaviour::garbage_after_greeting, FailureClass::protocol_error, "USER reply"},
        Case{FakeBehaviour::login_disabled, FailureClass::config_error, "Plaintext"},
        Case{FakeBehaviour::reset_mid_dialogue, FailureClass::io_error, "USER reply"}}) {
    FakeMailServer server(fake_options(Protocol::pop3, c.behaviour));
    const auto outcome = probe_server(server);
    EXPECT_EQ(outcome.failure, c.expected) << outcome.reason;
    EXPECT_THAT(outcome.reason, HasSubstr(c.reason));
    EXPECT_THAT(outcome.reason, ::testing::Not(HasSubstr("probepass")));
  }
}

TEST(ProbePop3, StlsAndImplicitTls) {
  FakeMailServer starttls(fake_options(Protocol::pop3, FakeBehaviour::normal, TlsMode::starttls));
  const auto upgraded = probe_server(starttls);
  EXPECT_TRUE(upgraded.ok()) << upgraded.reason;
  EXPECT_EQ(starttls.received(), (Lines{"STLS", "USER probe", "PASS probepass", "QUIT"}));
  EXPECT_EQ(starttls.tls_handshakes(), 1u);

  FakeMailServer implicit(fake_options(Protocol::pop3, FakeBehaviour::normal, TlsMode::implicit));
  EXPECT_TRUE(probe_server(implicit).ok());
  EXPECT_EQ(implicit.tls_handshakes(), 1u);
}

TEST(ProbePop3, StlsRefusedIsConfigError) {
  FakeMailServer server(
      fake_options(Protocol::pop3, FakeBehaviour::no_starttls, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::config_error);
  EXPECT_EQ(server.received(), Lines{"STLS"});
}

TEST(ProbeLmtp, LhloRcptRsetQuit) {
  FakeMailServer server(fake_options(Protocol::lmtp));
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  const auto received = server.received();
  ASSERT_EQ(received.size(), 5u);
  EXPECT_TRUE(received[0].starts_with("LHLO "));
  EXPECT_EQ(Lines(received.begin() + 1, received.end()),
            (Lines{"MAIL FROM:<>", "RCPT TO:<probe>", "RSET", "QUIT"}));
}

TEST(ProbeLmtp, NoRcptWithoutUserOrWhenDisabled) {
  FakeMailServer server(fake_options(Protocol::lmtp));
  EXPECT_TRUE(probe_server(server, std::nullopt).ok());
  EXPECT_EQ(server.received().size(), 2u);  // LHLO, QUIT
  auto config = probe_config_for(server);
  config.lmtp_rcpt = false;
  EXPECT_TRUE(probe_once(server, config, fake_account()).ok());
  EXPECT_EQ(server.received().size(), 4u);
}

TEST(ProbeLmtp, LmtpFromAndToSetTheEnvelopeWithoutAnAccount) {
  // poolmon's --lmtp-from/--lmtp-to: one recipient for every backend, no login needed.
  FakeMailServer server(fake_options(Protocol::lmtp));
  auto config = probe_config_for(server);
  config.lmtp_from = "monitor@example.test";
  config.lmtp_to = "probe@example.test";
  const auto outcome = probe_once(server, config, std::nullopt);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  const auto received = server.received();
  ASSERT_EQ(received.size(), 5u);
  EXPECT_EQ(
      Lines(received.begin() + 1, received.end()),
      (Lines{"MAIL FROM:<monitor@example.test>", "RCPT TO:<probe@example.test>", "RSET", "QUIT"}));
}

TEST(ProbeLmtp, LmtpToWinsOverTheAccountAndExpandsPerBackend) {
  auto options = fake_options(Protocol::lmtp);
  options.user = "probe-backend1";
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.lmtp_to = "probe-%{backend_host}@example.test";
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_THAT(server.received(), ::testing::Contains("RCPT TO:<probe-backend1@example.test>"));

  config.lmtp_to = "probe-%{backend_ip}@example.test";  // 127.0.0.1 does not exist there
  const auto rejected = probe_once(server, config, fake_account());
  EXPECT_EQ(rejected.failure, FailureClass::auth_rejected);
  EXPECT_THAT(rejected.reason, HasSubstr("probe-127.0.0.1@example.test"));
}

TEST(ProbeLmtp, LmtpToIsNotCheckedWhenRcptIsOff) {
  FakeMailServer server(fake_options(Protocol::lmtp));
  auto config = probe_config_for(server);
  config.lmtp_to = "probe@example.test";
  config.lmtp_rcpt = false;
  EXPECT_TRUE(probe_once(server, config, std::nullopt).ok());
  EXPECT_EQ(server.received().size(), 2u);  // LHLO, QUIT
}

TEST(ProbeLmtp, FailureClasses) {
  struct Case {
    FakeBehaviour behaviour;
    FailureClass expected;
    const char* reason;
  };
  for (const auto& c :
       {Case{FakeBehaviour::reject_password, FailureClass::auth_rejected,
             "recipient rejected: 550"},
        Case{FakeBehaviour::temp_auth_failure, FailureClass::auth_temporary, "451"},
        Case{FakeBehaviour::bye, FailureClass::protocol_error, "421"},
        Case{FakeBehaviour::garbage_after_greeting, FailureClass::protocol_error, "LHLO reply"},
        Case{FakeBehaviour::reset_mid_dialogue, FailureClass::io_error, "LHLO reply"}}) {
    FakeMailServer server(fake_options(Protocol::lmtp, c.behaviour));
    const auto outcome = probe_server(server);
    EXPECT_EQ(outcome.failure, c.expected) << outcome.reason;
    EXPECT_THAT(outcome.reason, HasSubstr(c.reason));
  }
}

TEST(ProbeLmtp, StarttlsThenLhloAgain) {
  FakeMailServer server(fake_options(Protocol::lmtp, FakeBehaviour::normal, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  const auto received = server.received();
  ASSERT_EQ(received.size(), 7u);
  EXPECT_EQ(received[1], "STARTTLS");
  EXPECT_TRUE(received[2].starts_with("LHLO "));
  EXPECT_EQ(server.tls_handshakes(), 1u);
}

TEST(ProbeLmtp, StarttlsNotAdvertisedIsConfigError) {
  FakeMailServer server(
      fake_options(Protocol::lmtp, FakeBehaviour::no_starttls, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::config_error);
  EXPECT_EQ(server.received().size(), 1u);  // LHLO only
}

TEST(ProbeLmtp, ImplicitTls) {
  FakeMailServer server(fake_options(Protocol::lmtp, FakeBehaviour::normal, TlsMode::implicit));
  EXPECT_TRUE(probe_server(server).ok());
}
