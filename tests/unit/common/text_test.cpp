#include "poolwatch/common/text.hpp"

#include <gtest/gtest.h>

using namespace poolwatch;

TEST(PrintableExcerpt, ReplacesControlBytesAndCuts) {
  EXPECT_EQ(printable_excerpt("ok line"), "ok line");
  EXPECT_EQ(printable_excerpt("a\x1b[2Jb\x7f\r\n"), "a?[2Jb???");
  EXPECT_EQ(printable_excerpt("a\tb"), "a\tb");
  EXPECT_EQ(printable_excerpt("a\tb", 10, false), "a?b");
  EXPECT_EQ(printable_excerpt("abcdef", 3), "abc...");
  EXPECT_EQ(printable_excerpt(std::string_view("a\0b", 3)), "a?b");
}

TEST(HasControlBytes, TabsAreTolerated) {
  EXPECT_FALSE(has_control_bytes("* OK\tready"));
  EXPECT_TRUE(has_control_bytes("* OK\rready"));
  EXPECT_TRUE(has_control_bytes(std::string_view("\0", 1)));
  EXPECT_TRUE(has_control_bytes("\x7f"));
}

TEST(AsciiCase, FoldsAsciiOnly) {
  EXPECT_EQ(ascii_upper("auth=plain \xc3\xa4"), "AUTH=PLAIN \xc3\xa4");
  EXPECT_TRUE(iequals("Capability", "CAPABILITY"));
  EXPECT_FALSE(iequals("CAPABILITY", "CAPABILITIES"));
}
