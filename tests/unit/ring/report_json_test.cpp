#include "poolwatch/ring/report_json.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ring_test_support.hpp"

using namespace poolwatch;
using namespace poolwatch::ring;
using namespace poolwatch::ring::test;

class ReportJsonTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = FakeClock::kUnixStart;

  static PeerReport full_report() {
    auto report = peer_report(kB, kNow, votes({kBackend1, kBackend2}, {kBackend2}, kNow - 3),
                              RingRole::standby);
    report.actor = kA;
    report.actor_heard_ago = std::chrono::milliseconds(4200);
    report.ownership.claims.push_back({kBackend2, kA, kNow - 100, "imap:143: refused", true, kNow});
    report.ownership.releases.push_back({kBackend1, kC, kNow - 900, kNow - 500});
    return report;
  }
  // The encoded full report with `from` replaced by `to` (once).
  static std::string edited(const std::string& from, const std::string& to) {
    auto text = encode_report(full_report());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  }
  static std::string decode_error(const std::string& body) {
    const auto decoded = decode_report(body);
    EXPECT_FALSE(decoded.report) << body;
    return decoded.error;
  }
};

TEST_F(ReportJsonTest, RoundTrips) {
  const auto report = full_report();
  const auto decoded = decode_report(encode_report(report));
  ASSERT_TRUE(decoded.report) << decoded.error;
  EXPECT_EQ(*decoded.report, report);
}

TEST_F(ReportJsonTest, RoundTripsIpv6AndNoActor) {
  auto report = peer_report(instance("2001:db8::7", 9091), kNow,
                            {backend_vote(make_ip_address("2001:db8::100"), Verdict::unknown, 0)},
                            RingRole::isolated, false);
  const auto decoded = decode_report(encode_report(report));
  ASSERT_TRUE(decoded.report) << decoded.error;
  EXPECT_EQ(*decoded.report, report);
  EXPECT_NE(encode_report(report).find("\"[2001:db8::7]:9091\""), std::string::npos);
}

TEST_F(ReportJsonTest, EncodingIsStable) {
  // The same report gives the same bytes (keys sorted), so what is signed is reproducible.
  EXPECT_EQ(encode_report(full_report()), encode_report(full_report()));
  EXPECT_EQ(encode_report(full_report()).rfind("{\"actor\":\"127.0.0.1:9090\"", 0), 0u);
}

TEST_F(ReportJsonTest, BackendsComeBackInAddressOrder) {
  auto report = full_report();
  std::swap(report.backends[0], report.backends[1]);
  const auto decoded = decode_report(encode_report(report));
  ASSERT_TRUE(decoded.report) << decoded.error;
  EXPECT_EQ(decoded.report->backends[0].address, kBackend1);
}

TEST_F(ReportJsonTest, InvalidUtf8InAReasonDoesNotThrow) {
  auto report = full_report();
  report.backends[1].failing[0].reason = "bad \xff\xfe bytes";
  const auto body = encode_report(report);
  const auto decoded = decode_report(body);
  ASSERT_TRUE(decoded.report) << decoded.error;
  EXPECT_EQ(decoded.report->backends[1].failing[0].reason.find('\xff'), std::string::npos);
}

// A peer's reason is logged and shown in /status: a C1 control (here CSI, sent as JSON's
// \u009b) comes out replaced, the report still counts.
TEST_F(ReportJsonTest, AC1ControlInAReasonIsReplaced) {
  const auto decoded =
      decode_report(edited("\"reason\":\"connection refused\"", "\"reason\":\"a\\u009b2Jb\""));
  ASSERT_TRUE(decoded.report) << decoded.error;
  EXPECT_EQ(decoded.report->backends[1].failing[0].reason, "a?2Jb");
}

struct BadEdit {
  const char* from;
  const char* to;
  const char* error_mentions;
};

class ReportJsonRejects : public ReportJsonTest, public ::testing::WithParamInterface<BadEdit> {};

