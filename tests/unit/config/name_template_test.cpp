#include "poolwatch/config/name_template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "poolwatch/config/config.hpp"

using namespace poolwatch;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

const auto backend_ip = make_ip_address("10.2.2.75");

}  // namespace

TEST(NameTemplateTest, ExpandsBackendHostAndIp) {
  const auto name = NameTemplate::parse("probe-%{backend_host}/%{backend_ip}");
  EXPECT_EQ(name.expand(backend_ip, "be1.example"), "probe-be1.example/10.2.2.75");
  EXPECT_EQ(name.expand(make_ip_address("2001:db8::1"), "2001:db8::1"),
            "probe-2001:db8::1/2001:db8::1");
}

TEST(NameTemplateTest, DoublePercentIsALiteralPercent) {
  EXPECT_EQ(NameTemplate::parse("a%%b%%%{backend_ip}%%").expand(backend_ip, "x"), "a%b%10.2.2.75%");
  EXPECT_EQ(NameTemplate::parse("plain.user").expand(backend_ip, "x"), "plain.user");
}

TEST(NameTemplateTest, UnknownVariableIsAnErrorNamingIt) {
  try {
    NameTemplate::parse("probe-%{backend_name}");
    FAIL() << "accepted an unknown variable";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("%{backend_name}"), HasSubstr("%{backend_host}")));
  }
}

TEST(NameTemplateTest, MalformedPercentSequencesAreErrors) {
  for (const char* text : {"probe-%{backend_host", "probe-%", "probe-%s", "%{}", "%x%%"}) {
    EXPECT_THROW(NameTemplate::parse(text), ConfigError) << text;
  }
}
