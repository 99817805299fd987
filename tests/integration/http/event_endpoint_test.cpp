// The director events endpoint against hostile and broken posters: malformed, oversized,
// flooded and disallowed-source posts, each answered (or closed) without the handler
// seeing what it must not. Raw TCP clients, so the bytes go out exactly as written.

#include "poolwatch/http/event_endpoint.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "support/raw_http_client.hpp"

namespace poolwatch {
namespace {

using testing::raw_http_exchange;
using testing::RawHttpReply;

class EventEndpointTest : public ::testing::Test {
 protected:
  void start(double posts_per_second = 1000, const std::string& allowed_source = "127.0.0.1") {
    EventEndpointSettings settings;
    settings.listen = "127.0.0.1:0";
    settings.path = "/dovecot-events";
    settings.max_body = 4096;
    settings.max_posts_per_second = posts_per_second;
    EventEndpointHandlers handlers{
        [allowed_source](const IpAddress& source) { return source.to_string() == allowed_source; },
        [this](std::string_view body) {
          ++posts_;
          return body.starts_with("{");
        },
        [this](PostResult result) {
          std::lock_guard lock(mutex_);
          ++results_[std::string(to_string(result))];
        }};
    endpoint_ = std::make_unique<EventEndpoint>(io_.get_executor(), settings, handlers);
    ASSERT_FALSE(endpoint_->start());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (endpoint_) endpoint_->stop();
    if (thread_.joinable()) thread_.join();
  }

  RawHttpReply send(const std::string& request) {
    return raw_http_exchange(endpoint_->local_endpoint(), request, std::chrono::seconds(2));
  }

  static std::string post(const std::string& body, const std::string& target = "/dovecot-events") {
    return "POST " + target +
           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  int result(const std::string& name) {
    std::lock_guard lock(mutex_);
    return results_[name];
  }

  boost::asio::io_context io_;
  std::unique_ptr<EventEndpoint> endpoint_;
  std::thread thread_;
  std::atomic<int> posts_{0};
  std::mutex mutex_;
  std::map<std::string, int> results_;
};

TEST_F(EventEndpointTest, AcceptsAnEventAndKeepsTheConnection) {
  start();
  const auto reply = send(post(R"({"event":"proxy_session_finished"})"));
  EXPECT_EQ(reply.status, 200u);
  EXPECT_FALSE(reply.closed);
  EXPECT_EQ(posts_, 1);
  EXPECT_EQ(result("accepted"), 1);
}

TEST_F(EventEndpointTest, SeveralPostsOnOneConnection) {
  start();
  const auto reply = send(post("{}") + post("{}") + post("{}"));
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(posts_, 3);
}

TEST_F(EventEndpointTest, MalformedJsonIs400) {
  start();
  const auto reply = send(post("not json"));
  EXPECT_EQ(reply.status, 400u);
  EXPECT_EQ(result("bad_json"), 1);
}

TEST_F(EventEndpointTest, MalformedHttpIs400AndClosed) {
  start();
  const auto reply = send("POST /dovecot-events HTTP/1.1\r\nContent-Length: x\r\n\r\n{}");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_TRUE(reply.closed);
  EXPECT_EQ(posts_, 0);
}

TEST_F(EventEndpointTest, OversizedBodyIs413BeforeItIsRead) {
  start();
  const std::string big(100000, 'x');
  const auto reply = send(post(big));
  EXPECT_EQ(reply.status, 413u);
  EXPECT_TRUE(reply.closed);
  EXPECT_EQ(posts_, 0);
  EXPECT_EQ(result("too_large"), 1);
}

TEST_F(EventEndpointTest, OversizedChunkedBodyIs413) {
  start();
  std::string chunked =
      "POST /dovecot-events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "400\r\n" + std::string(1024, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  const auto reply = send(chunked);
  EXPECT_EQ(reply.status, 413u);
  EXPECT_EQ(posts_, 0);
}

TEST_F(EventEndpointTest, OtherTargetsAndMethodsAreRefused) {
  start();
  EXPECT_EQ(send(post("{}", "/metrics")).status, 404u);
  EXPECT_EQ(send("GET /dovecot-events HTTP/1.1\r\nHost: x\r\n\r\n").status, 405u);
  EXPECT_EQ(posts_, 0);
}

TEST_F(EventEndpointTest, AFloodBeyondTheRateCapGets429) {
  start(1);  // one post a second, no more saved up
  const std::string once =
      "POST /dovecot-events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Length: 2\r\n\r\n{}";
  int accepted = 0;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    const auto reply = send(once);
    if (reply.status == 200) ++accepted;
    if (reply.status == 429) {
      ++limited;
      EXPECT_EQ(reply.fields.at("RETRY-AFTER"), "1");
      EXPECT_TRUE(reply.closed);
    }
  }
  EXPECT_EQ(accepted + limited, 20);
  EXPECT_GT(limited, 0);
  EXPECT_EQ(posts_, accepted);  // a refused post never reached the handler
  EXPECT_EQ(result("rate_limited"), limited);
}

TEST_F(EventEndpointTest, ADisallowedSourceIsClosedUnanswered) {
  start(1000, "127.0.0.2");
  const auto reply = send(post("{}"));
  EXPECT_EQ(reply.status, 0u);
  EXPECT_TRUE(reply.closed);
  EXPECT_EQ(posts_, 0);
  EXPECT_EQ(result("forbidden"), 1);
}

}  // namespace
}  // namespace poolwatch
