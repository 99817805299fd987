#include "poolwatch/director/director_protocol.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace {

using namespace poolwatch;
using namespace poolwatch::director;

TEST(DirectorHandshake, OurLineIsTheDoveadmLine) {
  EXPECT_EQ(kHandshakeLine, "VERSION\tdirector-doveadm\t1\t0\n");
}

TEST(DirectorHandshake, AcceptsMajorOneWithAnyMinor) {
  EXPECT_EQ(version_line_error("VERSION\tdirector-doveadm\t1\t0"), std::nullopt);
  EXPECT_EQ(version_line_error("VERSION\tdirector-doveadm\t1\t99"), std::nullopt);
}

TEST(DirectorHandshake, RejectsEveryDeviation) {
  const char* bad[] = {
      "",
      "VERSION",
      "VERSION\tdirector-doveadm\t1",
      "VERSION\tdirector-doveadm\t1\t0\textra",
      "VERSION\tdirector-doveadm\t1\t0\t",
      "VERSION\tdoveadm-server\t1\t0",
      "VERSION\tdirector-doveadm\t2\t0",
      "VERSION\tdirector-doveadm\t01x\t0",
      "VERSION\tdirector-doveadm\t1\t-1",
      "VERSION\tdirector-doveadm\t1\tx",
      "VERSION\tdirector-doveadm\t1\t",
      "version\tdirector-doveadm\t1\t0",
      "VERSION director-doveadm 1 0",
      "OK",
  };
  for (const char* line : bad) {
    const auto error = version_line_error(line);
    ASSERT_TRUE(error.has_value()) << line;
    EXPECT_FALSE(error->empty()) << line;
  }
}

TEST(DirectorHandshake, ErrorNamesTheProblem) {
  EXPECT_NE(version_line_error("VERSION\tdirector-doveadm\t2\t0")->find("major"),
            std::string::npos);
  EXPECT_NE(version_line_error("VERSION\tdoveadm-server\t1\t0")->find("doveadm-server"),
            std::string::npos);
  EXPECT_NE(version_line_error("VERSION\tdirector-doveadm\t1\t0\tx")->find("extra"),
            std::string::npos);
}

TEST(DirectorTabEscape, RoundTripsEveryEscapedByte) {
  const std::string raw{"a\tb\001c\rd\ne\0f", 11};
  const auto escaped = tab_escape(raw);
  EXPECT_EQ(escaped, std::string("a\001tb\0011c\001rd\001ne\0010f", 16));
  EXPECT_EQ(escaped.find('\t'), std::string::npos);
  EXPECT_EQ(tab_unescape(escaped), raw);
}

TEST(DirectorTabEscape, UnknownEscapeGivesTheByteAndLoneEscapeIsDropped) {
  EXPECT_EQ(tab_unescape("a\001xb"), "axb");
  EXPECT_EQ(tab_unescape("ab\001"), "ab");
  EXPECT_EQ(tab_unescape("plain"), "plain");
}

TEST(DirectorSplit, KeepsEmptyFields) {
  EXPECT_EQ(split_tabs(""), (std::vector<std::string_view>{""}));
  EXPECT_EQ(split_tabs("a\t\tb\t"), (std::vector<std::string_view>{"a", "", "b", ""}));
}

TEST(DirectorHostLine, SixFieldsUntagged) {
  const auto parsed = parse_host_line("127.0.1.1\t100\t0\t\tU\t0");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->address, make_ip_address("127.0.1.1"));
  EXPECT_EQ(parsed.host->vhost_count, 100u);
  EXPECT_EQ(parsed.host->user_count, 0u);
  EXPECT_EQ(parsed.host->tag, "");
  EXPECT_EQ(parsed.host->down, false);
  EXPECT_EQ(parsed.host->last_updown_change, 0);
}

TEST(DirectorHostLine, SixFieldsTaggedDown) {
  const auto parsed = parse_host_line("127.0.2.13\t100\t1\ttagA\tD\t1795392863");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->address, make_ip_address("127.0.2.13"));
  EXPECT_EQ(parsed.host->user_count, 1u);
  EXPECT_EQ(parsed.host->tag, "tagA");
  EXPECT_EQ(parsed.host->down, true);
  EXPECT_EQ(parsed.host->last_updown_change, 1795392863);
}

TEST(DirectorHostLine, Ipv6AndLimits) {
  const auto parsed = parse_host_line("2001:db8::5\t1000\t4294967295\t\tU\t-1");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->address, make_ip_address("2001:db8::5"));
  EXPECT_EQ(parsed.host->vhost_count, 1000u);
  EXPECT_EQ(parsed.host->user_count, 4294967295u);
  EXPECT_EQ(parsed.host->last_updown_change, -1);
}

