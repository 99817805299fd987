// The passive.* keys: defaults, what they accept, and the ranges they refuse.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/config_loader.hpp"

using namespace poolwatch;
using ::testing::HasSubstr;

class PassiveKeys : public ::testing::Test {
 protected:
  static std::string file_error(const std::string& yaml) {
    try {
      load_config_string(yaml, "t.yml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(PassiveKeys, OffByDefaultAndOnLoopback) {
  const Config c;
  EXPECT_FALSE(c.passive.enabled);
  EXPECT_EQ(c.passive.listen, "127.0.0.1:9169");
  EXPECT_EQ(c.passive.allow, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  EXPECT_EQ(c.passive.failures, 3);
  EXPECT_EQ(c.passive.window, Seconds(10));
  EXPECT_FALSE(c.passive.may_down);
}

TEST_F(PassiveKeys, AFullPassiveSectionLoads) {
  const Config c = load_config_string(R"(
passive:
  enabled: true
  listen: "[::1]:9200"
  allow: [10.0.0.0/8, 192.0.2.7]
  max_body: 16k
  max_events_per_second: 500
  failures: 5
  window: 30s
  may_down: yes
)",
                                      "t.yml");
  EXPECT_TRUE(c.passive.enabled);
  EXPECT_EQ(c.passive.listen, "[::1]:9200");
  EXPECT_EQ(c.passive.allow, (std::vector<std::string>{"10.0.0.0/8", "192.0.2.7"}));
  EXPECT_EQ(c.passive.max_body, 16u * 1024);
  EXPECT_EQ(c.passive.max_events_per_second, 500);
  EXPECT_EQ(c.passive.failures, 5);
  EXPECT_EQ(c.passive.window, Seconds(30));
  EXPECT_TRUE(c.passive.may_down);
}

TEST_F(PassiveKeys, TheWindowHasAFloorAndACeiling) {
  EXPECT_THAT(file_error("passive:\n  window: 500ms\n"),
              HasSubstr("passive.window: must be at least 1 s"));
  EXPECT_THAT(file_error("passive:\n  window: 2h\n"), HasSubstr("at most 3600 s"));
  EXPECT_EQ(file_error("passive:\n  window: 1s\n"), "");
}

TEST_F(PassiveKeys, RangesAreCheckedWhenRead) {
  EXPECT_THAT(file_error("passive:\n  failures: 0\n"),
              HasSubstr("passive.failures: must be between 1 and 100"));
  EXPECT_THAT(file_error("passive:\n  failures: 5000\n"), HasSubstr("(got 5000)"));
  EXPECT_THAT(file_error("passive:\n  max_events_per_second: 0\n"),
              HasSubstr("passive.max_events_per_second"));
  EXPECT_THAT(file_error("passive:\n  max_body: 100\n"), HasSubstr("passive.max_body"));
}

TEST_F(PassiveKeys, TheAllowListTakesOnlyNetworks) {
  EXPECT_THAT(file_error("passive:\n  allow: [127.0.0.1/8]\n"), HasSubstr("no host bits"));
  EXPECT_THAT(file_error("passive:\n  allow: [director.example]\n"), HasSubstr("invalid network"));
  EXPECT_THAT(file_error("passive:\n  allow: [{a: 1}]\n"), HasSubstr("expected a network"));
  EXPECT_EQ(file_error("passive:\n  allow: []\n"), "");
}

TEST_F(PassiveKeys, TheListenAddressIsChecked) {
  EXPECT_THAT(file_error("passive:\n  listen: director.example:9169\n"),
              HasSubstr("passive.listen"));
  EXPECT_THAT(file_error("passive:\n  listen: 127.0.0.1\n"), HasSubstr("passive.listen"));
}
