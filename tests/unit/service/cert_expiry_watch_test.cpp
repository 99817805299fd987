#include "poolwatch/service/cert_expiry_watch.hpp"

#include <gtest/gtest.h>

#include "poolwatch/common/text.hpp"

namespace poolwatch {
namespace cert_expiry_watch_test {

constexpr std::int64_t kDay = CertExpiryWatch::kDay;
constexpr std::int64_t kNow = 1700000000;
using Kind = CertExpiryWatch::Notice::Kind;

TEST(CertExpiryWatch, WarnsOnceWhenTheEarliestExpiryComesWithinTwoWeeks) {
  CertExpiryWatch watch;
  const auto expiry = kNow + 20 * kDay;
  EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", expiry, kNow));
  EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", expiry, kNow + 5 * kDay));
  const auto notice = watch.record("10.0.0.1", "imaps:993", expiry, kNow + 6 * kDay + 1);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->kind, Kind::expires_soon);
  EXPECT_EQ(notice->check, "imaps:993");
  EXPECT_EQ(notice->not_after, expiry);
  EXPECT_EQ(notice->days_left, 13);
  // Every later probe of the same certificate is quiet, to the day it expires and after.
  for (std::int64_t day = 7; day < 25; ++day)
    EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", expiry, kNow + day * kDay)) << day;
}

TEST(CertExpiryWatch, TheEarliestOfTheBackendsChecksCounts) {
  CertExpiryWatch watch;
  EXPECT_FALSE(watch.earliest("10.0.0.1"));
  EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", kNow + 90 * kDay, kNow));
  const auto notice = watch.record("10.0.0.1", "pop3s:995", kNow + 3 * kDay, kNow);
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->check, "pop3s:995");
  EXPECT_EQ(watch.earliest("10.0.0.1"), kNow + 3 * kDay);
  // The longer-lived check's next probe does not repeat the warning.
  EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", kNow + 90 * kDay, kNow + 60));
  // Backends are apart.
  EXPECT_FALSE(watch.earliest("10.0.0.2"));
  EXPECT_FALSE(watch.record("10.0.0.2", "imaps:993", kNow + 90 * kDay, kNow));
}

TEST(CertExpiryWatch, ANewShortLivedCertificateWarnsAgainAndARenewalSaysSo) {
  CertExpiryWatch watch;
  ASSERT_TRUE(watch.record("10.0.0.1", "imaps:993", kNow + 5 * kDay, kNow));
  const auto replaced = watch.record("10.0.0.1", "imaps:993", kNow + 12 * kDay, kNow + kDay);
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->kind, Kind::expires_soon);
  EXPECT_EQ(replaced->days_left, 11);
  const auto renewed = watch.record("10.0.0.1", "imaps:993", kNow + 90 * kDay, kNow + 2 * kDay);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->kind, Kind::renewed);
  EXPECT_EQ(renewed->days_left, 88);
  EXPECT_FALSE(watch.record("10.0.0.1", "imaps:993", kNow + 90 * kDay, kNow + 3 * kDay));
}

TEST(CertExpiryWatch, ForgetsABackendThatLeft) {
  CertExpiryWatch watch;
  ASSERT_TRUE(watch.record("10.0.0.1", "imaps:993", kNow + 5 * kDay, kNow));
  watch.forget("10.0.0.1");
  EXPECT_FALSE(watch.earliest("10.0.0.1"));
  // Back in the pool, it is warned about afresh.
  EXPECT_TRUE(watch.record("10.0.0.1", "imaps:993", kNow + 5 * kDay, kNow));
}

TEST(DaysUntil, RoundsDownAlsoPastTheExpiry) {
  EXPECT_EQ(days_until(kNow + 14 * kDay, kNow), 14);
  EXPECT_EQ(days_until(kNow + 14 * kDay - 1, kNow), 13);
  EXPECT_EQ(days_until(kNow, kNow), 0);
  EXPECT_EQ(days_until(kNow - 1, kNow), -1);
  EXPECT_EQ(days_until(kNow - kDay, kNow), -1);
  EXPECT_EQ(days_until(kNow - kDay - 1, kNow), -2);
}

}  // namespace cert_expiry_watch_test
}  // namespace poolwatch