TEST(DirectorHostLine, EscapedTagIsUnescaped) {
  const auto parsed = parse_host_line("10.0.0.1\t5\t2\tweird\001ttag\001n\tU\t7");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->tag, "weird\ttag\n");
}

TEST(DirectorHostLine, FourFieldFormHasTagButNoState) {
  const auto parsed = parse_host_line("10.0.0.2\t50\t3\tblue");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->vhost_count, 50u);
  EXPECT_EQ(parsed.host->tag, "blue");
  EXPECT_FALSE(parsed.host->down.has_value());
  EXPECT_FALSE(parsed.host->last_updown_change.has_value());
}

TEST(DirectorHostLine, ThreeFieldForm) {
  const auto parsed = parse_host_line("::1\t0\t9");
  ASSERT_TRUE(parsed.host) << parsed.error;
  EXPECT_EQ(parsed.host->address, make_ip_address("::1"));
  EXPECT_EQ(parsed.host->vhost_count, 0u);
  EXPECT_EQ(parsed.host->user_count, 9u);
  EXPECT_EQ(parsed.host->tag, "");
  EXPECT_FALSE(parsed.host->down.has_value());
}

struct BadLine {
  const char* line;
  const char* error_mentions;
};

class DirectorHostLineRejects : public ::testing::TestWithParam<BadLine> {};

TEST_P(DirectorHostLineRejects, WithClearError) {
  const auto parsed = parse_host_line(GetParam().line);
  EXPECT_FALSE(parsed.host.has_value());
  EXPECT_NE(parsed.error.find(GetParam().error_mentions), std::string::npos) << parsed.error;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, DirectorHostLineRejects,
    ::testing::Values(BadLine{"", "1 fields"}, BadLine{"127.0.0.1", "1 fields"},
                      BadLine{"127.0.0.1\t100", "2 fields"},
                      BadLine{"127.0.0.1\t100\t0\t\tU", "5 fields"},
                      BadLine{"127.0.0.1\t100\t0\t\tU\t0\textra", "7 fields"},
                      BadLine{"127.0.0.1\tabc\t0", "vhost count 'abc'"},
                      BadLine{"127.0.0.1\t\t0", "vhost count ''"},
                      BadLine{"127.0.0.1\t-1\t0", "vhost count '-1'"},
                      BadLine{"127.0.0.1\t+1\t0", "vhost count '+1'"},
                      BadLine{"127.0.0.1\t 1\t0", "vhost count ' 1'"},
                      BadLine{"127.0.0.1\t1001\t0", "above the maximum 1000"},
                      BadLine{"127.0.0.1\t100\t4294967296", "user count '4294967296'"},
                      BadLine{"127.0.0.1\t100\t99999999999999999999999", "user count"},
                      BadLine{"127.0.0.1\t100\t1x", "user count '1x'"},
                      BadLine{"127.0.0.1\t100\t0\t\tX\t0", "up/down flag 'X'"},
                      BadLine{"127.0.0.1\t100\t0\t\tu\t0", "up/down flag 'u'"},
                      BadLine{"127.0.0.1\t100\t0\t\tU\t", "timestamp ''"},
                      BadLine{"127.0.0.1\t100\t0\t\tU\tnow", "timestamp 'now'"},
                      BadLine{"127.0.0.1\t100\t0\t\tU\t99999999999999999999", "timestamp"},
                      BadLine{"127.0.0.1\t100\t0\t\tU\t-", "timestamp '-'"},
                      BadLine{"mail1.example\t100\t0", "bad IP address 'mail1.example'"},
                      BadLine{"127.0.0.256\t100\t0", "bad IP address"},
                      BadLine{"127.1\t100\t0", "bad IP address"},
                      BadLine{"[::1]\t100\t0", "bad IP address"},
                      BadLine{"fe80::1%eth0\t100\t0", "bad IP address"},
                      BadLine{"\t100\t0", "bad IP address ''"}, BadLine{"OK", "1 fields"}));

