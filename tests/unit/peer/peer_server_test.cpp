// The ring handler on its own, with a hand-stepped clock: what it answers to signed,
// unsigned, stale and replayed requests.

#include "poolwatch/peer/peer_server.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "poolwatch/peer/peer_exchange.hpp"

using namespace poolwatch;
using namespace poolwatch::peer;

namespace {

constexpr std::int64_t kServerStart = 1'767'225'600;
const std::string kSharedSecret(48, 'k');

struct RingHandlerFixture {
  std::int64_t clock = kServerStart;
  int reports = 0;
  std::function<HttpReply(const HttpRequestView&)> handler = ring_handler(
      kSharedSecret, [this] { return "{\"report\":" + std::to_string(++reports) + "}"; },
      [this] { return clock; });

  HttpReply ask(const std::map<std::string, std::string>& headers,
                std::string_view target = kReportTarget) {
    const HttpRequestView view{target, [&headers](std::string_view name) -> std::string_view {
                                 const auto it = headers.find(std::string(name));
                                 return it == headers.end() ? std::string_view{} : it->second;
                               }};
    return handler(view);
  }
};

std::map<std::string, std::string> as_headers(const SignedHeaders& signature) {
  return {{std::string(kTimeHeader), signature.time},
          {std::string(kNonceHeader), signature.nonce},
          {std::string(kSignatureHeader), signature.signature}};
}

std::string header_of(const HttpReply& reply, std::string_view name) {
  for (const auto& [key, value] : reply.headers)
    if (key == name) return value;
  return {};
}

}  // namespace

TEST(RingHandler, AnswersASignedRequestWithASignedReport) {
  RingHandlerFixture ring;
  const SignedHeaders request =
      sign_request(kSharedSecret, kReportTarget, ring.clock, random_nonce());
  const HttpReply reply = ring.ask(as_headers(request));
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.body, "{\"report\":1}");
  const SignedHeaders reply_signature{header_of(reply, kTimeHeader), header_of(reply, kNonceHeader),
                                      header_of(reply, kSignatureHeader)};
  EXPECT_EQ(reply_problem(kSharedSecret, request.nonce, reply_signature, reply.body, ring.clock),
            std::nullopt);
  // Bound to this request: the same reply does not answer another one.
  EXPECT_NE(reply_problem(kSharedSecret, random_nonce(), reply_signature, reply.body, ring.clock),
            std::nullopt);
}

TEST(RingHandler, RefusesUnsignedWrongSecretStaleAndReplayedRequests) {
  RingHandlerFixture ring;
  EXPECT_EQ(ring.ask({}).status, 401u);
  EXPECT_EQ(ring.ask(as_headers(sign_request(std::string(48, 'x'), kReportTarget, ring.clock,
                                             random_nonce())))
                .status,
            401u);
  EXPECT_EQ(ring.ask(as_headers(sign_request(kSharedSecret, kReportTarget, ring.clock - 31,
                                             random_nonce())))
                .status,
            401u);
  // Signed for another target: not this one.
  EXPECT_EQ(ring.ask(as_headers(
                         sign_request(kSharedSecret, "/ring/v1/other", ring.clock, random_nonce())))
                .status,
            401u);
  const auto once =
      as_headers(sign_request(kSharedSecret, kReportTarget, ring.clock, random_nonce()));
  EXPECT_EQ(ring.ask(once).status, 200u);
  ring.clock += 5;
  const HttpReply replayed = ring.ask(once);
  EXPECT_EQ(replayed.status, 401u);
  EXPECT_EQ(replayed.body, "a replayed nonce\n");
  EXPECT_EQ(ring.reports, 1);  // no report was built for a refused request
}

TEST(RingHandler, ReasonsNeverCarryTheSecretOrSignature) {
  RingHandlerFixture ring;
  auto headers =
      as_headers(sign_request(std::string(48, 'x'), kReportTarget, ring.clock, random_nonce()));
  const HttpReply reply = ring.ask(headers);
  EXPECT_EQ(reply.body.find(kSharedSecret), std::string::npos);
  EXPECT_EQ(reply.body.find(headers[std::string(kSignatureHeader)]), std::string::npos);
}

TEST(RingHandler, UnknownRingPathIsNotFound) {
  RingHandlerFixture ring;
  EXPECT_EQ(ring.ask({}, "/ring/v2/anything").status, 404u);
}
