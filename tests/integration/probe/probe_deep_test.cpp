// The destructive deep checks (IMAP APPEND+EXPUNGE, LMTP delivery, POP3 DELE) against
// the fake backends sharing one mailbox: they succeed, leave no test message behind and
// never touch other mail.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "poolwatch/probe/imap_protocol.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

constexpr std::string_view other_mail =
    "From: <alice@example.org>\r\nSubject: quarterly report\r\n\r\nhello\r\n.dotted line\r\n";
constexpr std::string_view leftover_probe =
    "From: poolwatch <poolwatch@localhost>\r\nSubject: poolwatch-probe 1-deadbeef\r\n\r\nold\r\n";

FakeMailServerOptions deep_fake(Protocol protocol, std::shared_ptr<FakeMailbox> mailbox,
                                FakeBehaviour behaviour = FakeBehaviour::normal) {
  FakeMailServerOptions options;
  options.protocol = protocol;
  options.behaviour = behaviour;
  options.mailbox = std::move(mailbox);
  return options;
}

ProbeConfig deep_config(const FakeMailServer& server) {
  auto config = probe_config_for(server);
  config.imap_append_expunge = true;
  config.pop3_dele = true;
  config.lmtp_deliver = true;
  return config;
}

ProbeOutcome deep_probe(const FakeMailServer& server) {
  return probe_once(server, deep_config(server), fake_account());
}

std::shared_ptr<FakeMailbox> mailbox_with_other_mail() {
  auto mailbox = std::make_shared<FakeMailbox>();
  mailbox->add(std::string(other_mail));
  return mailbox;
}

bool only_other_mail_left(const FakeMailbox& mailbox) {
  const auto messages = mailbox.messages();
  return messages.size() == 1 && messages[0].text == other_mail && !messages[0].deleted;
}

bool received_line_starting(const FakeMailServer& server, std::string_view prefix) {
  const auto lines = server.received();
  return std::any_of(lines.begin(), lines.end(),
                     [prefix](const std::string& line) { return line.starts_with(prefix); });
}