TEST(DirectorHostLine, ErrorExcerptIsBoundedAndPrintable) {
  const std::string line = "127.0.0.1\t" + std::string(5000, '9') + "\x01\x02\t0";
  const auto parsed = parse_host_line(line);
  ASSERT_FALSE(parsed.host);
  EXPECT_LT(parsed.error.size(), 200u);
  for (char c : parsed.error) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(DirectorHostList, AccumulatesUntilEmptyLine) {
  HostListParser parser;
  EXPECT_EQ(parser.feed_line("127.0.1.1\t100\t0\t\tU\t0"), HostListParser::State::need_more);
  EXPECT_EQ(parser.feed_line("127.0.2.13\t100\t1\ttagA\tD\t1795392863"),
            HostListParser::State::need_more);
  EXPECT_EQ(parser.feed_line(""), HostListParser::State::done);
  const auto pool = parser.take();
  ASSERT_EQ(pool.hosts.size(), 2u);
  EXPECT_EQ(pool.hosts[1].tag, "tagA");
  ASSERT_NE(pool.find(make_ip_address("127.0.1.1")), nullptr);
  EXPECT_EQ(pool.find(make_ip_address("127.0.9.9")), nullptr);
}

TEST(DirectorHostList, EmptyListIsJustTheTerminator) {
  HostListParser parser;
  EXPECT_EQ(parser.feed_line(""), HostListParser::State::done);
  EXPECT_TRUE(parser.take().hosts.empty());
}

TEST(DirectorHostList, BadLineFailsWholeList) {
  HostListParser parser;
  parser.feed_line("127.0.1.1\t100\t0\t\tU\t0");
  EXPECT_EQ(parser.feed_line("127.0.1.2\tmany\t0\t\tU\t0"), HostListParser::State::failed);
  EXPECT_NE(parser.error().find("vhost count"), std::string::npos);
  EXPECT_EQ(parser.feed_line(""), HostListParser::State::failed);
}

TEST(DirectorHostList, LineAfterTerminatorFails) {
  HostListParser parser;
  parser.feed_line("");
  EXPECT_EQ(parser.feed_line("127.0.1.1\t100\t0"), HostListParser::State::failed);
}

TEST(DirectorHostList, RefusesMoreThanMaxHosts) {
  HostListParser parser;
  HostListParser::State state = HostListParser::State::need_more;
  std::size_t fed = 0;
  while (state == HostListParser::State::need_more && fed <= kMaxHosts) {
    state = parser.feed_line("10.0.0.1\t1\t0");
    ++fed;
  }
  EXPECT_EQ(state, HostListParser::State::failed);
  EXPECT_EQ(fed, kMaxHosts + 1);
  EXPECT_NE(parser.error().find("more than"), std::string::npos);
}

TEST(DirectorReplies, Classification) {
  EXPECT_EQ(classify_reply("OK"), DirectorReplyStatus::ok);
  EXPECT_EQ(classify_reply("NOTFOUND"), DirectorReplyStatus::not_found);
  EXPECT_EQ(classify_reply("TRYAGAIN"), DirectorReplyStatus::try_again);
  EXPECT_EQ(classify_reply("Ring sync timed out"), DirectorReplyStatus::ring_sync_timeout);
  EXPECT_EQ(classify_reply("host is already being updated - try again later"),
            DirectorReplyStatus::error);
  EXPECT_EQ(classify_reply("ok"), DirectorReplyStatus::error);
  EXPECT_EQ(classify_reply("OK "), DirectorReplyStatus::error);
  EXPECT_EQ(classify_reply(""), DirectorReplyStatus::error);
}

TEST(DirectorCommands, FormatWithAddress) {
  EXPECT_EQ(format_host_command(HostCommand::down, make_ip_address("127.0.1.1")),
            "HOST-DOWN\t127.0.1.1\n");
  EXPECT_EQ(format_host_command(HostCommand::up, make_ip_address("127.0.1.1")),
            "HOST-UP\t127.0.1.1\n");
  EXPECT_EQ(format_host_command(HostCommand::flush, make_ip_address("2001:db8::1")),
            "HOST-FLUSH\t2001:db8::1\n");
  EXPECT_EQ(format_host_command(HostCommand::reset_users, make_ip_address("10.1.2.3")),
            "HOST-RESET-USERS\t10.1.2.3\n");
}

// to_string is the metric label, command_name the word on the wire.
TEST(DirectorCommands, LabelsAndNames) {
  EXPECT_EQ(to_string(HostCommand::reset_users), "reset_users");
  EXPECT_EQ(command_name(HostCommand::reset_users), "HOST-RESET-USERS");
  EXPECT_EQ(to_string(HostCommand::flush), "flush");
  EXPECT_EQ(command_name(HostCommand::flush), "HOST-FLUSH");
}

TEST(DirectorCommands, ScopeIdIsNotSent) {
  EXPECT_EQ(format_host_command(HostCommand::flush, make_ip_address("fe80::1%1")),
            "HOST-FLUSH\tfe80::1\n");
}

TEST(DirectorCommands, FitTheDirectorsRequestLimit) {
  const auto longest = format_host_command(
      HostCommand::reset_users, make_ip_address("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"));
  EXPECT_LE(longest.size(), kMaxRequestLine);
}

}  // namespace

