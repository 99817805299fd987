#include "poolwatch/probe/probe_outcome.hpp"

#include <gtest/gtest.h>

#include "poolwatch/config/secret.hpp"

using namespace poolwatch;

TEST(ProbeOutcome, ProtocolNamesRoundTrip) {
  for (auto p : {Protocol::imap, Protocol::pop3, Protocol::lmtp})
    EXPECT_EQ(protocol_from_string(to_string(p)), p);
  EXPECT_EQ(protocol_from_string("IMAP"), Protocol::imap);
  EXPECT_FALSE(protocol_from_string("smtp"));
}

TEST(ProbeOutcome, OkOnlyWithoutFailure) {
  ProbeOutcome o;
  EXPECT_TRUE(o.ok());
  o.failure = FailureClass::auth_rejected;
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(to_string(o.failure), "auth rejected");
}

TEST(Secret, NeverFormatsItsValue) {
  Secret s("hunter2");
  EXPECT_EQ(fmt::format("pw={}", s), "pw=<redacted>");
  EXPECT_EQ(s.reveal(), "hunter2");
}
