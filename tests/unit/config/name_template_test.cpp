#include "poolwatch/config/name_template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/config_loader.hpp"

using namespace poolwatch;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

const auto ip1 = make_ip_address("10.2.2.75");

std::string load_error(const std::string& yaml) {
  try {
    load_config_string(yaml, "t.yml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(NameTemplateTest, ExpandsBackendHostAndIp) {
  const auto name = NameTemplate::parse("probe-%{backend_host}/%{backend_ip}");
  EXPECT_EQ(name.expand(ip1, "be1.example"), "probe-be1.example/10.2.2.75");
  EXPECT_EQ(name.expand(make_ip_address("2001:db8::1"), "2001:db8::1"),
            "probe-2001:db8::1/2001:db8::1");
}

TEST(NameTemplateTest, DoublePercentIsALiteralPercent) {
  EXPECT_EQ(NameTemplate::parse("a%%b%%%{backend_ip}%%").expand(ip1, "x"), "a%b%10.2.2.75%");
  EXPECT_EQ(NameTemplate::parse("plain.user").expand(ip1, "x"), "plain.user");
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

// Every template key goes through the same parser at load: a typo in any of them stops
// the start-up with the key and the line, instead of failing every probe.
TEST(NameTemplateKeys, TlsNameTemplateTypoIsALoadError) {
  const auto error =
      load_error("probe:\n  tls:\n    name_template: \"%{backend_hostname}.mail\"\n");
  EXPECT_THAT(error, AllOf(HasSubstr("t.yml:3"), HasSubstr("probe.tls.name_template"),
                           HasSubstr("%{backend_hostname}"), HasSubstr("%{backend_host}")));
  EXPECT_THAT(load_error("probe:\n  tls:\n    name_template: \"mail-%\"\n"),
              HasSubstr("probe.tls.name_template"));
  EXPECT_EQ(load_error("probe:\n  tls:\n    name_template: \"%{backend_ip}.mail\"\n"), "");
}

TEST(NameTemplateKeys, UserAndRecipientTemplatesAreCheckedTheSameWay) {
  EXPECT_THAT(load_error("probe:\n  lmtp_to: \"%{user}@example.org\"\n"),
              AllOf(HasSubstr("probe.lmtp_to"), HasSubstr("%{user}")));
}
