// Hostile backends: a flood of untagged lines must cost the probe a bounded transcript,
// and a backend that echoes the commands must never get the password into the
// transcript or the reason.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/probe/imap_protocol.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/probe/sasl.hpp"
#include "poolwatch/probe/transcript.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::HasSubstr;

namespace {

std::size_t transcript_bytes(const ProbeOutcome& outcome) {
  std::size_t bytes = 0;
  for (const auto& line : outcome.transcript) bytes += line.size();
  return bytes;
}

}  // namespace

TEST(ProbeHostile, FloodOfUntaggedLinesKeepsTheTranscriptBounded) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::flood_untagged);
  options.flood_bytes = 1 << 20;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.max_bytes = 8 << 20;  // the flood is read to its end
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  const TranscriptLimits limits;
  EXPECT_LE(outcome.transcript.size(), limits.head_lines + limits.tail_lines + 1);
  EXPECT_LE(transcript_bytes(outcome), limits.max_bytes + 64)
      << outcome.transcript.size() << " lines";
  EXPECT_TRUE(transcript_mentions(outcome, "lines omitted"));
  // The start and the end of the dialogue are kept: they explain what happened.
  ASSERT_FALSE(outcome.transcript.empty());
  EXPECT_THAT(outcome.transcript.front(), HasSubstr("Dovecot ready"));
  EXPECT_THAT(outcome.transcript.back(), HasSubstr("Logout completed"));
}

TEST(ProbeHostile, FloodPastTheByteCapFailsWithABoundedTranscript) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::flood_untagged);
  options.flood_bytes = 4 << 20;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.max_bytes = 2 << 20;
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("more than 2097152 bytes while waiting for LOGIN reply"));
  const TranscriptLimits limits;
  EXPECT_LE(transcript_bytes(outcome), limits.max_bytes + 64)
      << outcome.transcript.size() << " lines";
  ASSERT_FALSE(outcome.transcript.empty());
  EXPECT_THAT(outcome.transcript.back(), HasSubstr("Still here"));
}

namespace {

// Every form in which a probe sends the password of `account`.
std::vector<std::string> sent_forms(const Account& account) {
  const auto& password = account.password.reveal();
  std::vector<std::string> forms{password, sasl_plain_response("", account.user, password)};
  if (const auto quoted = imap::quote_string(password))
    forms.push_back(quoted->substr(1, quoted->size() - 2));
  if (!account.master_user.empty())
    forms.push_back(sasl_plain_response(account.user, account.master_user, password));
  return forms;
}

// The first piece of a sent form (12 bytes, or the whole of a shorter form) that `text`
// contains, or "": a form cut short by a "..." must not leak its start either.
std::string leaked_piece(std::string_view text, const Account& account) {
  for (const auto& form : sent_forms(account)) {
    const std::size_t width = std::min<std::size_t>(12, form.size());
    for (std::size_t at = 0; at + width <= form.size(); ++at)
      if (text.find(form.substr(at, width)) != std::string_view::npos)
        return form.substr(at, width);
  }
  return {};
}

void expect_no_secret(const ProbeOutcome& outcome, const Account& account,
                      const std::string& what) {
  EXPECT_EQ(leaked_piece(outcome.reason, account), "") << what << ": " << outcome.reason;
  for (const auto& line : outcome.transcript)
    EXPECT_EQ(leaked_piece(line, account), "") << what << ": " << line;
}

// A long password also puts the 200-byte cut of a quoted reply inside it.
const std::string kLongPassword = "s3cr\"t\\pa ss-" + std::string(250, 'k');

}  // namespace

