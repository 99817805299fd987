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

// The bytes a terminal acts on, each alone: ESC, CR, BEL, NUL, and CSI as a C1 control.
TEST(PrintableExcerpt, ReplacesEveryControlATerminalActsOn) {
  EXPECT_EQ(printable_excerpt("a\x1b]0;owned\x07"
                              "b"),
            "a?]0;owned?b");
  EXPECT_EQ(printable_excerpt("ok\rEVIL up"), "ok?EVIL up");
  EXPECT_EQ(printable_excerpt(std::string_view("x\0y\ay", 5)), "x?y?y");
  EXPECT_EQ(printable_excerpt("a\xc2\x9b"
                              "2Jb"),
            "a?2Jb");                                                    // U+009B CSI
  EXPECT_EQ(printable_excerpt("\xc2\x80\xc2\x9f"), "??");                // the ends of C1
  EXPECT_EQ(printable_excerpt("\xc2\xa0\xc2\xa9"), "\xc2\xa0\xc2\xa9");  // after C1: kept
}

// Characters that reorder what follows on screen (Trojan Source, CVE-2021-42574) or that
// log viewers break lines at: "\u202Epu LIVE" shows as "EVIL up".
TEST(PrintableExcerpt, ReplacesBidiOverridesAndLineSeparators) {
  EXPECT_EQ(printable_excerpt("\xe2\x80\xaepu LIVE"), "?pu LIVE");          // U+202E RLO
  EXPECT_EQ(printable_excerpt("\xe2\x80\xaa\xe2\x80\xac"), "??");           // U+202A, U+202C
  EXPECT_EQ(printable_excerpt("\xe2\x81\xa6\xe2\x81\xa9"), "??");           // U+2066..U+2069
  EXPECT_EQ(printable_excerpt("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"), "???");  // LRM RLM ALM
  EXPECT_EQ(printable_excerpt("a\xe2\x80\xa8"
                              "b\xe2\x80\xa9"
                              "c"),
            "a?b?c");  // U+2028, U+2029
  // Their neighbours are ordinary punctuation and stay.
  EXPECT_EQ(printable_excerpt("\xe2\x80\xa6\xe2\x80\xb0\xe2\x81\xa5"),
            "\xe2\x80\xa6\xe2\x80\xb0\xe2\x81\xa5");
}

TEST(PrintableExcerpt, ReplacesInvalidUtf8AndKeepsValidUtf8) {
  constexpr std::string_view kFffd = "\xef\xbf\xbd";
  const auto fffd = [&](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += kFffd;
    return out;
  };
  EXPECT_EQ(printable_excerpt("m\xc3\xbcller \xf0\x9f\x93\xab \xe2\x82\xac"),
            "m\xc3\xbcller \xf0\x9f\x93\xab \xe2\x82\xac");
  EXPECT_EQ(printable_excerpt("a\xc0\xaf"
                              "b"),
            "a" + fffd(2) + "b");                                 // overlong '/'
  EXPECT_EQ(printable_excerpt("\xe0\x80\xaf"), fffd(3));          // overlong, 3 bytes
  EXPECT_EQ(printable_excerpt("\xed\xa0\x80"), fffd(3));          // surrogate U+D800
  EXPECT_EQ(printable_excerpt("\xf4\x90\x80\x80"), fffd(4));      // past U+10FFFF
  EXPECT_EQ(printable_excerpt("\xf8\x88\x80\x80\x80"), fffd(5));  // 5-byte form
  EXPECT_EQ(printable_excerpt("ab\xe2\x82"), "ab" + fffd(2));     // truncated at end
  EXPECT_EQ(printable_excerpt("\xe2\x82x"), fffd(2) + "x");       // truncated inside
  EXPECT_EQ(printable_excerpt("\x80\xbf"), fffd(2));              // stray continuation
  EXPECT_EQ(printable_excerpt("latin-1 caf\xe9"), "latin-1 caf" + fffd(1));
}

TEST(PrintableExcerpt, NeverCutsInsideACharacter) {
  EXPECT_EQ(printable_excerpt("ab\xc3\xbc", 3), "ab...");
  EXPECT_EQ(printable_excerpt("ab\xc3\xbc", 4), "ab\xc3\xbc");
  EXPECT_EQ(printable_excerpt("\xf0\x9f\x93\xab!", 2), "...");
}

TEST(PrintableExcerpt, IsIdempotent) {
  const std::string hostile = "a\x1b[2J\r\n\xc2\x9b\xc0\xaf\xed\xa0\x80m\xc3\xbcller\t";
  const auto once = printable_excerpt(hostile, 1000);
  EXPECT_EQ(printable_excerpt(once, 1000), once);
}

TEST(Utf8SequenceLength, MeasuresWellFormedSequencesOnly) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xc3\xbc", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xef\xbf\xbd", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf4\x8f\xbf\xbf", 0), 4u);  // U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xc1\xbf", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xc3", 0), 0u);
}

TEST(HasControlBytes, TabsAreTolerated) {
  EXPECT_FALSE(has_control_bytes("* OK\tready"));
  EXPECT_TRUE(has_control_bytes("* OK\rready"));
  EXPECT_TRUE(has_control_bytes(std::string_view("\0", 1)));
  EXPECT_TRUE(has_control_bytes("\x7f"));
}

// The check goes a word at a time: every byte value at every place of a line longer
// than two words, next to bytes that are not controls, high ones included.
TEST(HasControlBytes, EveryByteAtEveryPlace) {
  for (int value = 0; value < 256; ++value) {
    const char byte = static_cast<char>(value);
    const bool control = (value < 0x20 && value != '\t') || value == 0x7f;
    for (std::size_t place = 0; place < 19; ++place) {
      std::string line(19, place % 2 ? '\xff' : '\x80');
      line.replace(0, 3, "\t~ ");
      line[place] = byte;
      ASSERT_EQ(has_control_bytes(line), control) << "byte " << value << " at " << place;
    }
  }
  EXPECT_FALSE(has_control_bytes(std::string(64, '\t')));
  EXPECT_FALSE(has_control_bytes(""));
}

TEST(AsciiCase, FoldsAsciiOnly) {
  EXPECT_EQ(ascii_upper("auth=plain \xc3\xa4"), "AUTH=PLAIN \xc3\xa4");
  EXPECT_TRUE(iequals("Capability", "CAPABILITY"));
  EXPECT_FALSE(iequals("CAPABILITY", "CAPABILITIES"));
}
