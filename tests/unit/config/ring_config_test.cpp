// The ring.* keys and probe.source_address: what they accept, and the messages for the
// mistakes an operator is likely to make.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/config_loader.hpp"

using namespace poolwatch;
using ::testing::HasSubstr;

class RingKeys : public ::testing::Test {
 protected:
  // The message of the ConfigError that loading `yaml` throws ("" if it loads).
  static std::string file_error(const std::string& yaml) {
    try {
      load_config_string(yaml, "t.yml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  // The message of the ConfigError that --set KEY=VALUE throws ("" if it is accepted).
  static std::string set_error(const std::string& key, const std::string& value) {
    Config config;
    try {
      apply_setting(config, key, value);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(RingKeys, DefaultIsNoRingAndNoSourceAddress) {
  const Config c;
  EXPECT_FALSE(c.ring.enabled());
  EXPECT_EQ(c.ring.quorum, std::nullopt);
  EXPECT_EQ(c.ring.secret_file, "");
  EXPECT_EQ(c.ring.listen, "");
  EXPECT_EQ(c.probe.source_address, "");
}

TEST_F(RingKeys, ARingConfigLoads) {
  const Config c = load_config_string(R"(
probe:
  source_address: 192.0.2.10
ring:
  peer_port: 9168
  quorum: 2
  secret_file: /etc/poolwatch/ring.secret
  listen: "[2001:db8::10]:9168"
)",
                                      "t.yml");
  EXPECT_TRUE(c.ring.enabled());
  EXPECT_EQ(c.ring.peer_port, 9168);
  EXPECT_EQ(c.ring.quorum, 2u);
  EXPECT_EQ(c.ring.secret_file, "/etc/poolwatch/ring.secret");
  EXPECT_EQ(c.ring.listen, "[2001:db8::10]:9168");
  EXPECT_EQ(c.probe.source_address, "192.0.2.10");
}

TEST_F(RingKeys, EmptyValuesMeanTheDefaults) {
  const Config c = load_config_string(
      "ring:\n  peer_port:\n  quorum:\n  listen: ''\nprobe:\n  source_address:\n", "t.yml");
  EXPECT_EQ(c, Config{});
  Config set;
  apply_setting(set, "ring.quorum", "3");
  apply_setting(set, "ring.quorum", "");
  apply_setting(set, "ring.peer_port", "9168");
  apply_setting(set, "ring.peer_port", "");
  EXPECT_EQ(set.ring, RingConfig{});
}

TEST_F(RingKeys, PeerPortRange) {
  EXPECT_EQ(file_error("ring:\n  peer_port: 70000\n"),
            "t.yml:2: ring.peer_port: must be between 1 and 65535, or 0 for no ring (got 70000)");
  EXPECT_EQ(file_error("ring:\n  peer_port: -1\n"),
            "t.yml:2: ring.peer_port: must be between 1 and 65535, or 0 for no ring (got -1)");
  EXPECT_EQ(file_error("ring:\n  peer_port: http\n"),
            "t.yml:2: ring.peer_port: expected a whole number, got 'http'");
  EXPECT_EQ(file_error("ring:\n  peer_port: 0\n"), "");
  EXPECT_EQ(set_error("ring.peer_port", "65536"),
            "ring.peer_port: must be between 1 and 65535, or 0 for no ring (got 65536)");
}

TEST_F(RingKeys, QuorumIsAtLeastOne) {
  EXPECT_EQ(file_error("ring:\n  quorum: 0\n"),
            "t.yml:2: ring.quorum: must be between 1 and 1000, or empty for a majority (got 0)");
  EXPECT_EQ(file_error("ring:\n  quorum: majority\n"),
            "t.yml:2: ring.quorum: expected a whole number, got 'majority'");
  EXPECT_EQ(set_error("ring.quorum", "1.5"), "ring.quorum: expected a whole number, got '1.5'");
  EXPECT_EQ(set_error("ring.quorum", "1"), "");
}

TEST_F(RingKeys, PeerPortNeedsTheSecretFile) {
  EXPECT_EQ(file_error("ring:\n  peer_port: 9168\n"),
            "t.yml: ring.secret_file: must name the ring's shared secret file, since "
            "ring.peer_port is set (see docs/ring.md)");
  EXPECT_EQ(file_error("ring:\n  peer_port: 9168\n  secret_file: ''\n"),
            "t.yml:3: ring.secret_file: must name the ring's shared secret file, since "
            "ring.peer_port is set (see docs/ring.md)");
  Config c;
  apply_setting(c, "ring.peer_port", "9168");
  EXPECT_THROW(validate(c), ConfigError);
  apply_setting(c, "ring.secret_file", "/etc/poolwatch/ring.secret");
  EXPECT_NO_THROW(validate(c));
}

TEST_F(RingKeys, TheOtherRingKeysMayStaySetWithoutAPeerPort) {
  // So that ring.peer_port alone (or --set ring.peer_port=0) turns the ring off.
  EXPECT_EQ(file_error("ring:\n  peer_port: 0\n  quorum: 2\n  secret_file: /x\n"
                       "  listen: 192.0.2.10:9168\n"),
            "");
}

TEST_F(RingKeys, ListenIsAnIpLiteralAndAPort) {
  for (const char* good : {"192.0.2.10:9168", "[2001:db8::10]:9168", "0.0.0.0:9168", "[::]:9168",
                           "127.0.0.1:1", "[::1]:65535"}) {
    EXPECT_EQ(set_error("ring.listen", good), "") << good;
  }
  EXPECT_EQ(file_error("ring:\n  listen: director1.example:9168\n"),
            "t.yml:2: ring.listen: 'director1.example' is not an IP address (use IP:PORT, e.g. "
            "192.0.2.10:9168 or [2001:db8::10]:9168; host names are not accepted)");
  EXPECT_EQ(set_error("ring.listen", "localhost:9168"),
            "ring.listen: 'localhost' is not an IP address (use IP:PORT, e.g. 192.0.2.10:9168 or "
            "[2001:db8::10]:9168; host names are not accepted)");
  EXPECT_EQ(set_error("ring.listen", "192.0.2.10"),
            "ring.listen: '192.0.2.10' has no port (use IP:PORT, e.g. 192.0.2.10:9168 or "
            "[2001:db8::10]:9168)");
  EXPECT_EQ(set_error("ring.listen", "2001:db8::10:9168"),
            "ring.listen: '2001:db8::10:9168': an IPv6 address goes in brackets, followed by the "
            "port (e.g. 192.0.2.10:9168 or [2001:db8::10]:9168)");
  EXPECT_EQ(set_error("ring.listen", "[2001:db8::10]"),
            "ring.listen: invalid address '[2001:db8::10]' (use IP:PORT, e.g. 192.0.2.10:9168 or "
            "[2001:db8::10]:9168)");
  EXPECT_EQ(set_error("ring.listen", "[192.0.2.10]:9168"),
            "ring.listen: invalid address '[192.0.2.10]:9168': only an IPv6 address goes in "
            "brackets");
  EXPECT_EQ(set_error("ring.listen", "192.0.2.10:0"),
            "ring.listen: port must be between 1 and 65535 (got 0)");
  EXPECT_EQ(set_error("ring.listen", "192.0.2.10:70000"),
            "ring.listen: port must be between 1 and 65535 (got 70000)");
  EXPECT_EQ(set_error("ring.listen", "192.0.2.10:ring"),
            "ring.listen: invalid port number '192.0.2.10:ring'");
}

TEST_F(RingKeys, SourceAddressIsAnIpLiteralWithoutPort) {
  for (const char* good : {"192.0.2.10", "2001:db8::10", "127.0.0.77", "::1"}) {
    EXPECT_EQ(set_error("probe.source_address", good), "") << good;
  }
  const std::string expected =
      "must be an IP address of this host, e.g. 192.0.2.10 or 2001:db8::10, without a port, "
      "brackets or host name (got ";
  EXPECT_EQ(file_error("probe:\n  source_address: 192.0.2.10:0\n"),
            "t.yml:2: probe.source_address: " + expected + "'192.0.2.10:0')");
  EXPECT_EQ(set_error("probe.source_address", "[2001:db8::10]"),
            "probe.source_address: " + expected + "'[2001:db8::10]')");
  EXPECT_EQ(set_error("probe.source_address", "director1.example"),
            "probe.source_address: " + expected + "'director1.example')");
  EXPECT_EQ(set_error("probe.source_address", "0.0.0.0"),
            "probe.source_address: '0.0.0.0' means any address: leave probe.source_address empty "
            "for that");
  EXPECT_THAT(set_error("probe.source_address", "::"), HasSubstr("means any address"));
}

TEST_F(RingKeys, TyposInTheRingSectionGetAHint) {
  EXPECT_EQ(file_error("ring:\n  peer_prot: 9168\n"),
            "t.yml:2: ring.peer_prot: unknown key (did you mean 'peer_port'?)");
  EXPECT_EQ(file_error("ring:\n  secret: /x\n"), "t.yml:2: ring.secret: unknown key");
  EXPECT_EQ(file_error("probe:\n  source_adress: 192.0.2.10\n"),
            "t.yml:2: probe.source_adress: unknown key (did you mean 'source_address'?)");
  EXPECT_EQ(file_error("ring: 9168\n"),
            "t.yml:1: ring: expected a mapping of keys (this is a section)");
}
