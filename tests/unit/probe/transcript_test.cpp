#include "poolwatch/probe/transcript.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace poolwatch;

TEST(Transcript, KeepsEveryLineOfAShortDialogue) {
  Transcript transcript;
  transcript.add("S: * OK ready");
  transcript.add("C: pw1 LOGOUT");
  EXPECT_EQ(transcript.lines(), (std::vector<std::string>{"S: * OK ready", "C: pw1 LOGOUT"}));
  EXPECT_EQ(transcript.omitted(), 0u);
}

TEST(Transcript, KeepsTheFirstAndLastLinesAndCountsTheRest) {
  Transcript transcript({.head_lines = 2, .tail_lines = 3, .max_line = 100, .max_bytes = 1000});
  for (int i = 1; i <= 10; ++i) transcript.add("line " + std::to_string(i));
  EXPECT_EQ(transcript.lines(),
            (std::vector<std::string>{"line 1", "line 2", "-- ... 5 lines omitted", "line 8",
                                      "line 9", "line 10"}));
  EXPECT_EQ(transcript.omitted(), 5u);
}

TEST(Transcript, SaysOneLineInTheSingular) {
  Transcript transcript({.head_lines = 1, .tail_lines = 1, .max_line = 100, .max_bytes = 1000});
  for (int i = 1; i <= 3; ++i) transcript.add("line " + std::to_string(i));
  EXPECT_EQ(transcript.lines().at(1), "-- ... 1 line omitted");
}

TEST(Transcript, CutsLongLines) {
  Transcript transcript({.head_lines = 5, .tail_lines = 5, .max_line = 4, .max_bytes = 1000});
  transcript.add("abcdefgh");
  EXPECT_EQ(transcript.lines(), std::vector<std::string>{"abcd..."});
}

TEST(Transcript, ByteCapHoldsWhateverTheLineCount) {
  const TranscriptLimits limits{
      .head_lines = 1000, .tail_lines = 1000, .max_line = 100, .max_bytes = 1000};
  Transcript transcript(limits);
  const std::string line(100, 'x');
  for (int i = 0; i < 100000; ++i) transcript.add(line);
  EXPECT_LE(transcript.kept_bytes(), limits.max_bytes);
  std::size_t shown = 0;
  for (const auto& kept : transcript.lines()) shown += kept.size();
  EXPECT_LE(shown, limits.max_bytes + 40);  // and the marker
  EXPECT_EQ(transcript.omitted() + transcript.lines().size() - 1, 100000u);
}

TEST(Transcript, AnOverlongLineClosesTheHeadSoOrderIsKept) {
  Transcript transcript({.head_lines = 10, .tail_lines = 10, .max_line = 100, .max_bytes = 20});
  transcript.add("first");
  transcript.add(std::string(11, 'x'));  // does not fit the head's 10 bytes
  transcript.add("late");                // would fit, but comes after the long line
  EXPECT_EQ(transcript.lines(),
            (std::vector<std::string>{"first", "-- ... 1 line omitted", "late"}));
}
