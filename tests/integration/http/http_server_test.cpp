#include "poolwatch/http/http_server.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <stdexcept>
#include <thread>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "poolwatch/http/status_view.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

// Only a failure guard: nothing here should come close to it.
constexpr auto kGuard = 20s;

struct Reply {
  std::string error;  // "eof", "reset", "timeout" or another I/O error; empty: a reply
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  bool keep_alive = false;
};

// Reads one reply from an already connected socket.
asio::awaitable<Reply> read_reply(tcp::socket& socket, boost::beast::flat_buffer& buffer,
                                  bool head = false) {
  Reply reply;
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  auto [ec, n] = co_await http::async_read(socket, buffer, parser, use_tuple);
  if (ec) {
    reply.error = ec == http::error::end_of_stream || ec == asio::error::eof ? "eof"
                  : ec == asio::error::connection_reset                      ? "reset"
                                                                             : ec.message();
    co_return reply;
  }
  const auto& res = parser.get();
  reply.status = res.result_int();
  reply.body = res.body();
  reply.keep_alive = res.keep_alive();
  for (const auto& field : res) reply.headers[std::string(field.name_string())] = field.value();
  co_return reply;
}

asio::awaitable<Reply> exchange(tcp::endpoint endpoint, std::string request, bool head) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  Reply reply;
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_tuple);
  if (connect_ec) {
    reply.error = "connect: " + connect_ec.message();
    co_return reply;
  }
  auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  if (write_ec) {
    reply.error = write_ec == asio::error::connection_reset ? "reset" : write_ec.message();
    co_return reply;
  }
  boost::beast::flat_buffer buffer;
  co_return co_await read_reply(socket, buffer, head);
}

asio::awaitable<Reply> exchange_with_guard(tcp::endpoint endpoint, std::string request, bool head) {
  asio::steady_timer guard(co_await asio::this_coro::executor);
  guard.expires_after(kGuard);
  auto result =
      co_await (exchange(endpoint, std::move(request), head) || guard.async_wait(use_tuple));
  if (result.index() == 1) co_return Reply{"timeout", 0, {}, {}, false};
  co_return std::get<0>(std::move(result));
}

template <typename T>
T run_client(asio::awaitable<T> task) {
  asio::io_context context;
  auto future = asio::co_spawn(context, std::move(task), asio::use_future);
  context.run();
  return future.get();
}

Reply request(tcp::endpoint endpoint, std::string raw, bool head = false) {
  return run_client(exchange_with_guard(endpoint, std::move(raw), head));
}

Reply get(tcp::endpoint endpoint, std::string_view target) {
  return request(endpoint,
                 fmt::format("GET {} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", target));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}) {
    HttpConfig config;
    config.listen = "127.0.0.1:0";
    HttpHandlers handlers;
    handlers.metrics = [this] { return whole_body(metrics_.render()); };
    handlers.status = [this] {
      if (status_throws_) throw std::runtime_error("no status yet");
      return whole_body(to_json(status_));
    };
    server_ = std::make_unique<HttpServer>(context_.get_executor(), config, handlers, limits);
    ASSERT_FALSE(server_->start());
    endpoint_ = server_->local_endpoint();
    ASSERT_NE(endpoint_.port(), 0);
    thread_ = std::thread([this] { context_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();  // returns once every connection is closed
    server_.reset();
  }

  bool wait_until_idle() { return wait_for_connections(0); }

  // True once exactly n connections are being served or refused, false after the
  // guard. Polled on the loop thread: the server has no event for it.
  bool wait_for_connections(std::size_t n) {
    for (auto deadline = std::chrono::steady_clock::now() + kGuard;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
      std::promise<std::size_t> count;
      asio::post(context_, [&] {
        count.set_value(server_->active_connections() + server_->refusing_connections());
      });
      if (count.get_future().get() == n) return true;
    }
    return false;
  }

  asio::io_context context_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  tcp::endpoint endpoint_;
  PoolwatchMetrics metrics_;
  std::vector<BackendStatusView> status_;
  std::atomic<bool> status_throws_{false};
};

TEST(ParseListenAddress, AcceptsIpLiteralsWithPortsOnly) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:9167"),
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9167));
  EXPECT_EQ(parse_listen_address("[::1]:80"), tcp::endpoint(asio::ip::make_address("::1"), 80));
  EXPECT_EQ(parse_listen_address("localhost:1"),
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), 1));
  for (auto bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "::1:80",
                   "[::1]80", "example.com:80", "127.0.0.1:-1"})
    EXPECT_FALSE(parse_listen_address(bad)) << bad;
}

