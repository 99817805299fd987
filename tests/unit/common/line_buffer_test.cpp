#include "poolwatch/common/line_buffer.hpp"

#include <gtest/gtest.h>

#include <string>

using poolwatch::LineBuffer;

TEST(LineBuffer, SplitsLinesAndStripsCr) {
  LineBuffer b(64);
  EXPECT_EQ(b.feed("* OK ready\r\na OK\n"), LineBuffer::Status::ok);
  EXPECT_EQ(b.next_line(), "* OK ready");
  EXPECT_EQ(b.next_line(), "a OK");
  EXPECT_FALSE(b.next_line());
}

TEST(LineBuffer, JoinsLinesSplitAcrossReads) {
  LineBuffer b(64);
  b.feed("VERS");
  EXPECT_FALSE(b.has_line());
  b.feed("ION\t1");
  b.feed("\n\n");
  EXPECT_EQ(b.next_line(), "VERSION\t1");
  EXPECT_EQ(b.next_line(), "");
  EXPECT_EQ(b.buffered(), 0u);
}

TEST(LineBuffer, ByteAtATimeDrip) {
  LineBuffer b(16);
  const std::string input = "+OK hi\r\n";
  for (char c : input) ASSERT_EQ(b.feed(std::string(1, c)), LineBuffer::Status::ok);
  EXPECT_EQ(b.next_line(), "+OK hi");
}

TEST(LineBuffer, LineAtTheCapIsAcceptedOneMoreIsNot) {
  LineBuffer ok(8);
  EXPECT_EQ(ok.feed("12345678\n"), LineBuffer::Status::ok);
  EXPECT_EQ(ok.next_line(), "12345678");
  LineBuffer tooLong(8);
  EXPECT_EQ(tooLong.feed("123456789\n"), LineBuffer::Status::line_too_long);
}

TEST(LineBuffer, EndlessLineIsRefusedBeforeItsEnd) {
  LineBuffer b(1024);
  LineBuffer::Status s = LineBuffer::Status::ok;
  int chunks = 0;
  while (s == LineBuffer::Status::ok && chunks < 100) {
    s = b.feed(std::string(100, 'x'));
    ++chunks;
  }
  EXPECT_EQ(s, LineBuffer::Status::line_too_long);
  EXPECT_EQ(chunks, 11);
}

TEST(LineBuffer, LongLineAfterShortOnesInOneRead) {
  LineBuffer b(4);
  EXPECT_EQ(b.feed("ab\ncd\nefghij\n"), LineBuffer::Status::line_too_long);
}

TEST(LineBuffer, ManyLinesStayBounded) {
  LineBuffer b(32);
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(b.feed("line\n"), LineBuffer::Status::ok);
    ASSERT_EQ(b.next_line(), "line");
  }
  EXPECT_EQ(b.buffered(), 0u);
}