// Issue 13 item 4: an address listed again is dropped, the first entry kept, and said so.
TEST(DirectorHostList, KeepsTheFirstEntryOfARepeatedAddress) {
  HostListParser parser;
  parser.feed_line("127.0.1.1\t100\t0\t\tU\t0");
  parser.feed_line("127.0.1.2\t100\t0\t\tD\t5");
  for (int i = 0; i < 3; ++i) parser.feed_line("127.0.1.2\t7\t0\t\tU\t0");
  ASSERT_EQ(parser.feed_line(""), HostListParser::State::done);
  const auto warnings = parser.warnings();
  const auto pool = parser.take();
  ASSERT_EQ(pool.hosts.size(), 2u);
  EXPECT_EQ(pool.hosts[1].vhost_count, 100u);
  EXPECT_EQ(pool.hosts[1].down, true);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find("127.0.1.2 more than once: the first entry is kept"),
            std::string::npos)
      << warnings[0];
}

TEST(DirectorHostList, WarningsAreBoundedAndCountTheRest) {
  HostListParser parser;
  for (std::size_t i = 0; i < kMaxHostListWarnings + 2; ++i) parser.feed_line("10.0.0.1\t1\t0");
  parser.feed_line("");
  const auto warnings = parser.warnings();
  ASSERT_EQ(warnings.size(), kMaxHostListWarnings + 1);
  EXPECT_EQ(warnings.back(), "and 1 more such HOST-LIST lines");
  EXPECT_EQ(parser.take().hosts.size(), 1u);
}

TEST(DirectorHostList, IgnoresAddressesThatCannotBeABackend) {
  HostListParser parser;
  for (const char* address :
       {"0.0.0.0", "::", "224.0.0.1", "239.255.255.250", "255.255.255.255", "ff02::1",
        "::ffff:0.0.0.0", "::ffff:224.0.0.1", "::ffff:255.255.255.255"})
    EXPECT_EQ(parser.feed_line(std::string(address) + "\t100\t0\t\tU\t0"),
              HostListParser::State::need_more)
        << address;
  parser.feed_line("127.0.0.1\t100\t0\t\tU\t0");
  parser.feed_line("");
  const auto warnings = parser.warnings();
  const auto pool = parser.take();
  ASSERT_EQ(pool.hosts.size(), 1u);
  EXPECT_EQ(pool.hosts[0].address, make_ip_address("127.0.0.1"));
  ASSERT_EQ(warnings.size(), kMaxHostListWarnings + 1);
  EXPECT_EQ(warnings[0],
            "HOST-LIST lists 0.0.0.0, the unspecified address: ignored, it is never "
            "probed or acted on");
  EXPECT_NE(warnings[2].find("a multicast address"), std::string::npos) << warnings[2];
  EXPECT_NE(warnings[4].find("the broadcast address"), std::string::npos) << warnings[4];
}

TEST(DirectorHostList, UsableAddressesAreUsable) {
  for (const char* address :
       {"127.0.0.1", "10.0.0.1", "223.255.255.255", "240.0.0.1", "255.255.255.254", "::1",
        "2001:db8::1", "fe80::1", "::ffff:10.0.0.1"})
    EXPECT_EQ(unusable_backend_address(make_ip_address(address)), std::nullopt) << address;
}

// Issue 13 item 10: a tag is at most what a director can have accepted.
TEST(DirectorHostLine, TagUpToTheCapIsKeptLongerIsRefused) {
  const std::string longest(kMaxTagBytes, 't');
  const auto kept = parse_host_line("10.0.0.1\t1\t0\t" + longest + "\tU\t0");
  ASSERT_TRUE(kept.host) << kept.error;
  EXPECT_EQ(kept.host->tag, longest);
  const auto refused = parse_host_line("10.0.0.1\t1\t0\t" + longest + "t\tU\t0");
  EXPECT_FALSE(refused.host);
  EXPECT_NE(refused.error.find("tag of 1025 bytes, above the maximum 1024"), std::string::npos)
      << refused.error;
  EXPECT_LT(refused.error.size(), 200u);
}

TEST(DirectorHostList, RefusesAReplyOverTheByteBudget) {
  // Distinct hosts with tags at the cap: the budget runs out long before kMaxHosts.
  HostListParser parser;
  const std::string tag(kMaxTagBytes, 't');
  std::size_t bytes = 0;
  std::size_t fed = 0;
  HostListParser::State state = HostListParser::State::need_more;
  while (state == HostListParser::State::need_more) {
    const auto line =
        fmt::format("10.{}.{}.{}\t1\t0\t{}\tU\t0", fed >> 16 & 255, fed >> 8 & 255, fed & 255, tag);
    bytes += line.size() + 1;
    state = parser.feed_line(line);
    ++fed;
  }
  EXPECT_EQ(state, HostListParser::State::failed);
  EXPECT_GT(bytes, kMaxHostListBytes);
  EXPECT_LE(bytes - kMaxHostListBytes, kMaxTagBytes + 64);
  EXPECT_LT(fed, kMaxHosts);
  EXPECT_EQ(parser.error(), fmt::format("HOST-LIST is longer than {} bytes", kMaxHostListBytes));
}
