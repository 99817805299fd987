#include "poolwatch/probe/cert_expiry.hpp"

#include <gtest/gtest.h>
#include <openssl/asn1.h>

#include <memory>

namespace poolwatch {
namespace cert_expiry_test {

struct TimeFree {
  void operator()(ASN1_TIME* t) const { ASN1_TIME_free(t); }
};

std::optional<std::int64_t> unix_of(const char* asn1_text) {
  std::unique_ptr<ASN1_TIME, TimeFree> time(ASN1_TIME_new());
  if (ASN1_TIME_set_string(time.get(), asn1_text) != 1) return std::nullopt;
  return asn1_time_unix(time.get());
}

// Certificates carry UTCTime (two-digit years, up to 2049) or GeneralizedTime; both are
// UTC, whatever the machine's time zone.
TEST(CertExpiry, ReadsBothAsn1TimeFormsAsUtc) {
  EXPECT_EQ(unix_of("20300101000000Z"), 1893456000);
  EXPECT_EQ(unix_of("231114221320Z"), 1700000000);
  EXPECT_EQ(unix_of("491231235959Z"), 2524607999);  // UTCTime's last year
  EXPECT_EQ(unix_of("20991231235959Z"), 4102444799);
}

// ASN1_TIME_to_tm would read a null time as the current time: no expiry is none.
TEST(CertExpiry, NoTimeIsNoExpiry) {
  EXPECT_EQ(asn1_time_unix(nullptr), std::nullopt);
}

}  // namespace cert_expiry_test
}  // namespace poolwatch