TEST_F(HttpServerTest, HealthzAndMetrics) {
  start();
  metrics_.probe_result("10.0.0.1", Protocol::imap, FailureClass::none, 5ms);
  auto health = get(endpoint_, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.error;
  EXPECT_EQ(health.body, "ok\n");

  auto m = get(endpoint_, "/metrics?ignored=1");
  ASSERT_EQ(m.status, 200u) << m.error;
  EXPECT_EQ(m.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = test::check_exposition(m.body);
  EXPECT_TRUE(parsed.ok()) << parsed.error_text();
  EXPECT_EQ(parsed.value("poolwatch_probe_results_total",
                         {{"backend", "10.0.0.1"}, {"protocol", "imap"}, {"outcome", "ok"}}),
            1);
}

TEST_F(HttpServerTest, ReadyzFollowsTheFlag) {
  start();
  EXPECT_EQ(get(endpoint_, "/readyz").status, 503u);
  server_->set_ready(true);
  EXPECT_EQ(get(endpoint_, "/readyz").status, 200u);
  server_->set_ready(false);
  EXPECT_EQ(get(endpoint_, "/readyz").status, 503u);
}

TEST_F(HttpServerTest, StatusServesTheDaemonsJsonAndSurvivesAThrowingHandler) {
  BackendStatusView b;
  b.address = "10.0.0.1";
  b.state = "down";
  b.reason = "connect refused";
  status_ = {b};
  start();
  auto reply = get(endpoint_, "/status");
  ASSERT_EQ(reply.status, 200u) << reply.error;
  EXPECT_EQ(reply.headers["Content-Type"], "application/json");
  EXPECT_EQ(parse_status_json(reply.body), status_);
  status_throws_ = true;
  EXPECT_EQ(get(endpoint_, "/status").status, 500u);
  EXPECT_EQ(get(endpoint_, "/healthz").status, 200u);
}

TEST_F(HttpServerTest, UnknownPathsAndMethods) {
  start();
  EXPECT_EQ(get(endpoint_, "/nope").status, 404u);
  EXPECT_EQ(get(endpoint_, "/metricsx").status, 404u);
  EXPECT_EQ(get(endpoint_, "http://example/metrics").status, 404u);
  for (auto method : {"POST", "PUT", "DELETE", "OPTIONS", "BREW"}) {
    auto reply = request(
        endpoint_,
        fmt::format("{} /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", method));
    EXPECT_EQ(reply.status, 405u) << method << " " << reply.error;
    EXPECT_EQ(reply.headers["Allow"], "GET, HEAD");
  }
}

TEST_F(HttpServerTest, HeadAnswersWithoutBody) {
  start();
  auto reply = request(endpoint_, "HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                       /*head=*/true);
  EXPECT_EQ(reply.status, 200u) << reply.error;
  EXPECT_EQ(reply.headers["Content-Length"], "3");
  EXPECT_EQ(reply.body, "");
}

TEST_F(HttpServerTest, MalformedRequestsGet400) {
  start();
  for (std::string raw : {"GARBAGE\r\n\r\n", "GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
                          "GET /healthz HTTP/x.y\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                          "GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    auto reply = request(endpoint_, raw);
    EXPECT_EQ(reply.status, 400u) << raw << " " << reply.error;
  }
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  start();
  auto raw =
      "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(10 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(request(endpoint_, raw).status, 431u);
  // Many small headers add up the same way.
  std::string many = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) many += fmt::format("X-H{}: value\r\n", i);
  EXPECT_EQ(request(endpoint_, many + "\r\n").status, 431u);
  // 100 KiB: the server may close before the client has finished writing, so the
  // client sees either the 431 or the reset; either way the server goes on serving.
  const auto huge = request(endpoint_, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Huge: " +
                                           std::string(100 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(huge.status == 431u || (huge.status == 0 && huge.error != "timeout"))
      << huge.status << " " << huge.error;
  EXPECT_EQ(request(endpoint_, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").status, 200u);
}

TEST_F(HttpServerTest, RequestBodiesAreRefused) {
  start();
  auto reply =
      request(endpoint_, "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(reply.status, 413u) << reply.error;
  EXPECT_FALSE(reply.keep_alive);
  auto chunked = request(endpoint_,
                         "GET /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                         "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413u) << chunked.error;
}

asio::awaitable<std::vector<Reply>> keep_alive_client(tcp::endpoint endpoint) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  boost::beast::flat_buffer buffer;
  std::vector<Reply> replies;
  for (auto target : {"/healthz", "/readyz", "/metrics"}) {
    auto raw = fmt::format("GET {} HTTP/1.1\r\nHost: t\r\n\r\n", target);
    co_await asio::async_write(socket, asio::buffer(raw), asio::use_awaitable);
    replies.push_back(co_await read_reply(socket, buffer));
  }
  co_return replies;
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto replies = run_client(keep_alive_client(endpoint_));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].status, 200u);
  EXPECT_TRUE(replies[0].keep_alive);
  EXPECT_EQ(replies[1].status, 503u);
  EXPECT_EQ(replies[2].status, 200u);
}

// A client that sends part of a request and then nothing; the result is how its
// connection ended ("closed" when the server closed it).
asio::awaitable<std::string> stalled_client(tcp::endpoint endpoint, std::promise<void>* connected,
                                            bool trickle) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  std::string partial = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
  co_await asio::async_write(socket, asio::buffer(partial), asio::use_awaitable);
  connected->set_value();
  asio::steady_timer timer(executor);
  char byte = 0;
  for (auto deadline = std::chrono::steady_clock::now() + kGuard;
       std::chrono::steady_clock::now() < deadline;) {
    // Trickling one byte at a time must not extend the per-request deadline.
    timer.expires_after(trickle ? 20ms : kGuard);
    auto result = co_await (socket.async_read_some(asio::buffer(&byte, 1), use_tuple) ||
                            timer.async_wait(use_tuple));
    if (result.index() == 0) {
      auto [ec, n] = std::get<0>(result);
      co_return ec == asio::error::eof || ec == asio::error::connection_reset ? "closed"
      : ec                                                                    ? ec.message()
                                                                              : "unexpected data";
    }
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer("a", 1), use_tuple);
    if (ec) co_return "closed";  // reset or broken pipe: the server closed it
  }
  co_return "still open";
}

TEST_F(HttpServerTest, SlowClientDoesNotBlockOthers) {
  start();  // default 10 s request deadline: the slow client stays open during the test
  asio::io_context client;
  std::promise<void> connected;
  auto slow =
      asio::co_spawn(client, stalled_client(endpoint_, &connected, false), asio::use_future);
  std::thread client_thread([&] { client.run(); });
  connected.get_future().wait();
  auto health = get(endpoint_, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.error;
  EXPECT_NE(slow.wait_for(0s), std::future_status::ready);  // the slow one is still held
  server_->stop();                                          // closes it
  EXPECT_EQ(slow.get(), "closed");
  client_thread.join();
}

TEST_F(HttpServerTest, StalledAndTricklingClientsAreClosedAtTheDeadline) {
  HttpLimits limits;
  limits.request_timeout = 300ms;
  start(limits);
  for (bool trickle : {false, true}) {
    asio::io_context client;
    std::promise<void> connected;
    auto slow =
        asio::co_spawn(client, stalled_client(endpoint_, &connected, trickle), asio::use_future);
    client.run();
    EXPECT_EQ(slow.get(), "closed") << (trickle ? "trickle" : "stalled");
  }
  EXPECT_EQ(get(endpoint_, "/healthz").status, 200u);
}

struct Tally {
  int ok = 0, busy = 0, closed = 0, other = 0;
  std::vector<std::string> others;
};

asio::awaitable<void> counted_client(tcp::endpoint endpoint, Tally* tally) {
  auto reply = co_await exchange_with_guard(
      endpoint, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false);
  if (reply.status == 200)
    ++tally->ok;
  else if (reply.status == 503)
    ++tally->busy;
  else if (reply.error == "eof" || reply.error == "reset")
    ++tally->closed;
  else {
    ++tally->other;
    tally->others.push_back(reply.status ? std::to_string(reply.status) : reply.error);
  }
}

Tally run_concurrent_clients(tcp::endpoint endpoint, int n) {
  asio::io_context client;
  Tally tally;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(client, counted_client(endpoint, &tally), asio::detached);
  client.run();
  return tally;
}

TEST_F(HttpServerTest, TwoHundredConcurrentClientsUnderTheCapAreAllAnswered) {
  HttpLimits limits;
  limits.max_connections = 250;
  start(limits);
  auto tally = run_concurrent_clients(endpoint_, 200);
  EXPECT_EQ(tally.ok, 200) << tally.busy << " busy, " << tally.closed << " closed";
}

TEST_F(HttpServerTest, ConnectionsOverTheCapAreRefusedCleanly) {
  HttpLimits limits;
  limits.max_connections = 20;
  start(limits);
  auto tally = run_concurrent_clients(endpoint_, 200);
  EXPECT_EQ(tally.ok + tally.busy + tally.closed, 200)
      << "unexpected: " << fmt::format("{}", fmt::join(tally.others, ", "));
  EXPECT_GE(tally.ok, 1);
  // Every slot is given back: the server serves normally afterwards. Connections the
  // clients closed may still be finishing on the loop, so wait for them to go.
  EXPECT_TRUE(wait_until_idle());
  EXPECT_EQ(get(endpoint_, "/healthz").status, 200u);
}

TEST_F(HttpServerTest, AFullServerAnswers503) {
  HttpLimits limits;
  limits.max_connections = 3;
  start(limits);
  asio::io_context client;
  std::vector<std::promise<void>> connected(3);
  std::vector<std::future<std::string>> stalled;
  for (auto& c : connected)
    stalled.push_back(
        asio::co_spawn(client, stalled_client(endpoint_, &c, false), asio::use_future));
  std::thread client_thread([&] { client.run(); });
  for (auto& c : connected) c.get_future().wait();
  ASSERT_TRUE(wait_for_connections(3));  // the server holds all three: it is full
  auto reply = get(endpoint_, "/healthz");
  EXPECT_EQ(reply.status, 503u) << reply.error;
  EXPECT_EQ(reply.headers["Retry-After"], "1");
  EXPECT_FALSE(reply.keep_alive);
  server_->stop();
  for (auto& s : stalled) EXPECT_EQ(s.get(), "closed");
  client_thread.join();
}

TEST_F(HttpServerTest, StopClosesTheListener) {
  start();
  server_->stop();
  thread_.join();  // the loop runs dry: nothing of the server is left on it
  auto reply = get(endpoint_, "/healthz");
  EXPECT_NE(reply.error.find("connect"), std::string::npos) << reply.error;
}

TEST(HttpServerStart, ReportsBindErrorsAndBadAddresses) {
  asio::io_context context;
  HttpConfig config;
  config.listen = "127.0.0.1:0";
  HttpServer first(context.get_executor(), config, {});
  ASSERT_FALSE(first.start());
  config.listen = fmt::format("127.0.0.1:{}", first.local_endpoint().port());
  HttpServer second(context.get_executor(), config, {});
  EXPECT_EQ(second.start(), asio::error::address_in_use);
  config.listen = "not an address";
  HttpServer third(context.get_executor(), config, {});
  EXPECT_TRUE(third.start());
  config.enabled = false;
  HttpServer disabled(context.get_executor(), config, {});
  EXPECT_FALSE(disabled.start());
  EXPECT_EQ(disabled.local_endpoint().port(), 0);
}

}  // namespace
}  // namespace poolwatch
