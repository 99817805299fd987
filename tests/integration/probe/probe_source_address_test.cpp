// probe.source_address: probes connect from the configured address, and an address this
// host cannot connect from is its own fault, never the backend's.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <string>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ProbeSourceAddress : public ::testing::Test {
 protected:
  // With net.ipv4.ip_nonlocal_bind on, binding an address this host lacks succeeds, and
  // the probe's SYN would leave from it: that case cannot be made here then.
  static bool binds_foreign_addresses() {
    std::ifstream setting("/proc/sys/net/ipv4/ip_nonlocal_bind");
    int value = 0;
    return static_cast<bool>(setting >> value) && value != 0;
  }
};

TEST_F(ProbeSourceAddress, TheBackendSeesTheConnectionComeFromIt) {
  // 127.0.0.0/8 is all this host's on Linux; the fake listens on 127.0.0.1.
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.source_address = "127.0.0.77";
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(server.last_peer_address(), "127.0.0.77");

  config.source_address.clear();
  EXPECT_TRUE(probe_once(server, config, fake_account()).ok());
  EXPECT_EQ(server.last_peer_address(), "127.0.0.1");
  EXPECT_EQ(server.connections(), 2u);
}

TEST_F(ProbeSourceAddress, AnAddressThisHostLacksIsALocalFaultAndSendsNothing) {
  if (binds_foreign_addresses()) GTEST_SKIP() << "net.ipv4.ip_nonlocal_bind is on";
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.source_address = "192.0.2.1";  // TEST-NET-1: no host has it
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_EQ(outcome.failure, FailureClass::local_resource) << outcome.reason;
  EXPECT_FALSE(outcome.ran());
  EXPECT_THAT(outcome.reason,
              AllOf(HasSubstr("probe.source_address 192.0.2.1"),
                    HasSubstr("Cannot assign requested address"), HasSubstr("not the backend")));
  EXPECT_EQ(server.connections(), 0u);
}

TEST_F(ProbeSourceAddress, AnotherFamilyThanTheBackendsIsALocalFault) {
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.source_address = "::1";
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_EQ(outcome.failure, FailureClass::local_resource) << outcome.reason;
  EXPECT_EQ(outcome.reason,
            "cannot connect from probe.source_address ::1 (IPv6) to an IPv4 backend (a setting "
            "of this host, not the backend)");
  EXPECT_EQ(server.connections(), 0u);
}

TEST_F(ProbeSourceAddress, TheRunnerRefusesATextThatIsNoAddress) {
  boost::asio::io_context io;
  ProbeConfig config;
  config.source_address = "director1.example";
  EXPECT_THROW(ProbeRunner(io.get_executor(), config), ConfigError);
}
