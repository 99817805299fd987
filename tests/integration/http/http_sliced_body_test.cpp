// Bodies made a slice at a time (http/body_writer.hpp; issue 13, item 1): the loop runs
// between slices, so /healthz and a stop never wait for a large pool's /metrics.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "poolwatch/http/http_server.hpp"
#include "support/lab_network.hpp"
#include "support/raw_http_client.hpp"

namespace poolwatch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class SlicedBody : public ::testing::Test {
 protected:
  void start(std::function<BodyWriter()> metrics) {
    HttpHandlers handlers;
    handlers.metrics = std::move(metrics);
    server_ = std::make_unique<HttpServer>(context_.get_executor(), HttpConfig{true, "127.0.0.1:0"},
                                           handlers);
    ASSERT_FALSE(server_->start());
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { context_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  test::HttpGetResult get(const std::string& target, std::chrono::milliseconds timeout = 10s) {
    return test::http_get("127.0.0.1", port_, target, {}, timeout);
  }

  asio::io_context context_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

// Each slice posts a handler to the loop; the next slice finds it has run.
struct InterleavingWriter {
  asio::io_context* context;
  std::shared_ptr<int> slice = std::make_shared<int>(0);
  std::shared_ptr<int> posted_ran = std::make_shared<int>(-2);  // none yet
  std::shared_ptr<int> interleaved = std::make_shared<int>(0);
  bool operator()(std::string& body) const {
    if (*posted_ran == *slice - 1) ++*interleaved;
    body += "slice " + std::to_string(*slice) + "\n";
    asio::post(*context, [ran = posted_ran, n = *slice] { *ran = n; });
    return ++*slice == 100;
  }
};

TEST_F(SlicedBody, TheWholeBodyIsSentAndTheLoopRunsBetweenSlices) {
  InterleavingWriter writer{&context_};
  start([writer] { return BodyWriter(writer); });
  auto reply = get("/metrics");
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.body.rfind("slice 0\nslice 1\n", 0), 0u);
  EXPECT_NE(reply.body.find("slice 99\n"), std::string::npos);
  EXPECT_EQ(reply.headers["content-length"], std::to_string(reply.body.size()));
  // Every slice after the first saw the handler its predecessor posted.
  std::promise<int> interleaved;
  asio::post(context_, [&] { interleaved.set_value(*writer.interleaved); });
  EXPECT_EQ(interleaved.get_future().get(), 99);
}

BodyWriter endless_body() {
  return [](std::string& body) {
    if (body.size() < 1024) body += 'x';
    return false;
  };
}

TEST_F(SlicedBody, HealthzAnswersAndAStopEndsWhileAnEndlessBodyIsMade) {
  start(endless_body);
  auto scrape = std::async(std::launch::async, [this] { return get("/metrics", 30s); });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(get("/healthz", 5s).status, 200);
  EXPECT_EQ(get("/healthz", 5s).status, 200);
  server_->stop();
  thread_.join();  // the loop ends: nothing is left waiting on the body
  auto reply = scrape.get();
  EXPECT_EQ(reply.status, 0);  // closed without a reply
}

TEST_F(SlicedBody, AWriterThatThrowsMidwayIsA500) {
  auto calls = std::make_shared<int>(0);
  start([calls] {
    return BodyWriter([calls](std::string& body) -> bool {
      body += "partial\n";
      if (++*calls == 3) throw std::runtime_error("registry gone");
      return false;
    });
  });
  auto reply = get("/metrics");
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body, "internal error\n");
  EXPECT_EQ(get("/healthz").status, 200);
}

// A body of `slices` slices of 10 000 bytes each ("slice N" and padding); what the writer
// found in its buffer at each call, at most, goes to *largest_seen.
BodyWriter large_body(int slices, std::shared_ptr<std::size_t> largest_seen) {
  auto made = std::make_shared<int>(0);
  return [slices, made, largest_seen](std::string& body) {
    *largest_seen = std::max(*largest_seen, body.size());
    std::string slice = "slice " + std::to_string(*made) + "\n";
    slice.resize(10'000, '.');
    body += slice;
    return ++*made == slices;
  };
}

constexpr int kLargeSlices = 300;  // 3 MB

// A large body goes out as it is made (issue 13, item 1): the server holds a chunk of it,
// not the 90 MB of a 100 000-backend /metrics, whose growing string stalled the loop.
TEST_F(SlicedBody, ALargeBodyIsSentInChunksAsItIsMade) {
  auto largest = std::make_shared<std::size_t>(0);
  start([largest] { return large_body(kLargeSlices, largest); });
  const auto reply = get("/metrics");
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.error, "");
  EXPECT_EQ(reply.headers.at("transfer-encoding"), "chunked");
  EXPECT_FALSE(reply.headers.contains("content-length"));
  ASSERT_EQ(reply.body.size(), kLargeSlices * 10'000U);
  for (const int n : {0, 1, 150, kLargeSlices - 1})
    EXPECT_EQ(reply.body.substr(n * 10'000U, 12).rfind("slice " + std::to_string(n) + "\n", 0), 0U);
  EXPECT_LT(*largest, 100'000U) << "the server kept the body it had sent";
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(SlicedBody, AHeadOfALargeBodyTellsItsLengthAndSendsNone) {
  auto largest = std::make_shared<std::size_t>(0);
  start([largest] { return large_body(kLargeSlices, largest); });
  const auto reply = testing::raw_http_exchange(
      server_->local_endpoint(), "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      5s);
  ASSERT_EQ(reply.status, 200U) << reply.error;
  EXPECT_EQ(reply.fields.at("CONTENT-LENGTH"), std::to_string(kLargeSlices * 10'000));
  EXPECT_EQ(reply.body, "");
  EXPECT_EQ(reply.after_reply, "");
  EXPECT_LT(*largest, 100'000U);
}

// HTTP/1.0 has no chunks: the body ends with the connection.
TEST_F(SlicedBody, AnHttp10ClientGetsALargeBodyEndedByTheClose) {
  auto largest = std::make_shared<std::size_t>(0);
  start([largest] { return large_body(kLargeSlices, largest); });
  const auto reply =
      testing::raw_http_exchange(server_->local_endpoint(), "GET /metrics HTTP/1.0\r\n\r\n", 5s);
  ASSERT_EQ(reply.status, 200U) << reply.error;
  EXPECT_FALSE(reply.fields.contains("TRANSFER-ENCODING"));
  EXPECT_FALSE(reply.fields.contains("CONTENT-LENGTH"));
  EXPECT_EQ(reply.body.size() + reply.after_reply.size(), kLargeSlices * 10'000U);
  EXPECT_TRUE(reply.closed);
}

// Once the head is out a 500 cannot be sent: the body is cut, which the client sees as an
// incomplete reply (no last chunk), never as a whole one.
TEST_F(SlicedBody, AWriterThatThrowsAfterTheHeadWentOutCutsTheBody) {
  auto calls = std::make_shared<int>(0);
  start([calls] {
    return BodyWriter([calls](std::string& body) -> bool {
      body.append(10'000, 'x');
      if (++*calls == 50) throw std::runtime_error("registry gone");
      return false;
    });
  });
  const auto reply = get("/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.error.find("chunked body cut short"), std::string::npos) << reply.error;
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace poolwatch
