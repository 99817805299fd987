#include "poolwatch/ring/envelope.hpp"

#include <gtest/gtest.h>

#include <string>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class EnvelopeTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = FakeClock::kUnixStart;
  static constexpr const char* kNonce1 = "00112233445566778899aabbccddeeff";
  static constexpr const char* kNonce2 = "ffeeddccbbaa99887766554433221100";

  static EnvelopeHeader request(std::string nonce = kNonce1, std::int64_t at = kNow) {
    return {MessageKind::request, kA, kB, at, std::move(nonce), {}};
  }
  static EnvelopeHeader reply_to(const EnvelopeHeader& request, std::string nonce = kNonce2) {
    return {MessageKind::reply,     request.recipient, request.sender,
            request.timestamp_unix, std::move(nonce),  request.nonce};
  }
};

TEST_F(EnvelopeTest, SigningInputIsFixedLineByLine) {
  EXPECT_EQ(signing_input(request(), "{\"x\":1}"),
            "poolwatch-ring-hmac-v1\nrequest\n127.0.0.1:9090\n127.0.0.21:9090\n1800000000\n"
            "00112233445566778899aabbccddeeff\n\n7\n{\"x\":1}");
  EXPECT_EQ(signing_input(reply_to(request()), ""),
            "poolwatch-ring-hmac-v1\nreply\n127.0.0.21:9090\n127.0.0.1:9090\n1800000000\n"
            "ffeeddccbbaa99887766554433221100\n00112233445566778899aabbccddeeff\n0\n");
}

TEST_F(EnvelopeTest, EveryHeaderFieldChangesTheSignedBytes) {
  const auto base = signing_input(request(), "body");
  auto other = request();
  other.recipient = kC;
  EXPECT_NE(signing_input(other, "body"), base);
  other = request(kNonce2);
  EXPECT_NE(signing_input(other, "body"), base);
  other = request(kNonce1, kNow + 1);
  EXPECT_NE(signing_input(other, "body"), base);
  EXPECT_NE(signing_input(request(), "bodY"), base);
  EXPECT_NE(signing_input(reply_to(request(), kNonce1), "body"), base);
}

TEST_F(EnvelopeTest, MalformedHeaders) {
  EXPECT_FALSE(header_problem(request()));
  EXPECT_FALSE(header_problem(reply_to(request())));
  EXPECT_TRUE(header_problem(request("short")));
  EXPECT_TRUE(header_problem(request("00112233445566778899AABBCCDDEEFF")));  // upper case
  EXPECT_TRUE(header_problem(request(kNonce1, 0)));
  auto bad = request();
  bad.in_reply_to = kNonce2;
  EXPECT_TRUE(header_problem(bad));
  bad = reply_to(request());
  bad.in_reply_to.clear();
  EXPECT_TRUE(header_problem(bad));
  bad = request();
  bad.recipient = bad.sender;
  EXPECT_TRUE(header_problem(bad));
}

TEST_F(EnvelopeTest, ReplayIsRefused) {
  ReplayGuard guard(std::chrono::seconds(30), 100);
  EXPECT_EQ(guard.check(request(), kNow), ReplayGuard::Check::fresh);
  EXPECT_EQ(guard.check(request(), kNow + 1), ReplayGuard::Check::replayed);
  EXPECT_EQ(guard.check(request(kNonce2), kNow + 1), ReplayGuard::Check::fresh);
  // The same nonce from another sender is another message.
  auto from_c = request();
  from_c.sender = kC;
  EXPECT_EQ(guard.check(from_c, kNow + 1), ReplayGuard::Check::fresh);
}

TEST_F(EnvelopeTest, OldAndFutureMessagesAreRefused) {
  ReplayGuard guard(std::chrono::seconds(30), 100);
  EXPECT_EQ(guard.check(request(kNonce1, kNow - 31), kNow), ReplayGuard::Check::too_old);
  EXPECT_EQ(guard.check(request(kNonce1, kNow + 31), kNow), ReplayGuard::Check::too_new);
  EXPECT_EQ(guard.check(request(kNonce1, kNow - 30), kNow), ReplayGuard::Check::fresh);
  EXPECT_EQ(guard.check(request("bad"), kNow), ReplayGuard::Check::malformed);
}

TEST_F(EnvelopeTest, NoncesAreForgottenOnlyWhenTheirTimestampWouldFail) {
  ReplayGuard guard(std::chrono::seconds(30), 2);
  EXPECT_EQ(guard.check(request(kNonce1), kNow), ReplayGuard::Check::fresh);
  EXPECT_EQ(guard.check(request(kNonce2), kNow), ReplayGuard::Check::fresh);
  // Full while both could still be replayed: a third is refused, not let in by forgetting.
  EXPECT_EQ(guard.check(request("0123456789abcdef0123456789abcdef"), kNow + 10),
            ReplayGuard::Check::full);
  // Later the first two are too old anyway and make room.
  EXPECT_EQ(guard.check(request("0123456789abcdef0123456789abcdef", kNow + 40), kNow + 40),
            ReplayGuard::Check::fresh);
  EXPECT_EQ(guard.remembered(), 1u);
  EXPECT_EQ(guard.check(request(kNonce1), kNow + 40), ReplayGuard::Check::too_old);
}

TEST_F(EnvelopeTest, AReplyMustAnswerTheRequestFromTheOneAsked) {
  const auto asked = request();
  EXPECT_FALSE(reply_problem(reply_to(asked), asked));
  auto reply = reply_to(asked);
  reply.in_reply_to = kNonce2;
  EXPECT_TRUE(reply_problem(reply, asked));
  reply = reply_to(asked);
  reply.sender = kC;
  EXPECT_NE(reply_problem(reply, asked)->find("127.0.0.22:9090"), std::string::npos);
  reply = reply_to(asked);
  reply.recipient = kC;
  EXPECT_TRUE(reply_problem(reply, asked));
  EXPECT_TRUE(reply_problem(asked, asked));
}
