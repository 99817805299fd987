// The peer exchange's signatures and replay guard, stepped by hand with a fixed clock.

#include "poolwatch/peer/peer_auth.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace poolwatch::peer;

namespace {

constexpr std::int64_t kPeerClock = 1'767'225'600;
const std::string kRingSecret(40, 's');

}  // namespace

TEST(PeerAuth, HmacIsRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(PeerAuth, MacMatchesOnlyTheSignedBytesUnderTheSameSecret) {
  const std::string bytes = signed_bytes("request", "/ring/v1/report", kPeerClock, "ab12", "{}");
  const std::string mac = hmac_sha256_hex(kRingSecret, bytes);
  EXPECT_TRUE(mac_matches(kRingSecret, bytes, mac));
  EXPECT_FALSE(mac_matches(std::string(40, 't'), bytes, mac));
  EXPECT_FALSE(mac_matches(
      kRingSecret, signed_bytes("request", "/ring/v1/report", kPeerClock, "ab12", "{ }"), mac));
  EXPECT_FALSE(mac_matches(
      kRingSecret, signed_bytes("reply", "/ring/v1/report", kPeerClock, "ab12", "{}"), mac));
  EXPECT_FALSE(mac_matches(kRingSecret, bytes, mac.substr(1)));
  EXPECT_FALSE(mac_matches(kRingSecret, bytes, ""));
}

TEST(PeerAuth, SignedBytesKeepFieldsApart) {
  // Moving a byte from one field into the next must change what is signed.
  EXPECT_NE(signed_bytes("reply", "n1\n5", kPeerClock, "n", "x"),
            signed_bytes("reply", "n1", kPeerClock, "n", "5\nx"));
  EXPECT_NE(signed_bytes("reply", "ab", kPeerClock, "n", ""),
            signed_bytes("reply", "a", kPeerClock, "n", "b"));
}

TEST(PeerAuth, NoncesAreFreshHex) {
  const std::string first = random_nonce();
  const std::string second = random_nonce();
  EXPECT_EQ(first.size(), 32u);
  EXPECT_TRUE(valid_nonce(first));
  EXPECT_NE(first, second);
  EXPECT_FALSE(valid_nonce("short"));
  EXPECT_FALSE(valid_nonce(std::string(32, 'g')));
  EXPECT_FALSE(valid_nonce(std::string(65, 'a')));
  std::string with_newline(32, 'a');
  with_newline.back() = '\n';
  EXPECT_FALSE(valid_nonce(with_newline));
}

TEST(ReplayGuard, AcceptsANonceOnceWithinTheWindow) {
  ReplayGuard guard(std::chrono::seconds(30), 100);
  EXPECT_EQ(guard.check(kPeerClock, "aaaa", kPeerClock), ReplayVerdict::accepted);
  EXPECT_EQ(guard.check(kPeerClock, "aaaa", kPeerClock + 5), ReplayVerdict::replayed);
  EXPECT_EQ(guard.check(kPeerClock + 1, "bbbb", kPeerClock + 5), ReplayVerdict::accepted);
}

TEST(ReplayGuard, RefusesTimesOutsideTheWindowBothWays) {
  ReplayGuard guard(std::chrono::seconds(30), 100);
  EXPECT_EQ(guard.check(kPeerClock - 31, "aaaa", kPeerClock), ReplayVerdict::stale);
  EXPECT_EQ(guard.check(kPeerClock + 31, "bbbb", kPeerClock), ReplayVerdict::stale);
  EXPECT_EQ(guard.check(kPeerClock - 30, "cccc", kPeerClock), ReplayVerdict::accepted);
}

TEST(ReplayGuard, AnExpiredNonceReplayedLaterIsStaleNotAccepted) {
  ReplayGuard guard(std::chrono::seconds(30), 100);
  ASSERT_EQ(guard.check(kPeerClock, "aaaa", kPeerClock), ReplayVerdict::accepted);
  EXPECT_EQ(guard.check(kPeerClock, "aaaa", kPeerClock + 31), ReplayVerdict::stale);
  EXPECT_EQ(guard.size(), 0u);  // forgotten once out of the window
}

TEST(ReplayGuard, AFloodIsRefusedWithoutEvictingLiveNonces) {
  ReplayGuard guard(std::chrono::seconds(30), 3);
  for (const char* nonce : {"n1n1", "n2n2", "n3n3"})
    ASSERT_EQ(guard.check(kPeerClock, nonce, kPeerClock), ReplayVerdict::accepted);
  EXPECT_EQ(guard.check(kPeerClock, "n4n4", kPeerClock), ReplayVerdict::full);
  EXPECT_EQ(guard.check(kPeerClock, "n1n1", kPeerClock), ReplayVerdict::replayed);
  EXPECT_EQ(guard.size(), 3u);
  EXPECT_EQ(guard.check(kPeerClock + 31, "n4n4", kPeerClock + 31), ReplayVerdict::accepted);
}
