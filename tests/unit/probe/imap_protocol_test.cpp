#include "poolwatch/probe/imap_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace poolwatch;
using namespace poolwatch::imap;

namespace {

// Real Dovecot 2.3.19.1 lines from the lab notes.
constexpr std::string_view dovecot_greeting =
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
    "AUTH=PLAIN AUTH=LOGIN] Dovecot ready.";

}  // namespace

TEST(ImapGreeting, DovecotGreetingIsOkWithCapabilities) {
  const auto line = parse_response_line(dovecot_greeting);
  EXPECT_EQ(line.kind, LineKind::untagged);
  EXPECT_EQ(classify_greeting(line), GreetingKind::ok);
  EXPECT_EQ(line.text, "Dovecot ready.");
  const auto caps = capabilities_of(line);
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->size(), 10u);
  EXPECT_TRUE(caps->contains("STARTTLS"));
  EXPECT_TRUE(caps->contains("auth=plain"));
  EXPECT_TRUE(caps->contains("SASL-IR"));
  EXPECT_FALSE(caps->contains("LOGINDISABLED"));
}

// A word matches whole and in any case, never as a prefix or across the separator.
TEST(ImapGreeting, CapabilityListMatchesWholeWordsInAnyCase) {
  const CapabilityList caps("  IMAP4rev1   AUTH=PLAIN  sasl-ir ");
  EXPECT_EQ(caps.size(), 3u);
  EXPECT_EQ(caps.words(), (std::vector<std::string_view>{"IMAP4rev1", "AUTH=PLAIN", "sasl-ir"}));
  EXPECT_TRUE(caps.contains("SASL-IR"));
  EXPECT_TRUE(caps.contains("auth=plain"));
  EXPECT_FALSE(caps.contains("AUTH"));
  EXPECT_FALSE(caps.contains("PLAIN"));
  EXPECT_FALSE(caps.contains("AUTH=PLAIN SASL-IR"));
  EXPECT_FALSE(caps.contains(""));
  EXPECT_TRUE(CapabilityList("   ").empty());
  EXPECT_EQ(CapabilityList("").size(), 0u);
}

TEST(ImapGreeting, PlainOkWithoutCapabilityCode) {
  const auto line = parse_response_line("* OK IMAP4rev1 server ready");
  EXPECT_EQ(classify_greeting(line), GreetingKind::ok);
  EXPECT_FALSE(capabilities_of(line));
}

TEST(ImapGreeting, AuthWaitNoticeIsNotTheGreeting) {
  const auto line = parse_response_line("* OK Waiting for authentication process to respond..");
  EXPECT_EQ(classify_greeting(line), GreetingKind::auth_wait);
  EXPECT_TRUE(is_auth_wait_notice(line));
  EXPECT_FALSE(is_auth_wait_notice(parse_response_line(dovecot_greeting)));
}

TEST(ImapGreeting, PreauthAndByeAreNotOk) {
  EXPECT_EQ(
      classify_greeting(parse_response_line("* PREAUTH [CAPABILITY IMAP4rev1] Logged in as x")),
      GreetingKind::preauth);
  const auto bye = parse_response_line("* BYE Too many connections");
  EXPECT_EQ(classify_greeting(bye), GreetingKind::bye);
  EXPECT_EQ(describe(bye), "BYE Too many connections");
}

TEST(ImapGreeting, MalformedGreetings) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", "+OK Dovecot ready.", "220 ready", "* NO go away", "* BAD x",
           "* CAPABILITY IMAP4rev1", "*OK missing space", "HTTP/1.1 400",
           "* OK [CAPABILITY IMAP4rev1 unterminated", "\x01\x02garbage",
           std::string_view("* OK a\0b", 8)}) {
    EXPECT_EQ(classify_greeting(parse_response_line(bad)), GreetingKind::malformed) << bad;
  }
}

