// IMAP probe dialogues against the fake backend: each success path and failure class.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/fake_mail_server.hpp"
#include "support/test_certs.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::Contains;
using ::testing::HasSubstr;

TEST(ProbeImap, GreetingAndLogoutWithoutAccount) {
  FakeMailServer server(fake_options(Protocol::imap));
  const auto outcome = probe_server(server, std::nullopt);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received(), std::vector<std::string>{"pw1 LOGOUT"});
  EXPECT_GT(outcome.latency.count(), 0);
}

TEST(ProbeImap, LoginWithQuotedStringsAndMaskedPassword) {
  FakeMailServer server(fake_options(Protocol::imap));
  const auto outcome = probe_server(server);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_THAT(server.received(), Contains("pw1 LOGIN \"probe\" \"probepass\""));
  EXPECT_TRUE(transcript_mentions(outcome, "C: pw1 LOGIN \"probe\" <redacted>"));
  EXPECT_FALSE(transcript_mentions(outcome, "probepass"));
  EXPECT_EQ(server.received().back(), "pw2 LOGOUT");
}

TEST(ProbeImap, QuotesSpecialCharactersInPassword) {
  auto options = fake_options(Protocol::imap);
  options.password = "pa ss\"w\\d";
  FakeMailServer server(options);
  const auto outcome = probe_server(server, Account{"probe", Secret(options.password), ""});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_THAT(server.received(), Contains("pw1 LOGIN \"probe\" \"pa ss\\\"w\\\\d\""));
}

TEST(ProbeImap, NonAsciiPasswordUsesAuthenticatePlain) {
  auto options = fake_options(Protocol::imap);
  options.password = "p\xc3\xa4ss";
  FakeMailServer server(options);
  const auto outcome = probe_server(server, Account{"probe", Secret(options.password), ""});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(server.received().at(0).starts_with("pw1 AUTHENTICATE PLAIN "));
  EXPECT_TRUE(transcript_mentions(outcome, "C: pw1 AUTHENTICATE PLAIN <redacted>"));
}

TEST(ProbeImap, ListAndSelectAfterLogin) {
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.imap_list = true;
  config.imap_select = true;
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received(),
            (std::vector<std::string>{"pw1 LOGIN \"probe\" \"probepass\"", "pw2 LIST \"\" \"%\"",
                                      "pw3 SELECT INBOX", "pw4 LOGOUT"}));
}

TEST(ProbeImap, AuthenticatePlainWithInitialResponse) {
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.auth = AuthMechanism::plain;
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received().at(0), "pw1 AUTHENTICATE PLAIN AHByb2JlAHByb2JlcGFzcw==");
  EXPECT_FALSE(transcript_mentions(outcome, "AHByb2Jl"));
}

TEST(ProbeImap, AuthenticatePlainWithContinuationWithoutSaslIr) {
  auto options = fake_options(Protocol::imap);
  options.sasl_ir = false;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.auth = AuthMechanism::plain;
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received().at(0), "pw1 AUTHENTICATE PLAIN");
  EXPECT_EQ(server.received().at(1), "AHByb2JlAHByb2JlcGFzcw==");
  EXPECT_TRUE(transcript_mentions(outcome, "C: <redacted>"));
}

TEST(ProbeImap, MasterUserIsSentAsAuthcidWithUserAsAuthzid) {
  FakeMailServer server(fake_options(Protocol::imap));
  const auto outcome = probe_server(server, Account{"probe", Secret("masterpass"), "master"});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received().at(0), "pw1 AUTHENTICATE PLAIN cHJvYmUAbWFzdGVyAG1hc3RlcnBhc3M=");
  const auto wrong = probe_server(server, Account{"probe", Secret("probepass"), "master"});
  EXPECT_EQ(wrong.failure, FailureClass::auth_rejected);
}

TEST(ProbeImap, AsksForCapabilitiesWhenTheGreetingHasNone) {
  auto options = fake_options(Protocol::imap);
  options.capability_in_greeting = false;
  FakeMailServer server(options);
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.received().at(0), "pw1 CAPABILITY");
}

TEST(ProbeImap, SkipsAuthWaitNotice) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::auth_wait_notice));
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
}

TEST(ProbeImap, RejectedPasswordIsAuthRejected) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::reject_password));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::auth_rejected);
  EXPECT_THAT(outcome.reason, HasSubstr("NO [AUTHENTICATIONFAILED]"));
  EXPECT_THAT(outcome.reason, ::testing::Not(HasSubstr("probepass")));
}

TEST(ProbeImap, UnavailableIsAuthTemporary) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::temp_auth_failure));
  EXPECT_EQ(probe_server(server).failure, FailureClass::auth_temporary);
}

TEST(ProbeImap, PreauthIsProtocolError) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::preauth));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("PREAUTH"));
}

TEST(ProbeImap, ByeGreetingIsProtocolError) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::bye));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("BYE Too many connections"));
}

TEST(ProbeImap, GarbageAfterGreetingIsProtocolError) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::garbage_after_greeting));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("LOGIN reply"));
}

TEST(ProbeImap, LoginDisabledIsConfigError) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::login_disabled));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::config_error);
  EXPECT_THAT(outcome.reason, HasSubstr("LOGINDISABLED"));
  EXPECT_TRUE(server.received().empty());  // the password never left
}

TEST(ProbeImap, LoginDisabledWithoutAccountIsHealthy) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::login_disabled));
  EXPECT_TRUE(probe_server(server, std::nullopt).ok());
}

TEST(ProbeImap, ResetMidDialogueIsIoError) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::reset_mid_dialogue));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::io_error);
  EXPECT_THAT(outcome.reason, HasSubstr("LOGIN reply"));
}

TEST(ProbeImap, StarttlsUpgradesTheConnection) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.tls_handshakes(), 1u);
  // Capabilities are asked again inside TLS before logging in.
  EXPECT_EQ(server.received(),
            (std::vector<std::string>{"pw1 STARTTLS", "pw2 CAPABILITY",
                                      "pw3 LOGIN \"probe\" \"probepass\"", "pw4 LOGOUT"}));
}

TEST(ProbeImap, StarttlsNotAdvertisedIsConfigError) {
  FakeMailServer server(
      fake_options(Protocol::imap, FakeBehaviour::no_starttls, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::config_error);
  EXPECT_THAT(outcome.reason, HasSubstr("STARTTLS"));
  EXPECT_TRUE(server.received().empty());
}

TEST(ProbeImap, PlaintextAfterStarttlsReplyIsRefused) {
  FakeMailServer server(
      fake_options(Protocol::imap, FakeBehaviour::injection_after_starttls, TlsMode::starttls));
  const auto outcome = probe_server(server);
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("injection"));
}

TEST(ProbeImap, ImplicitTls) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit));
  const auto outcome = probe_server(server);
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.tls_handshakes(), 1u);
}

// A TLS probe carries the earliest notAfter of the chain the backend presented (issue 16:
// the certificate expiry exported per backend); a plain one carries none.
TEST(ProbeImap, TlsOutcomeCarriesTheCertificateExpiry) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit);
  options.short_lived_certificate = true;
  FakeMailServer soon(options);
  const auto outcome = probe_server(soon);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(outcome.cert_not_after, test_certificates().soon_not_after_unix);

  FakeMailServer usual(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::starttls));
  EXPECT_EQ(probe_server(usual).cert_not_after, test_certificates().not_after_unix);
  FakeMailServer plain(fake_options(Protocol::imap, FakeBehaviour::normal));
  EXPECT_EQ(probe_server(plain).cert_not_after, std::nullopt);
}
