// poolwatch_tls_earliest_cert_expiry_seconds: kept per backend like the probe series, and
// gone with the backend.
#include <gtest/gtest.h>

#include "poolwatch/http/poolwatch_metrics.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch {
namespace cert_expiry_metric_test {

constexpr std::string_view kName = "poolwatch_tls_earliest_cert_expiry_seconds";

std::optional<double> expiry_of(const PoolwatchMetrics& m, const std::string& backend) {
  const auto parsed = test::check_exposition(m.render());
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  return parsed.value(kName, {{"backend", backend}});
}

TEST(CertExpiryMetric, IsTheUnixTimeAndLeavesWithTheBackend) {
  PoolwatchMetrics m;
  m.cert_expiry("10.0.0.1", 1700864000);
  m.cert_expiry("10.0.0.2", 1800000000);
  EXPECT_EQ(expiry_of(m, "10.0.0.1"), 1700864000.0);
  m.cert_expiry("10.0.0.1", 1710000000);  // a renewed certificate
  EXPECT_EQ(expiry_of(m, "10.0.0.1"), 1710000000.0);
  m.forget_backend("10.0.0.1");
  EXPECT_EQ(expiry_of(m, "10.0.0.1"), std::nullopt);
  EXPECT_EQ(expiry_of(m, "10.0.0.2"), 1800000000.0);
  // Back in the pool, its next TLS probe sets it again.
  m.cert_expiry("10.0.0.1", 1710000000);
  EXPECT_EQ(expiry_of(m, "10.0.0.1"), 1710000000.0);
}

}  // namespace cert_expiry_metric_test
}  // namespace poolwatch
