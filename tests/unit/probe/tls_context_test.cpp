#include "poolwatch/probe/tls_context.hpp"

#include <gtest/gtest.h>

using namespace poolwatch;

namespace {

TlsConfig hostname_verification(std::string name_template) {
  TlsConfig config;
  config.verify_name = VerifyName::hostname;
  config.name_template = std::move(name_template);
  return config;
}

}  // namespace

// The TLS name is expanded by the same parser as every other template: %{backend_ip} and
// %% work here too (they used to be sent literally, failing every TLS probe).
TEST(TlsExpectedName, UsesTheConfigTemplateSyntax) {
  const auto ip = make_ip_address("127.0.1.1");
  EXPECT_EQ(TlsContextCache(hostname_verification("%{backend_ip}.mail.example"))
                .expected_name(ip, "127.0.1.1"),
            "127.0.1.1.mail.example");
  EXPECT_EQ(TlsContextCache(hostname_verification("imap-%{backend_host}.example"))
                .expected_name(ip, "be1"),
            "imap-be1.example");
  EXPECT_EQ(TlsContextCache(hostname_verification("100%%-%{backend_host}")).expected_name(ip, ""),
            "100%-127.0.1.1");
  EXPECT_EQ(TlsContextCache(hostname_verification("")).expected_name(ip, "be1"), "be1");
}

TEST(TlsExpectedName, IpAndNoneVerification) {
  const auto ip = make_ip_address("2001:db8::7");
  TlsConfig config = hostname_verification("%{backend_host}.mail");
  config.verify_name = VerifyName::ip;
  EXPECT_EQ(TlsContextCache(config).expected_name(ip, "be1"), "2001:db8::7");
  config.verify_name = VerifyName::none;
  EXPECT_EQ(TlsContextCache(config).expected_name(ip, "be1"), "");
}
