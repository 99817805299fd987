#include "poolwatch/probe/probe_outcome.hpp"

#include <gtest/gtest.h>

#include <cerrno>

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

TEST(ProbeOutcome, LocalResourceMeansTheProbeDidNotRun) {
  ProbeOutcome o;
  EXPECT_TRUE(o.ran());
  o.failure = FailureClass::connect_refused;
  EXPECT_TRUE(o.ran());
  o.failure = FailureClass::local_resource;
  EXPECT_FALSE(o.ran());
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(to_string(o.failure), "local resource exhausted");
}

TEST(ProbeOutcome, LocalResourceErrnosAreOursNotTheBackends) {
  for (int error : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL})
    EXPECT_TRUE(is_local_resource_error(error)) << error;
  for (int error : {0, ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, EPIPE})
    EXPECT_FALSE(is_local_resource_error(error)) << error;
}

TEST(Secret, NeverFormatsItsValue) {
  Secret s("hunter2");
  EXPECT_EQ(fmt::format("pw={}", s), "pw=<redacted>");
  EXPECT_EQ(s.reveal(), "hunter2");
}
