// The peer exchange over real sockets: the HTTP listener's /ring/ handler and the signed
// GET of a peer's report, including peers that lie, babble or flood.

#include "poolwatch/peer/peer_exchange.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/peer/peer_client.hpp"
#include "poolwatch/peer/peer_server.hpp"
#include "support/run_awaitable.hpp"

using namespace poolwatch;
using namespace poolwatch::peer;
using poolwatch::testing::run_awaitable;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const std::string kRingSecretA(48, 'a');
const std::string kRingSecretB(48, 'b');
constexpr std::chrono::milliseconds kPeerDeadline{3000};

class PeerExchange : public ::testing::Test {
 protected:
  // A listener whose /ring/ handler is `handler`, on an ephemeral loopback port.
  tcp::endpoint serve(std::function<HttpReply(const HttpRequestView&)> handler) {
    HttpConfig config;
    config.listen = "127.0.0.1:0";
    HttpHandlers handlers;
    handlers.ring = std::move(handler);
    server_ = std::make_unique<HttpServer>(io_.get_executor(), config, std::move(handlers));
    EXPECT_FALSE(server_->start());
    return server_->local_endpoint();
  }

  PeerFetchResult fetch(tcp::endpoint endpoint, const std::string& secret) {
    return run_awaitable(io_, fetch_from_peer(endpoint, std::nullopt, std::string(kReportTarget),
                                              secret, kPeerDeadline));
  }

  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
};

// Answers every connection with `reply` and closes: a peer that is not poolwatch.
asio::awaitable<void> answer_raw(tcp::acceptor& acceptor, std::string reply) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) co_return;
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
    (void)write_ec;
  }
}

}  // namespace

TEST_F(PeerExchange, SignedReportTravelsBothWays) {
  const auto endpoint = serve(ring_handler(
      kRingSecretA, [] { return std::string("{\"v\":1}"); }, [] { return unix_now(); }));
  const PeerFetchResult result = fetch(endpoint, kRingSecretA);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.body, "{\"v\":1}");
}

TEST_F(PeerExchange, WrongSecretIsRefusedAndSaysNothingSecret) {
  const auto endpoint = serve(ring_handler(
      kRingSecretA, [] { return std::string("{}"); }, [] { return unix_now(); }));
  const PeerFetchResult result = fetch(endpoint, kRingSecretB);
  EXPECT_EQ(result.body, "");
  EXPECT_NE(result.error.find("401"), std::string::npos) << result.error;
  EXPECT_EQ(result.error.find(kRingSecretA), std::string::npos);
  EXPECT_EQ(result.error.find(kRingSecretB), std::string::npos);
}

TEST_F(PeerExchange, ReplyNotSignedForThisRequestIsIgnored) {
  // A peer that replays a reply it signed for an earlier request.
  const std::string old_nonce = random_nonce();
  const auto endpoint = serve([old_nonce](const HttpRequestView&) {
    HttpReply reply;
    reply.body = "{\"down\":[\"127.0.1.1\"]}";
    const auto signature = sign_reply(kRingSecretA, old_nonce, reply.body, unix_now());
    reply.headers = {{std::string(kTimeHeader), signature.time},
                     {std::string(kNonceHeader), signature.nonce},
                     {std::string(kSignatureHeader), signature.signature}};
    return reply;
  });
  const PeerFetchResult result = fetch(endpoint, kRingSecretA);
  EXPECT_EQ(result.body, "");
  EXPECT_NE(result.error.find("bad signature"), std::string::npos) << result.error;
}

TEST_F(PeerExchange, GarbageAndOversizedRepliesAreErrorsNotCrashes) {
  tcp::acceptor garbage(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  // Appended rather than string + "...", and copied rather than moved into the
  // coroutine: g++ 12 warns falsely (-Warray-bounds) on both forms in a build without
  // unity batches.
  std::string babble_reply(5000, '\x01');
  babble_reply += "\r\n\r\n";
  asio::co_spawn(io_, answer_raw(garbage, babble_reply), asio::detached);
  const PeerFetchResult babble = fetch(garbage.local_endpoint(), kRingSecretA);
  EXPECT_EQ(babble.body, "");
  EXPECT_NE(babble.error, "");

  const auto endpoint = serve([](const HttpRequestView&) {
    return HttpReply{200, "application/json", {}, std::string(kMaxReplyBytes + 1, 'x')};
  });
  const PeerFetchResult flood = fetch(endpoint, kRingSecretA);
  EXPECT_EQ(flood.body, "");
  EXPECT_NE(flood.error.find("reply"), std::string::npos) << flood.error;
  garbage.close();
}

TEST_F(PeerExchange, SilentPeerTimesOut) {
  tcp::acceptor silent(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const PeerFetchResult result = run_awaitable(
      io_, fetch_from_peer(silent.local_endpoint(), std::nullopt, std::string(kReportTarget),
                           kRingSecretA, std::chrono::milliseconds(300)));
  EXPECT_EQ(result.error, "no reply within the deadline");
}