TEST(ImapResponse, TaggedOkNoBadWithCodes) {
  const auto ok = parse_response_line(
      "a OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT NOTIFY] Logged in");
  EXPECT_EQ(ok.kind, LineKind::tagged);
  EXPECT_EQ(ok.tag, "a");
  EXPECT_EQ(ok.status, Status::ok);
  EXPECT_EQ(ok.text, "Logged in");
  EXPECT_TRUE(capabilities_of(ok)->contains("NOTIFY"));

  const auto failed = parse_response_line("l NO [AUTHENTICATIONFAILED] Authentication failed.");
  EXPECT_EQ(failed.status, Status::no);
  EXPECT_EQ(failed.code, "AUTHENTICATIONFAILED");
  EXPECT_EQ(classify_login_failure(failed), FailureClass::auth_rejected);
  EXPECT_EQ(describe(failed), "NO [AUTHENTICATIONFAILED] Authentication failed.");

  const auto bad = parse_response_line("pw3 BAD Error in IMAP command LOGIN: Missing arguments");
  EXPECT_EQ(bad.status, Status::bad);
  EXPECT_TRUE(bad.code.empty());
  EXPECT_EQ(classify_login_failure(bad), FailureClass::protocol_error);
}

TEST(ImapResponse, LoginFailureClasses) {
  EXPECT_EQ(classify_login_failure(parse_response_line(
                "a NO [UNAVAILABLE] Temporary authentication failure. [vm:2026-11-23 00:06:22]")),
            FailureClass::auth_temporary);
  EXPECT_EQ(classify_login_failure(parse_response_line(
                "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                "(SSL/TLS) connections.")),
            FailureClass::config_error);
  EXPECT_EQ(classify_login_failure(parse_response_line("a NO Login failed")),
            FailureClass::auth_rejected);
  EXPECT_EQ(classify_login_failure(parse_response_line("a NO [unavailable] lower case")),
            FailureClass::auth_temporary);
  EXPECT_EQ(classify_login_failure(parse_response_line("a OK fine")), FailureClass::protocol_error);
}

TEST(ImapResponse, UntaggedDataAndContinuations) {
  const auto caps = parse_response_line("* CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS");
  EXPECT_EQ(caps.kind, LineKind::untagged);
  EXPECT_FALSE(caps.status);
  ASSERT_TRUE(capabilities_of(caps));
  EXPECT_TRUE(capabilities_of(caps)->contains("logindisabled"));

  const auto list = parse_response_line("* LIST (\\HasNoChildren) \".\" INBOX");
  EXPECT_EQ(list.kind, LineKind::untagged);
  EXPECT_FALSE(capabilities_of(list));
  EXPECT_EQ(list.data, "LIST (\\HasNoChildren) \".\" INBOX");

  EXPECT_EQ(parse_response_line("* 3 EXISTS").kind, LineKind::untagged);
  const auto cont = parse_response_line("+ ");
  EXPECT_EQ(cont.kind, LineKind::continuation);
  EXPECT_EQ(cont.data, "");
  EXPECT_EQ(parse_response_line("+ OK").data, "OK");
  EXPECT_EQ(parse_response_line("+").kind, LineKind::continuation);
}

TEST(ImapResponse, MalformedTaggedLines) {
  EXPECT_EQ(parse_response_line("a").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("a FOO bar").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("a PREAUTH x").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("a BYE x").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("(a OK x").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line(" a OK").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("a NO [UNAVAILABLE unterminated").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("a OK\x7f").kind, LineKind::malformed);
  EXPECT_EQ(parse_response_line("\xff\xfe OK").kind, LineKind::malformed);
}

TEST(ImapResponse, DescribeTruncatesLongText) {
  const auto line = parse_response_line("a NO " + std::string(1000, 'x'));
  EXPECT_LE(describe(line).size(), 203u);
}

// The text becomes a probe's failure reason, shown in logs, /status and the event log.
TEST(ImapResponse, DescribeReplacesC1ControlsAndInvalidUtf8) {
  const auto line = parse_response_line(
      "a NO caf\xe9 \xc2\x9b"
      "2J m\xc3\xbcller");
  EXPECT_EQ(describe(line), "NO caf\xef\xbf\xbd ?2J m\xc3\xbcller");
}

TEST(ImapQuote, EscapesQuoteAndBackslash) {
  EXPECT_EQ(quote_string("probe"), "\"probe\"");
  EXPECT_EQ(quote_string(""), "\"\"");
  EXPECT_EQ(quote_string("pa ss\"w\\d"), "\"pa ss\\\"w\\\\d\"");
  EXPECT_EQ(quote_string("{5}"), "\"{5}\"");
}

TEST(ImapQuote, RefusesWhatAQuotedStringCannotCarry) {
  EXPECT_FALSE(quote_string("a\rb"));
  EXPECT_FALSE(quote_string("a\nb"));
  EXPECT_FALSE(quote_string(std::string_view("a\0b", 3)));
  EXPECT_FALSE(quote_string("p\xc3\xa4ss"));
}
