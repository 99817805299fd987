#include "poolwatch/cli/status_command.hpp"

#include <gtest/gtest.h>

namespace poolwatch {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

std::vector<BackendStatusView> sample() {
  BackendStatusView up;
  up.address = "10.0.0.1";
  up.state = "up";
  up.last_outcome = "ok";
  up.last_latency_ms = 12.5;
  up.since_unix = 1700000000;
  up.checks = {{"imap:143", "up", 0, "ok", 12.5, ""}, {"pop3:110", "up", 0, "ok", 3.25, ""}};
  up.cert_expiry_unix = 1700000000 + 10 * 86400;
  BackendStatusView down;
  down.address = "10.0.0.2";
  down.state = "down";
  down.last_outcome = "connect_refused";
  down.since_unix = 1700000000 - 3600;
  down.reason = "connect refused\x1b[31m";
  down.checks = {{"imap:143", "down", 4, "connect_refused", 0, "imap:143: connect refused"}};
  return {up, down};
}

TEST(StatusJson, RoundTrips) {
  auto backends = sample();
  std::string error;
  auto parsed = parse_status_json(to_json(backends), &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(*parsed, backends);
  EXPECT_EQ(parse_status_json(to_json({})), std::vector<BackendStatusView>{});
  // A backend without TLS says so with null, not by leaving the field out.
  EXPECT_NE(to_json(backends).find(R"("cert_expiry_unix":1700864000)"), std::string::npos);
  EXPECT_NE(to_json(backends).find(R"("cert_expiry_unix":null)"), std::string::npos);
}

RingStatusView ring_sample() {
  RingStatusView ring;
  ring.role = "actor";
  ring.reason = "lowest_synced";
  ring.self = "127.0.0.11:9090";
  ring.actor = "127.0.0.11:9090";
  ring.listed = 3;
  ring.answering = 2;
  ring.quorum = 2;
  ring.owned = 1;
  ring.peers = {{"127.0.0.12:9090", true, 900, "standby", ""},
                {"127.0.0.13:9090", false, -1, "", "connect: Connection refused"}};
  return ring;
}

TEST(StatusJson, RingPartsRoundTrip) {
  auto backends = sample();
  backends[1].ring =
      BackendRingView{"up", 1, 2, 3, 2, "unreachable_from_this_director_only", "1 down, 2 up"};
  const auto text = to_json(backends, ring_sample());
  std::string error;
  auto parsed = parse_status_json(text, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(*parsed, backends);
  auto ring = parse_ring_status(text, &error);
  ASSERT_TRUE(ring) << error;
  EXPECT_EQ(*ring, ring_sample());
  // Without a ring there is no "ring" object, and that is no error.
  error.clear();
  EXPECT_FALSE(parse_ring_status(to_json(sample()), &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(parse_ring_status(R"({"backends":[],"ring":{"role":7}})", &error));
  EXPECT_NE(error, "");
}

TEST(StatusTable, ShowsTheRingsRoleAndVotes) {
  const auto summary = render_ring_summary(ring_sample());
  EXPECT_NE(summary.find("ring: role actor (lowest_synced); self 127.0.0.11:9090"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("2 of 3 directors' instances answering, quorum 2"), std::string::npos);
  EXPECT_NE(summary.find("peer 127.0.0.12:9090: answering, standby, last report 0.9 s ago"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("peer 127.0.0.13:9090: not answering, problem: connect: Connection "
                         "refused"),
            std::string::npos)
      << summary;
  auto backends = sample();
  backends[1].ring =
      BackendRingView{"up", 1, 2, 3, 2, "unreachable_from_this_director_only", "1 down, 2 up"};
  const auto table = render_status_table(backends, 1700000000);
  EXPECT_NE(table.find("1 down, 2 up of 3 (quorum 2)"), std::string::npos) << table;
  EXPECT_NE(table.find("unreachable_from_this_director_only"), std::string::npos) << table;
}

TEST(StatusJson, InvalidUtf8BecomesReplacementCharacters) {
  BackendStatusView b;
  b.address = "10.0.0.1";
  b.state = "down";
  b.reason = "bad \xff byte";
  auto parsed = parse_status_json(to_json({b}));
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)[0].reason, "bad \xef\xbf\xbd byte");
}

TEST(StatusJson, RejectsDocumentsOffTheSchema) {
  for (auto bad : {"", "not json", "[]", "{}", R"({"backends":{}})", R"({"backends":[1]})",
                   R"({"backends":[{"state":"up"}]})", R"({"backends":[{"address":"a"}]})",
                   R"({"backends":[{"address":1,"state":"up"}]})",
                   R"({"backends":[{"address":"a","state":"up","since_unix":"x"}]})",
                   R"({"backends":[{"address":"a","state":"up","checks":{}}]})",
                   R"({"backends":[{"address":"a","state":"up","checks":[{"name":"x"}]}]})",
                   R"({"backends":[{"address":"a","state":"up","last_latency_ms":"1"}]})",
                   R"({"backends":[{"address":"a","state":"up","cert_expiry_unix":"1"}]})"}) {
    std::string error;
    EXPECT_FALSE(parse_status_json(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  // Optional fields may be missing; unknown ones are ignored.
  auto minimal = parse_status_json(R"({"backends":[{"address":"a","state":"up","x":1}]})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ((*minimal)[0].address, "a");
}

TEST(StatusTable, ShowsEveryColumnAndNeutralisesControlCharacters) {
  auto table = render_status_table(sample(), 1700000000 + 90);
  EXPECT_EQ(
      table,
      "BACKEND        STATE  LAST OUTCOME     LATENCY  SINCE    REASON\n"
      "10.0.0.1       up     ok               12.5 ms  90s ago\n"
      "  imap:143     up     ok               12.5 ms\n"
      "  pop3:110     up     ok               3.2 ms\n"
      "  certificate                                            EXPIRES SOON: cert expires in "
      "9 days (2023-11-24 22:13:20 UTC)\n"
      "10.0.0.2       down   connect_refused  -        61m ago  connect refused?[31m\n"
      "  imap:143     down   connect_refused  -                 4 consecutive failures\n");
  EXPECT_EQ(render_status_table({}, 0),
            "BACKEND  STATE  LAST OUTCOME  LATENCY  SINCE  REASON\n(no backends)\n");
}

// A backend's earliest certificate expiry gets a row of its own; inside the log's warning
// window (kCertExpiryWarnDays) it says so, and an expired one says how long ago.
TEST(StatusTable, ShowsWhenABackendsCertificateExpires) {
  BackendStatusView b;
  b.address = "10.0.0.3";
  b.state = "up";
  const std::int64_t now = 1700000000;
  b.cert_expiry_unix = now + 30 * 86400;
  EXPECT_NE(render_status_table({b}, now).find(
                "  certificate                                       cert expires in 30 days "
                "(2023-12-14 22:13:20 UTC)\n"),
            std::string::npos)
      << render_status_table({b}, now);
  b.cert_expiry_unix = now - 2 * 86400;
  EXPECT_NE(render_status_table({b}, now).find(
                "EXPIRES SOON: cert expired 2 days ago (2023-11-12 22:13:20 UTC)\n"),
            std::string::npos)
      << render_status_table({b}, now);
  b.cert_expiry_unix.reset();  // no TLS check, no row
  EXPECT_EQ(render_status_table({b}, now).find("certificate"), std::string::npos);
}

TEST(StatusExitCode, OneWhenAnyBackendIsDown) {
  auto backends = sample();
  EXPECT_EQ(status_exit_code(backends), 1);
  backends[1].state = "suspect";
  EXPECT_EQ(status_exit_code(backends), 0);
  EXPECT_EQ(status_exit_code({}), 0);
}

TEST(StatusUrl, ParsesIpLiteralUrlsOnly) {
  auto url = parse_status_url("http://127.0.0.1:9167/status?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->endpoint, tcp::endpoint(make_address("127.0.0.1"), 9167));
  EXPECT_EQ(url->target, "/status?x=1");
  EXPECT_EQ(url->host, "127.0.0.1:9167");
  auto v6 = parse_status_url("http://[::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->endpoint, tcp::endpoint(make_address("::1"), 80));
  EXPECT_EQ(v6->target, "/status");
  EXPECT_EQ(parse_status_url("http://localhost:1/s")->endpoint.address(),
            make_address("127.0.0.1"));
  for (auto bad : {"https://127.0.0.1/status", "127.0.0.1:9167", "http://example.com/status",
                   "http://127.0.0.1:99999/", "http:///status", "ftp://127.0.0.1/"}) {
    std::string error;
    EXPECT_FALSE(parse_status_url(bad, &error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(StatusUrl, OnlyLoopbackOrTheConfiguredListenAddress) {
  HttpConfig http;
  http.listen = "192.0.2.10:9167";
  auto ep = [](const char* ip) { return tcp::endpoint(make_address(ip), 9167); };
  EXPECT_TRUE(status_endpoint_allowed(ep("127.0.0.1"), http));
  EXPECT_TRUE(status_endpoint_allowed(ep("127.1.2.3"), http));
  EXPECT_TRUE(status_endpoint_allowed(ep("::1"), http));
  EXPECT_TRUE(status_endpoint_allowed(ep("::ffff:127.0.0.1"), http));
  EXPECT_TRUE(status_endpoint_allowed(ep("192.0.2.10"), http));
  EXPECT_FALSE(status_endpoint_allowed(ep("192.0.2.11"), http));
  http.listen = "0.0.0.0:9167";  // "any" does not make every address allowed
  EXPECT_FALSE(status_endpoint_allowed(ep("192.0.2.10"), http));
}

TEST(StatusUrl, DefaultFollowsTheListenAddress) {
  HttpConfig http;
  EXPECT_EQ(default_status_url(http), "http://127.0.0.1:9167/status");
  http.listen = "0.0.0.0:8080";
  EXPECT_EQ(default_status_url(http), "http://127.0.0.1:8080/status");
  http.listen = "[::]:8080";
  EXPECT_EQ(default_status_url(http), "http://[::1]:8080/status");
}

TEST(StatusCommand, RefusesNonLocalUrlsWithoutConnecting) {
  StatusCommandOptions options;
  options.url = "http://192.0.2.1:9167/status";  // TEST-NET: must never be contacted
  std::ostringstream out, err;
  EXPECT_EQ(run_status_command(options, out, err), 2);
  EXPECT_NE(err.str().find("only loopback"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace poolwatch
