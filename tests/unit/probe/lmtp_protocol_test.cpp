#include "poolwatch/probe/lmtp_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace poolwatch::lmtp;

namespace {

struct FeedResult {
  ReplyParser::Result last;
  Reply reply;
  std::size_t fed = 0;
};

FeedResult feed_all(const std::vector<std::string>& lines) {
  ReplyParser parser;
  FeedResult out{ReplyParser::Result::incomplete, {}, 0};
  for (const auto& line : lines) {
    out.last = parser.feed(line);
    ++out.fed;
    if (out.last != ReplyParser::Result::incomplete) break;
  }
  out.reply = parser.reply();
  return out;
}

}  // namespace

TEST(LmtpReply, DovecotGreeting) {
  const auto r = feed_all({"220 backend1.dlab.test Dovecot ready."});
  EXPECT_EQ(r.last, ReplyParser::Result::complete);
  EXPECT_EQ(r.reply.code, 220);
  EXPECT_TRUE(r.reply.positive());
  EXPECT_EQ(describe(r.reply), "220 backend1.dlab.test Dovecot ready.");
}

TEST(LmtpReply, DovecotLhloIsMultiLine) {
  const std::vector<std::string> lines = {
      "250-backend1.dlab.test",
      "250-8BITMIME",
      "250-CHUNKING",
      "250-ENHANCEDSTATUSCODES",
      "250-PIPELINING",
      "250-STARTTLS",
      "250-XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT",
      "250 XRCPTFORWARD"};
  const auto r = feed_all(lines);
  EXPECT_EQ(r.last, ReplyParser::Result::complete);
  EXPECT_EQ(r.fed, lines.size());
  EXPECT_EQ(r.reply.code, 250);
  EXPECT_EQ(r.reply.lines.size(), lines.size());
  EXPECT_EQ(r.reply.lines.front(), "backend1.dlab.test");
  const auto ext = extensions_of(r.reply);
  EXPECT_EQ(ext.size(), 7u);
  EXPECT_TRUE(has_extension(r.reply, "starttls"));
  EXPECT_TRUE(has_extension(r.reply, "XCLIENT"));
  EXPECT_FALSE(has_extension(r.reply, "backend1.dlab.test"));
  EXPECT_FALSE(has_extension(r.reply, "AUTH"));
}

TEST(LmtpReply, ContinuationThenIncomplete) {
  ReplyParser parser;
  EXPECT_EQ(parser.feed("220-first"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("220-second"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("220 third"), ReplyParser::Result::complete);
  EXPECT_EQ(parser.reply().lines.size(), 3u);
  parser.reset();
  EXPECT_EQ(parser.feed("250"), ReplyParser::Result::complete);
  EXPECT_EQ(parser.reply().code, 250);
  EXPECT_EQ(parser.reply().lines.size(), 1u);
  EXPECT_EQ(describe(parser.reply()), "250");
}

TEST(LmtpReply, RcptReplies) {
  const auto ok = feed_all({"250 2.1.5 OK"});
  EXPECT_TRUE(ok.reply.positive());
  const auto rejected =
      feed_all({"550 5.1.1 <nosuch@dlab.test> User doesn't exist: nosuch@dlab.test"});
  EXPECT_EQ(rejected.reply.code, 550);
  EXPECT_TRUE(rejected.reply.permanent_failure());
  EXPECT_FALSE(rejected.reply.positive());
  const auto temp = feed_all({"451 4.3.0 <probe> Temporary internal error"});
  EXPECT_TRUE(temp.reply.transient_failure());
  EXPECT_EQ(describe(temp.reply), "451 4.3.0 <probe> Temporary internal error");
}

TEST(LmtpReply, DescribeReplacesC1ControlsAndInvalidUtf8) {
  const auto odd = feed_all({"451 4.3.0 \xc0\xaf\xc2\x85x"});
  EXPECT_EQ(describe(odd.reply), "451 4.3.0 \xef\xbf\xbd\xef\xbf\xbd?x");
}

TEST(LmtpReply, Malformed) {
  for (std::string bad : {"", "25", "abc hello", "250x", "2500 x", "600 out of range",
                          "050 too low", "* OK IMAP", "+OK pop3", "250\x01", "\x01\x02garbage"}) {
    ReplyParser parser;
    EXPECT_EQ(parser.feed(bad), ReplyParser::Result::malformed) << bad;
  }
}

TEST(LmtpReply, CodeMustNotChangeWithinAReply) {
  const auto r = feed_all({"250-one", "220 two"});
  EXPECT_EQ(r.last, ReplyParser::Result::malformed);
}

TEST(LmtpReply, EndlessContinuationIsCapped) {
  ReplyParser parser(4);
  EXPECT_EQ(parser.feed("250-a"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("250-b"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("250-c"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("250-d"), ReplyParser::Result::malformed);
}

TEST(LmtpReply, CappedParserStillTakesFinalLine) {
  ReplyParser parser(2);
  EXPECT_EQ(parser.feed("250-a"), ReplyParser::Result::incomplete);
  EXPECT_EQ(parser.feed("250 b"), ReplyParser::Result::complete);
}
