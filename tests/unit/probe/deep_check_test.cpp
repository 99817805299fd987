#include "poolwatch/probe/deep_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

using namespace poolwatch;
using ::testing::HasSubstr;

namespace {

constexpr std::int64_t kProbeTime = 1700000000;  // Tue, 14 Nov 2023 22:13:20 UTC

}  // namespace

TEST(DeepCheckMarker, IsTheTimeAndTheRandomPartGiven) {
  EXPECT_EQ(deep_check::make_marker(kProbeTime, 0xdeadbeef), "poolwatch-probe 1700000000-deadbeef");
  EXPECT_EQ(deep_check::make_marker(kProbeTime, 7), "poolwatch-probe 1700000000-00000007");
  EXPECT_NE(deep_check::make_marker(kProbeTime, 1), deep_check::make_marker(kProbeTime, 2));
}

TEST(DeepCheckMarker, MessageIsDatedAndCarriesTheMarker) {
  const auto marker = deep_check::make_marker(kProbeTime, 0xdeadbeef);
  const auto message = deep_check::make_message(marker, "probe", kProbeTime);
  EXPECT_THAT(message, HasSubstr("\r\nSubject: " + marker + "\r\n"));
  EXPECT_THAT(message, HasSubstr("\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
  EXPECT_THAT(message,
              HasSubstr("\r\nMessage-ID: <1700000000-deadbeef.poolwatch-probe@localhost>"));
  EXPECT_THAT(message, HasSubstr("To: <probe>\r\n"));
  EXPECT_TRUE(message.ends_with("\r\n"));
  EXPECT_EQ(message.find("\n."), std::string::npos);  // no line a DATA dot could end
}

TEST(DeepCheckMarker, RecognisesProbeMessagesOnly) {
  const auto marker = deep_check::make_marker(kProbeTime, 1);
  EXPECT_EQ(deep_check::probe_subject("subject:  " + marker), true);
  EXPECT_EQ(deep_check::probe_subject("Subject:\t" + marker), true);
  EXPECT_EQ(deep_check::probe_subject("Subject: Re: poolwatch-probe 1"), false);
  EXPECT_EQ(deep_check::probe_subject("X-Subject: poolwatch-probe 1"), std::nullopt);
  EXPECT_EQ(deep_check::probe_subject("From: x"), std::nullopt);
}
