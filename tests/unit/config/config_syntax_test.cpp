#include <gtest/gtest.h>

#include <set>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/config_loader.hpp"

using namespace poolwatch;
using namespace std::chrono_literals;

TEST(Duration, AcceptsSecondsAndUnits) {
  EXPECT_EQ(parse_duration("10"), 10s);
  EXPECT_EQ(parse_duration("0.5"), 500ms);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration(" 3 s "), 3s);
  EXPECT_EQ(parse_duration("0"), 0s);
}

TEST(Duration, RejectsAnythingElse) {
  for (const char* bad :
       {"", "s", "ms", "ten", "10x", "10 sec", "-1", "-5s", "1e999", "nan", "inf", "10s5", "--1"}) {
    EXPECT_THROW(parse_duration(bad), ConfigError) << bad;
  }
}

TEST(PortSpec, PoolmonSyntax) {
  EXPECT_EQ(parse_port_spec("143"), (PortSpec{Protocol::imap, 143, TlsMode::plain}));
  EXPECT_EQ(parse_port_spec("IMAP:143"), (PortSpec{Protocol::imap, 143, TlsMode::plain}));
  EXPECT_EQ(parse_port_spec("pop3:110"), (PortSpec{Protocol::pop3, 110, TlsMode::plain}));
  EXPECT_EQ(parse_port_spec("LMTP:24"), (PortSpec{Protocol::lmtp, 24, TlsMode::plain}));
  EXPECT_EQ(parse_port_spec("IMAP:993", TlsMode::implicit),
            (PortSpec{Protocol::imap, 993, TlsMode::implicit}));
  // poolmon infers the protocol of its well-known numbers; an explicit name wins.
  EXPECT_EQ(parse_port_spec("110").protocol, Protocol::pop3);
  EXPECT_EQ(parse_port_spec("995", TlsMode::implicit).protocol, Protocol::pop3);
  EXPECT_EQ(parse_port_spec("24").protocol, Protocol::lmtp);
  EXPECT_EQ(parse_port_spec("2000").protocol, Protocol::imap);
  EXPECT_EQ(parse_port_spec("IMAP:110").protocol, Protocol::imap);
  EXPECT_EQ(parse_port_spec("1").port, 1);
  EXPECT_EQ(parse_port_spec("65535").port, 65535);
}

TEST(PortSpec, RejectsBadSpecs) {
  for (const char* bad : {"", "0", "65536", "99999999999", "-1", "IMAP143", "IMAP:", ":143",
                          "SMTP:25", "IMAP:14x", "143:IMAP", "IMAP:143:1"}) {
    EXPECT_THROW(parse_port_spec(bad), ConfigError) << bad;
  }
}

TEST(ListenAddress, AcceptsWhatTheHttpServerBinds) {
  for (const char* good :
       {"127.0.0.1:9167", "[::1]:0", "0.0.0.0:80", "[::]:9167", "localhost:9167"}) {
    Config c;
    EXPECT_NO_THROW(apply_setting(c, "http.listen", good)) << good;
    EXPECT_EQ(c.http.listen, good);
  }
  for (const char* bad : {"", "127.0.0.1", "::1:80", "[::1]", "[127.0.0.1]:80", "mailhost:80",
                          "[localhost]:80", "127.0.0.1:", "127.0.0.1:http", "[::1]:70000"}) {
    Config c;
    EXPECT_THROW(apply_setting(c, "http.listen", bad), ConfigError) << bad;
  }
}

TEST(ConfigKeys, PathsAreUniqueAndDotted) {
  auto keys = config_key_paths();
  std::set<std::string> unique(keys.begin(), keys.end());
  EXPECT_EQ(unique.size(), keys.size());
  EXPECT_TRUE(unique.count("health.retry_count"));
  EXPECT_TRUE(unique.count("probe.tls.verify_peer"));
  EXPECT_TRUE(unique.count("probe.ssl_ports"));
  EXPECT_TRUE(unique.count("dry_run"));
}

TEST(ConfigNames, EnumsHaveTheirConfigSpelling) {
  EXPECT_EQ(to_string(FlushMode::reset_users), "reset-users");
  EXPECT_EQ(to_string(AuthMechanism::plain), "plain");
  EXPECT_EQ(to_string(VerifyName::ptr), "ptr");
  EXPECT_EQ(to_string(LogTarget::stderr_), "stderr");
  EXPECT_EQ(to_string(PortSpec{Protocol::pop3, 995, TlsMode::implicit}), "POP3:995 (tls)");
}
