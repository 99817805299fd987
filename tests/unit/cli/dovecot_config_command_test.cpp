// poolwatch dovecot-config: the snippet points the director at passive.listen, a
// wildcard becomes loopback, and cautions go to stderr, never into dovecot.conf.

#include "poolwatch/cli/dovecot_config_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

using namespace poolwatch;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(DovecotConfigCommand, PointsTheExporterAtPassiveListen) {
  PassiveConfig passive;
  passive.enabled = true;
  passive.listen = "127.0.0.1:9300";
  std::ostringstream out, err;
  EXPECT_EQ(print_dovecot_config(passive, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("transport_args = http://127.0.0.1:9300/dovecot-events\n"));
  EXPECT_THAT(out.str(), HasSubstr("filter = event=proxy_session_finished\n"));
  EXPECT_THAT(out.str(), HasSubstr("event=smtp_client_transaction_finished AND category=lmtp"));
  EXPECT_EQ(err.str(), "");
}

TEST(DovecotConfigCommand, AWildcardBecomesLoopbackAndIPv6IsBracketed) {
  PassiveConfig passive;
  passive.enabled = true;
  passive.listen = "[::]:9169";
  std::ostringstream out, err;
  EXPECT_EQ(print_dovecot_config(passive, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("http://[::1]:9169/dovecot-events"));
  EXPECT_THAT(err.str(), HasSubstr("wildcard"));
  passive.listen = "0.0.0.0:9169";
  std::ostringstream out4, err4;
  print_dovecot_config(passive, out4, err4);
  EXPECT_THAT(out4.str(), HasSubstr("http://127.0.0.1:9169/dovecot-events"));
}

TEST(DovecotConfigCommand, CautionsGoToStderrOnly) {
  PassiveConfig passive;  // disabled
  std::ostringstream out, err;
  EXPECT_EQ(print_dovecot_config(passive, out, err), 0);
  EXPECT_THAT(err.str(), HasSubstr("passive.enabled is false"));
  EXPECT_THAT(out.str(), Not(HasSubstr("poolwatch:")));
}

TEST(DovecotConfigCommand, NoAddressIsAnError) {
  PassiveConfig passive;
  passive.listen = "nonsense";
  std::ostringstream out, err;
  EXPECT_EQ(print_dovecot_config(passive, out, err), 2);
  EXPECT_EQ(out.str(), "");
}