bool received_containing(const FakeMailServer& server, std::string_view text) {
  const auto lines = server.received();
  return std::any_of(lines.begin(), lines.end(), [text](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

}  // namespace

TEST(DeepCheckMarker, SearchResultParsing) {
  const auto found = imap::search_result(imap::parse_response_line("* SEARCH 3 17 4"));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, (std::vector<std::uint32_t>{3, 17, 4}));
  const auto empty = imap::search_result(imap::parse_response_line("* SEARCH"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(imap::search_result(imap::parse_response_line("* 3 EXISTS")));
  EXPECT_FALSE(imap::search_result(imap::parse_response_line("* SEARCH 3 x")));
  EXPECT_FALSE(imap::search_result(imap::parse_response_line("* SEARCH 0")));
  EXPECT_EQ(imap::sequence_set({3, 17, 4}), "3,17,4");
}

TEST(ProbeDeepImap, AppendExpungeRemovesOurAndLeftoverProbeMessagesOnly) {
  auto mailbox = mailbox_with_other_mail();
  mailbox->add(std::string(leftover_probe));
  FakeMailServer server(deep_fake(Protocol::imap, mailbox));
  const auto outcome = deep_probe(server);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(only_other_mail_left(*mailbox));
  EXPECT_TRUE(received_containing(server, " APPEND INBOX (\\Seen) {"));
  EXPECT_TRUE(received_containing(server, "+}"));  // LITERAL+ was used
  EXPECT_TRUE(received_containing(server, " UID STORE 2,3 +FLAGS.SILENT (\\Deleted)"));
  EXPECT_TRUE(received_containing(server, " UID EXPUNGE 2,3"));
  EXPECT_FALSE(received_line_starting(server, "pw8 EXPUNGE"));
}

TEST(ProbeDeepImap, RepeatedProbesNeverGrowTheMailbox) {
  auto mailbox = mailbox_with_other_mail();
  FakeMailServer server(deep_fake(Protocol::imap, mailbox));
  for (int i = 0; i < 3; ++i) {
    const auto outcome = deep_probe(server);
    ASSERT_TRUE(outcome.ok()) << outcome.reason;
    EXPECT_TRUE(only_other_mail_left(*mailbox));
  }
}

TEST(ProbeDeepImap, SynchronisingLiteralAndPlainExpungeWithoutExtensions) {
  auto mailbox = mailbox_with_other_mail();
  auto options = deep_fake(Protocol::imap, mailbox);
  options.literal_plus = false;
  options.uidplus = false;
  FakeMailServer server(options);
  const auto outcome = deep_probe(server);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(only_other_mail_left(*mailbox));
  EXPECT_FALSE(received_containing(server, "+}"));
  EXPECT_FALSE(received_containing(server, "UID EXPUNGE"));
  const auto lines = server.received();
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                          [](const std::string& line) { return line.ends_with(" EXPUNGE"); }));
}

TEST(ProbeDeepImap, AppendRefusedIsAProtocolError) {
  for (const bool literal_plus : {true, false}) {
    auto mailbox = mailbox_with_other_mail();
    auto options = deep_fake(Protocol::imap, mailbox, FakeBehaviour::reject_append);
    options.literal_plus = literal_plus;
    FakeMailServer server(options);
    const auto outcome = deep_probe(server);
    EXPECT_EQ(outcome.failure, FailureClass::protocol_error) << literal_plus;
    EXPECT_THAT(outcome.reason, HasSubstr("APPEND failed"));
    EXPECT_THAT(outcome.reason, HasSubstr("OVERQUOTA"));
    EXPECT_TRUE(only_other_mail_left(*mailbox));
    EXPECT_FALSE(received_containing(server, "UID STORE"));
  }
}

TEST(ProbeDeepImap, TranscriptShowsTheTestMessageButNoPassword) {
  FakeMailServer server(deep_fake(Protocol::imap, std::make_shared<FakeMailbox>()));
  const auto outcome = deep_probe(server);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(std::any_of(
      outcome.transcript.begin(), outcome.transcript.end(), [](const std::string& line) {
        return line.find("-byte test message \"poolwatch-probe ") != std::string::npos;
      }));
  for (const auto& line : outcome.transcript) EXPECT_EQ(line.find("probepass"), std::string::npos);
}

// Closing the connection at each reply in turn: every step fails cleanly, and the
// first complete run also removes what the interrupted runs left behind.
TEST(ProbeDeepImap, FailCountOverTheAppendDialogue) {
  auto mailbox = mailbox_with_other_mail();
  int failures = 0;
  for (int n = 1; n < 40; ++n) {
    auto options = deep_fake(Protocol::imap, mailbox);
    options.close_at_exchange = n;
    FakeMailServer server(options);
    const auto outcome = deep_probe(server);
    if (outcome.ok()) break;
    ++failures;
    EXPECT_NE(outcome.failure, FailureClass::none) << n;
    EXPECT_FALSE(outcome.reason.empty()) << n;
  }
  // greeting, LOGIN, SELECT, APPEND, SEARCH marker, SEARCH prefix, STORE, EXPUNGE, LOGOUT
  EXPECT_EQ(failures, 9);
  EXPECT_TRUE(only_other_mail_left(*mailbox));
}

TEST(ProbeDeepLmtpPop3, DeliveryThenDeleRemovesOnlyTheProbeMessage) {
  auto mailbox = mailbox_with_other_mail();
  FakeMailServer lmtp(deep_fake(Protocol::lmtp, mailbox));
  const auto delivered = deep_probe(lmtp);
  ASSERT_TRUE(delivered.ok()) << delivered.reason;
  EXPECT_TRUE(received_line_starting(lmtp, "DATA"));
  EXPECT_FALSE(received_line_starting(lmtp, "RSET"));
  ASSERT_EQ(mailbox->size(), 2u);
  EXPECT_EQ(mailbox->probe_messages(), 1u);

  FakeMailServer pop3(deep_fake(Protocol::pop3, mailbox));
  const auto cleaned = deep_probe(pop3);
  ASSERT_TRUE(cleaned.ok()) << cleaned.reason;
  EXPECT_TRUE(only_other_mail_left(*mailbox));
  EXPECT_TRUE(received_line_starting(pop3, "TOP 1 0"));
  EXPECT_TRUE(received_line_starting(pop3, "DELE 2"));
  EXPECT_FALSE(received_line_starting(pop3, "DELE 1"));
}

TEST(ProbeDeepLmtpPop3, ImapCleanupAlsoRemovesDeliveredProbeMessages) {
  auto mailbox = mailbox_with_other_mail();
  FakeMailServer lmtp(deep_fake(Protocol::lmtp, mailbox));
  ASSERT_TRUE(deep_probe(lmtp).ok());
  ASSERT_TRUE(deep_probe(lmtp).ok());
  EXPECT_EQ(mailbox->probe_messages(), 2u);
  FakeMailServer imap(deep_fake(Protocol::imap, mailbox));
  const auto outcome = deep_probe(imap);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(only_other_mail_left(*mailbox));
}

TEST(ProbeDeepLmtpPop3, Pop3WithoutProbeMessagesDeletesNothing) {
  auto mailbox = mailbox_with_other_mail();
  FakeMailServer pop3(deep_fake(Protocol::pop3, mailbox));
  const auto outcome = deep_probe(pop3);
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_TRUE(only_other_mail_left(*mailbox));
  EXPECT_FALSE(received_line_starting(pop3, "DELE"));
}

TEST(ProbeDeepLmtpPop3, FailCountOverDeliveryAndDele) {
  for (const auto protocol : {Protocol::lmtp, Protocol::pop3}) {
    auto mailbox = mailbox_with_other_mail();
    mailbox->add(std::string(leftover_probe));
    int failures = 0;
    for (int n = 1; n < 40; ++n) {
      auto options = deep_fake(protocol, mailbox);
      options.close_at_exchange = n;
      FakeMailServer server(options);
      const auto outcome = deep_probe(server);
      if (outcome.ok()) break;
      ++failures;
      EXPECT_NE(outcome.failure, FailureClass::none) << n;
    }
    if (protocol == Protocol::lmtp) {
      // greeting, LHLO, MAIL, RCPT, DATA, delivery, QUIT; interrupted runs may deliver
      EXPECT_EQ(failures, 7);
      EXPECT_GE(mailbox->probe_messages(), 2u);
    } else {
      // greeting, USER, PASS, LIST, TOP 1, TOP 2, DELE 2, QUIT (commits)
      EXPECT_EQ(failures, 8);
      EXPECT_TRUE(only_other_mail_left(*mailbox));
    }
  }
}
