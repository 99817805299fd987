#include "poolwatch/probe/pop3_protocol.hpp"

#include <gtest/gtest.h>

using namespace poolwatch;
using namespace poolwatch::pop3;

TEST(Pop3Reply, DovecotGreetingWithCode) {
  const auto reply = parse_reply("+OK [XCLIENT] Dovecot ready.");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->kind, ReplyKind::ok);
  EXPECT_EQ(reply->code, "XCLIENT");
  EXPECT_EQ(reply->text, "Dovecot ready.");
}

TEST(Pop3Reply, OkAndErrForms) {
  EXPECT_EQ(parse_reply("+OK")->kind, ReplyKind::ok);
  EXPECT_EQ(parse_reply("+ok Logged in.")->kind, ReplyKind::ok);
  EXPECT_EQ(parse_reply("+OK Logged in.")->text, "Logged in.");
  EXPECT_EQ(parse_reply("-ERR")->kind, ReplyKind::err);
  const auto err = parse_reply("-ERR [AUTH] Authentication failed.");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, ReplyKind::err);
  EXPECT_EQ(err->code, "AUTH");
  EXPECT_EQ(describe(*err), "-ERR [AUTH] Authentication failed.");
  const auto cont = parse_reply("+ ");
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->kind, ReplyKind::continuation);
  EXPECT_EQ(parse_reply("+")->kind, ReplyKind::continuation);
}

TEST(Pop3Reply, DescribeReplacesC1ControlsAndInvalidUtf8) {
  const auto err = parse_reply(
      "-ERR \xed\xa0\x80 \xc2\x9b"
      "2J");
  ASSERT_TRUE(err);
  EXPECT_EQ(describe(*err), "-ERR \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ?2J");
}

TEST(Pop3Reply, UnterminatedCodeStaysText) {
  const auto reply = parse_reply("-ERR [AUTH broken");
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->code.empty());
  EXPECT_EQ(reply->text, "[AUTH broken");
}

TEST(Pop3Reply, Malformed) {
  for (std::string_view bad : {"", "OK", "+OKAY", "-ERROR x", "* OK [CAPABILITY IMAP4rev1] ready",
                               "220 lmtp", "+OK \x01", "\x01\x02garbage"})
    EXPECT_FALSE(parse_reply(bad)) << bad;
}

TEST(Pop3Auth, FailureClasses) {
  EXPECT_EQ(classify_auth_failure(*parse_reply(
                "-ERR [SYS/TEMP] Temporary authentication failure. [vm:2026-11-23 00:06:22]")),
            FailureClass::auth_temporary);
  EXPECT_EQ(classify_auth_failure(*parse_reply("-ERR [AUTH] Authentication failed.")),
            FailureClass::auth_rejected);
  EXPECT_EQ(classify_auth_failure(*parse_reply("-ERR [IN-USE] Mailbox locked")),
            FailureClass::auth_temporary);
  EXPECT_EQ(classify_auth_failure(*parse_reply("-ERR [SYS/PERM] broken")),
            FailureClass::auth_rejected);
  EXPECT_EQ(classify_auth_failure(*parse_reply("-ERR nope")), FailureClass::auth_rejected);
  EXPECT_EQ(
      classify_auth_failure(*parse_reply(
          "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")),
      FailureClass::config_error);
  EXPECT_EQ(classify_auth_failure(*parse_reply("+OK")), FailureClass::protocol_error);
}

TEST(Pop3Stat, ParsesCountAndSize) {
  const auto stat = parse_stat(*parse_reply("+OK 2 320"));
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->messages, 2u);
  EXPECT_EQ(stat->octets, 320u);
  EXPECT_EQ(parse_stat(*parse_reply("+OK 0 0"))->messages, 0u);
  EXPECT_TRUE(parse_stat(*parse_reply("+OK 1 10 extra")));
}

TEST(Pop3Stat, RejectsOtherReplies) {
  EXPECT_FALSE(parse_stat(*parse_reply("-ERR 2 320")));
  EXPECT_FALSE(parse_stat(*parse_reply("+OK")));
  EXPECT_FALSE(parse_stat(*parse_reply("+OK two 320")));
  EXPECT_FALSE(parse_stat(*parse_reply("+OK 2")));
  EXPECT_FALSE(parse_stat(*parse_reply("+OK 2 3x")));
  EXPECT_FALSE(parse_stat(*parse_reply("+OK 99999999999999999999999 1")));
}