TEST_P(ReportJsonRejects, WithAnErrorNamingTheField) {
  const auto error = decode_error(edited(GetParam().from, GetParam().to));
  EXPECT_NE(error.find(GetParam().error_mentions), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ReportJsonRejects,
    ::testing::Values(
        BadEdit{"\"version\":1", "\"version\":2", "version is outside 1..1"},
        BadEdit{"\"version\":1", "\"version\":\"1\"", "version is not an integer"},
        BadEdit{"\"version\":1", "\"version\":1.0", "version is not an integer"},
        BadEdit{"poolwatch-ring-report", "poolwatch-ring-ownership", "format is"},
        BadEdit{"\"instance\":\"127.0.0.21:9090\"", "\"instance\":\"127.0.0.21\"",
                "instance is not a ring address"},
        BadEdit{"\"instance\":\"127.0.0.21:9090\"", "\"instance\":\"host.example:9090\"",
                "instance is not a ring address"},
        BadEdit{"\"role\":\"standby\"", "\"role\":\"boss\"", "role is \"boss\""},
        BadEdit{"\"director_synced\":true", "\"director_synced\":1", "not true or false"},
        BadEdit{"\"verdict\":\"down\"", "\"verdict\":\"sideways\"",
                "backends[1].verdict is \"sideways\""},
        BadEdit{"\"address\":\"127.0.1.2\"", "\"address\":\"127.0.1.1\"",
                "backends[1] repeats 127.0.1.1"},
        BadEdit{"\"address\":\"127.0.1.1\"", "\"address\":\"fe80::1%eth0\"",
                "backends[0].address is not an IP address"},
        BadEdit{"\"last_probe_unix\"", "\"last_probe\"", "backends[0].last_probe_unix is missing"},
        BadEdit{"\"since_unix\":1799999967", "\"since_unix\":-5", "outside"},
        BadEdit{"\"generated_unix\":1800000000", "\"generated_unix\":99999999999999999999",
                "generated_unix"},
        BadEdit{"\"actor_heard_ago_ms\":4200", "\"actor_heard_ago_ms\":86400001", "outside"},
        BadEdit{"\"failing\":[]", "\"failing\":{}", "backends[0].failing is not an array"},
        BadEdit{"\"failing\":[]", "\"failing\":[1]", "backends[0].failing[0] is not an object"},
        BadEdit{"\"reason\":\"connection refused\"", "\"reason\":\"a\\u0000b\"",
                "control characters"},
        BadEdit{"\"flush_pending\":true", "\"flush_pending\":true,\"extra\":1",
                "ownership.claims[0].extra is not a known field"},
        BadEdit{"\"made_by\":\"127.0.0.22:9090\"", "\"made_by\":\"127.0.0.22:0\"",
                "ownership.releases[0].made_by"},
        BadEdit{"{\"actor\"", "{\"surprise\":true,\"actor\"", "surprise is not a known field"},
        BadEdit{"\"ownership\":{", "\"ownership\":{\"x\":1,", "ownership.x is not a known field"}));

TEST_F(ReportJsonTest, GarbageIsAnErrorValue) {
  for (const std::string body : {"", "null", "[]", "42", "\"report\"", "{", "{\"actor\":",
                                 "\xff\xfe", "{}", "{\"format\":\"poolwatch-ring-report\"}"}) {
    const auto decoded = decode_report(body);
    EXPECT_FALSE(decoded.report) << body;
    EXPECT_FALSE(decoded.error.empty()) << body;
  }
}

TEST_F(ReportJsonTest, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(decode_error(deep).find("nests deeper"), std::string::npos);
  // Brackets inside strings do not count.
  EXPECT_EQ(decode_error("{\"x\":\"[[[[[[[[[[[[[[[[[[[[\"}").find("nests"), std::string::npos);
}

TEST_F(ReportJsonTest, OversizedBodyIsRefused) {
  const std::string body(kMaxReportBytes + 1, ' ');
  EXPECT_NE(decode_error(body).find("larger than"), std::string::npos);
}

TEST_F(ReportJsonTest, TooManyBackendsIsRefused) {
  auto report = peer_report(kB, kNow);
  for (std::size_t i = 0; i <= kMaxReportBackends; ++i)
    report.backends.push_back(backend_vote(
        IpAddress::v4({10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}),
        Verdict::up, kNow));
  EXPECT_NE(decode_error(encode_report(report)).find("backends has more than"), std::string::npos);
}

TEST_F(ReportJsonTest, MutatedReportsNeverCrash) {
  std::mt19937 random(7);
  const auto good = encode_report(full_report());
  for (int round = 0; round < 3000; ++round) {
    std::string body = good;
    for (int edit = 0; edit < 1 + static_cast<int>(random() % 4); ++edit) {
      const char bytes[] = {'"', '{', '}', '[', ']', ',', ':', '0', '-', 'x', '\\', '\0'};
      body[random() % body.size()] = bytes[random() % sizeof(bytes)];
    }
    const auto decoded = decode_report(body);
    EXPECT_TRUE(decoded.report.has_value() != !decoded.error.empty());
  }
}

TEST_F(ReportJsonTest, OwnershipRoundTripsOnItsOwn) {
  const auto state = full_report().ownership;
  const auto text = encode_ownership(state);
  const auto decoded = decode_ownership(text);
  ASSERT_TRUE(decoded.state) << decoded.error;
  EXPECT_EQ(*decoded.state, state);
  EXPECT_FALSE(decode_ownership(encode_report(full_report())).state);
  EXPECT_FALSE(decode_ownership("{\"format\":\"poolwatch-ring-ownership\",\"version\":1}").state);
}

// A vote is made from the tracker's status alone: its verdict, when its latest probe
// ended, and the checks that failed last, each reason printable.
TEST(BackendReportTest, AVoteCarriesTheStatusAndItsLatestProbe) {
  constexpr std::int64_t kNow = FakeClock::kUnixStart;
  BackendStatus status;
  status.address = kBackend1;
  status.verdict.verdict = Verdict::down;
  status.verdict.since_unix = kNow - 30;
  status.last_probe_unix = kNow - 2;
  CheckStatus good;
  good.label = "imap:143";
  good.last_outcome = FailureClass::none;
  CheckStatus bad;
  bad.label = "pop3:110";
  bad.last_outcome = FailureClass::connect_refused;
  bad.last_reason = "refused\x01";
  status.checks = {good, bad};
  const auto report = backend_report(status);
  EXPECT_EQ(report.address, kBackend1);
  EXPECT_EQ(report.verdict, Verdict::down);
  EXPECT_EQ(report.since_unix, kNow - 30);
  EXPECT_EQ(report.last_probe_unix, kNow - 2);
  ASSERT_EQ(report.failing.size(), 1U);
  EXPECT_EQ(report.failing[0].check, "pop3:110");
  EXPECT_EQ(report.failing[0].failure, to_string(FailureClass::connect_refused));
  EXPECT_EQ(report.failing[0].reason.find('\x01'), std::string::npos);
}