TEST(ProbeHostile, EchoedImapLoginNeverShowsThePassword) {
  struct Case {
    std::string what;
    AuthMechanism auth;
    bool sasl_ir;
    std::string master_user;
    std::string password;
  };
  for (const auto& c :
       {Case{"LOGIN", AuthMechanism::login, true, "", "s3cr\"t\\pa ss"},
        Case{"LOGIN, cut reply", AuthMechanism::login, true, "", kLongPassword},
        Case{"AUTHENTICATE, SASL-IR", AuthMechanism::plain, true, "", "s3cr3t"},
        Case{"AUTHENTICATE, continuation", AuthMechanism::plain, false, "", "s3cr3t"},
        Case{"master user", AuthMechanism::login, true, "master", "s3cr3t"},
        Case{"master user, continuation", AuthMechanism::login, false, "master", kLongPassword}}) {
    FakeMailServerOptions options = fake_options(Protocol::imap, FakeBehaviour::echo_commands);
    options.sasl_ir = c.sasl_ir;
    FakeMailServer server(options);
    auto config = probe_config_for(server);
    config.auth = c.auth;
    const Account account{"probe", Secret(c.password), c.master_user};
    const auto outcome = probe_once(server, config, account);
    EXPECT_EQ(outcome.failure, FailureClass::auth_rejected) << c.what << ": " << outcome.reason;
    EXPECT_THAT(outcome.reason, HasSubstr("Echo: ")) << c.what;  // the echo did come back
    EXPECT_TRUE(transcript_mentions(outcome, "S: * BAD Echo: ")) << c.what;
    expect_no_secret(outcome, account, c.what);
  }
}

TEST(ProbeHostile, EchoedPop3LoginNeverShowsThePassword) {
  struct Case {
    std::string what;
    AuthMechanism auth;
    std::string master_user;
    std::string password;
  };
  for (const auto& c : {Case{"USER/PASS", AuthMechanism::login, "", "s3cr\"t\\pa ss"},
                        Case{"USER/PASS, cut reply", AuthMechanism::login, "", kLongPassword},
                        Case{"AUTH PLAIN", AuthMechanism::plain, "", "s3cr3t"},
                        Case{"AUTH PLAIN, cut reply", AuthMechanism::plain, "", kLongPassword},
                        Case{"master user", AuthMechanism::login, "master", "s3cr3t"}}) {
    FakeMailServer server(fake_options(Protocol::pop3, FakeBehaviour::echo_commands));
    auto config = probe_config_for(server);
    config.auth = c.auth;
    const Account account{"probe", Secret(c.password), c.master_user};
    const auto outcome = probe_once(server, config, account);
    EXPECT_EQ(outcome.failure, FailureClass::auth_rejected) << c.what << ": " << outcome.reason;
    EXPECT_THAT(outcome.reason, HasSubstr("Echo: ")) << c.what;
    expect_no_secret(outcome, account, c.what);
  }
}

// Untagged SEARCH results are what the IMAP deep check collects: a flood of them must
// neither grow the probe's memory nor its cleanup command past a fixed number of UIDs.
TEST(ProbeHostile, FloodOfSearchResultsIsCappedInTheDeepCheck) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::flood_untagged);
  options.flood_line = "* SEARCH";
  for (int uid = 1; uid <= 200; ++uid) options.flood_line += " " + std::to_string(uid);
  options.flood_bytes = 256 << 10;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.max_bytes = 8 << 20;
  config.imap_append_expunge = true;
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_TRUE(outcome.ok()) << outcome.reason << "\n" << outcome.transcript.back();
  const auto received = server.received();
  const auto store = std::find_if(received.begin(), received.end(), [](const auto& line) {
    return line.find("UID STORE") != std::string::npos;
  });
  ASSERT_NE(store, received.end());
  EXPECT_LE(std::count(store->begin(), store->end(), ','), 1000);
}

// POP3's cleanup reads LIST and then TOP per message: it looks at 1000 messages at most
// per probe, so a huge maildrop (or a backend listing one) bounds what a probe holds;
// the rest is cleaned up by the next probes.
TEST(ProbeHostile, Pop3CleanupLooksAtAThousandMessagesAtMost) {
  auto mailbox = std::make_shared<FakeMailbox>();
  for (int i = 0; i < 1005; ++i)
    mailbox->add("From: poolwatch <poolwatch@localhost>\r\nSubject: poolwatch-probe 1-" +
                 std::to_string(i) + "\r\n\r\nleft over\r\n");
  auto options = fake_options(Protocol::pop3);
  options.mailbox = mailbox;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.pop3_dele = true;
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  ASSERT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(mailbox->size(), 5u);
}
