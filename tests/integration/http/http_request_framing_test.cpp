// How the server treats a request's framing (RFC 9112 §6): a body whose end it cannot
// tell is refused with 400 and the connection closed, because whatever follows on that
// connection could be read as a request of its own (request smuggling). The client is
// raw TCP, so the requests go out exactly as written.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "poolwatch/http/http_server.hpp"
#include "support/raw_http_client.hpp"

namespace poolwatch {
namespace {

using testing::raw_http_exchange;
using testing::RawHttpReply;

class HttpFramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpConfig config;
    config.listen = "127.0.0.1:0";
    HttpHandlers handlers;
    handlers.metrics = [] { return whole_body("# metrics\n"); };
    server_ = std::make_unique<HttpServer>(io_.get_executor(), config, handlers);
    ASSERT_FALSE(server_->start());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // The server's request deadline (10 s) is far beyond the guard: a connection still
  // open when the guard ends was kept alive, not timed out.
  RawHttpReply send(const std::string& request) {
    return raw_http_exchange(server_->local_endpoint(), request, std::chrono::seconds(3));
  }

  // 400, said to close, closed, and nothing after the reply: what followed the header
  // was never read as a request.
  void expect_refused_and_closed(const std::string& request) {
    auto reply = send(request);
    SCOPED_TRACE(::testing::PrintToString(request));
    EXPECT_EQ(reply.error, "");
    EXPECT_EQ(reply.status, 400u);
    EXPECT_EQ(reply.fields["CONNECTION"], "close");
    EXPECT_TRUE(reply.closed);
    EXPECT_EQ(reply.after_reply, "");
  }

  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

constexpr std::string_view kChunkedBody = "5\r\nhello\r\n0\r\n\r\n";

std::string get_healthz(std::string_view fields, std::string_view version = "HTTP/1.1") {
  return "GET /healthz " + std::string(version) + "\r\nHost: t\r\n" + std::string(fields) + "\r\n";
}

// Beast reads a body only when chunked is the last coding of one Transfer-Encoding line;
// it takes any other request with Transfer-Encoding as one without a body.
TEST_F(HttpFramingTest, TransferEncodingNotEndingInOneChunkedIsRefused) {
  for (std::string_view codings : {"xchunked", "chunked, identity", "identity", "gzip",
                                   "chunked, chunked", "chunked;ext=1", ""}) {
    const auto fields = "Transfer-Encoding: " + std::string(codings) + "\r\n";
    expect_refused_and_closed(get_healthz(fields));
    expect_refused_and_closed(get_healthz(fields) + std::string(kChunkedBody));
  }
  // Two field lines are one list: "chunked, identity" again.
  expect_refused_and_closed(
      get_healthz("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"));
}

TEST_F(HttpFramingTest, ContentLengthWithTransferEncodingIsRefused) {
  for (std::string_view fields : {"Content-Length: 0\r\nTransfer-Encoding: xchunked\r\n",
                                  "Transfer-Encoding: chunked, identity\r\nContent-Length: 0\r\n",
                                  "Content-Length: 15\r\nTransfer-Encoding: chunked\r\n",
                                  "Transfer-Encoding: chunked\r\nContent-Length: 15\r\n"}) {
    expect_refused_and_closed(get_healthz(fields) + std::string(kChunkedBody));
  }
}

// RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
TEST_F(HttpFramingTest, TransferEncodingInHttp10IsRefused) {
  expect_refused_and_closed(get_healthz("Transfer-Encoding: chunked\r\n", "HTTP/1.0") +
                            std::string(kChunkedBody));
}

// A body framed correctly is still refused for what it is (413, closed), not as framing.
TEST_F(HttpFramingTest, ChunkedBodyIsRefusedAsABody) {
  auto reply =
      send(get_healthz("Transfer-Encoding: gzip, chunked\r\n") + std::string(kChunkedBody));
  EXPECT_EQ(reply.status, 413u);
  EXPECT_TRUE(reply.closed);
  EXPECT_EQ(reply.after_reply, "");
}

// TE (not Transfer-Encoding) lists the codings a client accepts in the reply; it frames
// nothing, so odd values are no reason to refuse, and replies here never use a coding.
TEST_F(HttpFramingTest, TeFieldIsNotFraming) {
  for (std::string_view te : {"xchunked", "chunked, identity", "trailers"}) {
    auto reply =
        send(get_healthz("TE: " + std::string(te) + "\r\n") + get_healthz("Connection: close\r\n"));
    SCOPED_TRACE(te);
    EXPECT_EQ(reply.status, 200u);
    EXPECT_EQ(reply.fields.count("TRANSFER-ENCODING"), 0u);
    EXPECT_EQ(reply.fields["CONNECTION"], "");  // kept alive: the second request is served
    EXPECT_NE(reply.after_reply.find("HTTP/1.1 200"), std::string::npos) << reply.after_reply;
    EXPECT_TRUE(reply.closed);
  }
}

}  // namespace
}  // namespace poolwatch
