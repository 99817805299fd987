#include "poolwatch/probe/secret_scrubber.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "poolwatch/probe/sasl.hpp"

using namespace poolwatch;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SecretScrubber, WithoutASecretTextIsUnchanged) {
  const SecretScrubber nothing;
  EXPECT_EQ(nothing.scrub("pw1 OK Logged in..."), "pw1 OK Logged in...");
  EXPECT_TRUE(SecretScrubber::for_login("probe", "", "").empty());
}

TEST(SecretScrubber, RawPasswordAnyCase) {
  const auto scrubber = SecretScrubber::for_login("probe", "", "Sekr3t");
  EXPECT_EQ(scrubber.scrub("-ERR Unknown command: PASS Sekr3t"),
            "-ERR Unknown command: PASS <redacted>");
  EXPECT_EQ(scrubber.scrub("-ERR UNKNOWN COMMAND: PASS SEKR3T, sekr3t"),
            "-ERR UNKNOWN COMMAND: PASS <redacted>, <redacted>");
}

TEST(SecretScrubber, ImapQuotedFormWithEscapes) {
  const auto scrubber = SecretScrubber::for_login("probe", "", "pa\"ss\\wd");
  EXPECT_EQ(scrubber.scrub("* BAD pw1 LOGIN \"probe\" \"pa\\\"ss\\\\wd\""),
            "* BAD pw1 LOGIN \"probe\" \"<redacted>\"");
}

TEST(SecretScrubber, SaslPlainResponsesOfNormalAndMasterLogin) {
  const auto scrubber = SecretScrubber::for_login("probe", "master", "masterpass");
  const auto normal = sasl_plain_response("", "probe", "masterpass");
  const auto master = sasl_plain_response("probe", "master", "masterpass");
  EXPECT_EQ(scrubber.scrub("* BAD pw1 AUTHENTICATE PLAIN " + master),
            "* BAD pw1 AUTHENTICATE PLAIN <redacted>");
  EXPECT_EQ(scrubber.scrub("-ERR " + normal), "-ERR <redacted>");
}

TEST(SecretScrubber, ControlBytesAsPrintableExcerptShowsThem) {
  const auto scrubber = SecretScrubber::for_login("probe", "", std::string("pass\x01word"));
  EXPECT_EQ(scrubber.scrub("-ERR pass?word"), "-ERR <redacted>");
}

TEST(SecretScrubber, StartOfAFormCutOffByTruncationIsRedactedToo) {
  const auto scrubber = SecretScrubber::for_login("probe", "", "correct-horse-battery");
  EXPECT_EQ(scrubber.scrub("login failed: NO Echo: \"correct-hor..."),
            "login failed: NO Echo: \"<redacted>...");
  EXPECT_EQ(scrubber.scrub("server said BYE x correct-h... while waiting for LOGIN reply"),
            "server said BYE x <redacted>... while waiting for LOGIN reply");
  // Text cut elsewhere keeps what does not start a form.
  EXPECT_EQ(scrubber.scrub("NO Authentication failed..."), "NO Authentication failed...");
}

TEST(SecretScrubber, EveryOccurrenceAndTheWidestForm) {
  const auto scrubber = SecretScrubber::for_login("probe", "", "abc\"def");
  // The quoted form abc\"def contains neither abc"def nor is contained in it; both go.
  const auto scrubbed = scrubber.scrub("x abc\"def y abc\\\"def z");
  EXPECT_EQ(scrubbed, "x <redacted> y <redacted> z");
  EXPECT_THAT(scrubbed, Not(HasSubstr("abc")));
}
