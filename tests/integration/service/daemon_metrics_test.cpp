// PoolWatcher in-process against the fake director and fake IMAP backends: the values
// its /metrics output reports after a scripted failure, and an HTTP endpoint on the
// same loop that slow clients cannot stall.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/exposition_checker.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using namespace boost::asio::experimental::awaitable_operators;
using poolwatch::test::check_exposition;
using poolwatch::test::eventually;
using poolwatch::test::Exposition;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
using poolwatch::testing::FakeMailServerOptions;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

// One GET on a fresh connection: the reply's status, or 0 on any error or the guard.
asio::awaitable<unsigned> get_dialogue(tcp::socket& socket, tcp::endpoint endpoint,
                                       std::string target) {
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_tuple);
  if (connect_ec) co_return 0u;
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(request), use_tuple);
  if (write_ec) co_return 0u;
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  auto [read_ec, read] = co_await http::async_read(socket, buffer, response, use_tuple);
  if (read_ec) co_return 0u;
  co_return response.result_int();
}

asio::awaitable<unsigned> get_status(tcp::endpoint endpoint, std::string target) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  asio::steady_timer guard(executor, std::chrono::seconds(15));  // a failure guard only
  auto result = co_await (get_dialogue(socket, endpoint, std::move(target)) ||
                          guard.async_wait(asio::use_awaitable));
  if (result.index() == 1) co_return 0u;
  co_return std::get<0>(result);
}

// Several GETs at once from the test thread, on a private io_context.
std::vector<unsigned> get_concurrently(tcp::endpoint endpoint, const std::string& target,
                                       std::size_t count) {
  asio::io_context client_io;
  std::vector<std::future<unsigned>> replies;
  for (std::size_t i = 0; i < count; ++i)
    replies.push_back(asio::co_spawn(client_io, get_status(endpoint, target), asio::use_future));
  client_io.run();
  std::vector<unsigned> statuses;
  for (auto& r : replies) statuses.push_back(r.get());
  return statuses;
}

class DaemonMetrics : public ::testing::Test {
 protected:
  // Not the addresses of daemon_actions_test.cpp, so both can run at once.
  static inline const auto kHealthy = make_ip_address("127.0.4.1");
  static inline const auto kDying = make_ip_address("127.0.4.2");
  // Only a failure guard: nothing here should come close to it.
  static constexpr auto kGuard = 15s;
  static constexpr std::size_t kIdleClients = 200;

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(options(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(options(kDying, port_));
  }

  void TearDown() override { stop(); }

  FakeMailServerOptions options(const IpAddress& a, std::uint16_t port) const {
    return poolwatch::test::fake_backend_at(a, port);
  }

  Config config() const {
    return poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
  }

  // The HTTP server is built and bound before the loop thread starts, so nothing of it
  // is touched from two threads at once.
  void start(Config c, std::optional<HttpLimits> http_limits = std::nullopt) {
    watcher_ = std::make_unique<PoolWatcher>(io_.get_executor(), std::move(c), CredentialStore{});
    if (http_limits) {
      HttpHandlers handlers;
      handlers.metrics = [this] { return watcher_->metrics_body(); };
      http_ = std::make_unique<HttpServer>(io_.get_executor(), HttpConfig{true, "127.0.0.1:0"},
                                           handlers, *http_limits);
      ASSERT_FALSE(http_->start());
      http_endpoint_ = http_->local_endpoint();
    }
    spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    if (http_) http_->stop();
    asio::post(io_, [this] { watcher_->request_stop(); });
    thread_.join();
  }

  // Runs f on the loop thread (the only one that may touch the watcher and the HTTP
  // server) and returns its result; nullopt if the loop does not get to it in time.
  template <typename F>
  auto on_loop(F f) -> std::optional<decltype(f())> {
    return poolwatch::test::run_on_loop(io_, f, kGuard);
  }

  Exposition scrape() {
    auto text = on_loop([this] { return watcher_->metrics().render(); });
    if (!text) {
      Exposition none;
      none.errors.push_back("the loop did not render the metrics in time");
      return none;
    }
    return check_exposition(*text);
  }

  std::size_t http_active() {
    return on_loop([this] { return http_->active_connections(); }).value_or(0);
  }

  // Opens idle connections that send nothing; returns once the server has accepted
  // as many as it serves (or refuses) at once.
  std::vector<tcp::socket> open_idle_clients(asio::io_context& client_io) {
    std::vector<tcp::socket> idle;
    for (std::size_t i = 0; i < kIdleClients; ++i) {
      idle.emplace_back(client_io);
      boost::system::error_code ec;
      idle.back().connect(http_endpoint_, ec);
      EXPECT_FALSE(ec) << "idle client " << i << ": " << ec.message();
    }
    return idle;
  }

  // The daemon keeps probing: more probe connections reach the healthy fake.
  bool probes_continue(std::size_t more) {
    const auto before = healthy_->connections();
    return eventually([&] { return healthy_->connections() >= before + more; }, kGuard);
  }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::unique_ptr<HttpServer> http_;
  tcp::endpoint http_endpoint_;
  std::thread thread_;
};

// Every probe's lateness is observed, and with metrics.per_backend_latency off the
// probe durations are kept by protocol only (issue 15).
TEST_F(DaemonMetrics, LatenessCountsEveryProbeAndTheSwitchDropsPerBackendLatency) {
  auto c = config();
  c.metrics.per_backend_latency = false;
  start(c);
  ASSERT_TRUE(probes_continue(3));
  const auto p = scrape();
  ASSERT_TRUE(p.ok()) << p.error_text();
  double probes = 0;
  for (const auto* s : p.find("poolwatch_probe_results_total")) probes += s->value;
  EXPECT_GE(probes, 3);
  EXPECT_EQ(p.value("poolwatch_probe_lateness_seconds_count"), probes);
  EXPECT_GE(p.value("poolwatch_probe_duration_seconds_count", {{"protocol", "imap"}}).value_or(0),
            1);
  for (const auto* s : p.find("poolwatch_probe_duration_seconds_count"))
    EXPECT_EQ(s->labels.count("backend"), 0u);
}

TEST_F(DaemonMetrics, ValuesAfterABackendGoesDown) {
  start(config());
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(eventually([&] { return director_.host(kDying)->down.value_or(false); }, kGuard))
      << ::testing::PrintToString(director_.commands());
  // The counter moves once the director has answered, after it applied the command.
  ASSERT_TRUE(eventually(
      [&] {
        return scrape()
                   .value("poolwatch_director_actions_total",
                          {{"action", "reset_users"}, {"backend", "127.0.4.2"}, {"result", "ok"}})
                   .value_or(0) >= 1;
      },
      kGuard));
  // The next HOST-LIST shows the host down.
  ASSERT_TRUE(eventually(
      [&] { return scrape().value("poolwatch_pool_down_hosts").value_or(0) == 1; }, kGuard));

  const auto m = scrape();
  ASSERT_TRUE(m.ok()) << m.error_text();
  EXPECT_GE(m.value("poolwatch_probe_results_total",
                    {{"backend", "127.0.4.1"}, {"protocol", "imap"}, {"outcome", "ok"}})
                .value_or(0),
            1);
  EXPECT_GE(
      m.value("poolwatch_probe_results_total",
              {{"backend", "127.0.4.2"}, {"protocol", "imap"}, {"outcome", "connect_refused"}})
          .value_or(0),
      2);  // retry_count failures at least
  EXPECT_TRUE(m.find("poolwatch_probe_results_total",
                     {{"backend", "127.0.4.1"}, {"outcome", "connect_refused"}})
                  .empty());
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", "127.0.4.2"}, {"state", "down"}}), 1);
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", "127.0.4.2"}, {"state", "up"}}), 0);
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", "127.0.4.1"}, {"state", "up"}}), 1);
  EXPECT_EQ(m.value("poolwatch_backend_state", {{"backend", "127.0.4.1"}, {"state", "down"}}), 0);
  EXPECT_EQ(
      m.value("poolwatch_backend_transitions_total", {{"backend", "127.0.4.2"}, {"to", "down"}}),
      1);
  EXPECT_EQ(m.value("poolwatch_director_actions_total",
                    {{"action", "down"}, {"backend", "127.0.4.2"}, {"result", "ok"}}),
            1);
  EXPECT_EQ(m.value("poolwatch_director_actions_total",
                    {{"action", "reset_users"}, {"backend", "127.0.4.2"}, {"result", "ok"}}),
            1);
  EXPECT_TRUE(m.find("poolwatch_director_actions_total", {{"backend", "127.0.4.1"}}).empty());
  EXPECT_EQ(m.find("poolwatch_director_actions_total").size(), 2u);
  EXPECT_EQ(m.value("poolwatch_pool_hosts"), 2);
  EXPECT_EQ(m.value("poolwatch_pool_down_hosts"), 1);
  EXPECT_EQ(m.value("poolwatch_backend_director_up", {{"backend", "127.0.4.2"}}), 0);
  EXPECT_EQ(m.value("poolwatch_backend_director_up", {{"backend", "127.0.4.1"}}), 1);
  EXPECT_EQ(m.value("poolwatch_director_connected"), 1);
  EXPECT_EQ(m.value("poolwatch_pool_guard_engaged"), 0);
  const auto probes_of_dying = m.value("poolwatch_probe_duration_seconds_count",
                                       {{"backend", "127.0.4.2"}, {"protocol", "imap"}});
  const auto refused_of_dying =
      m.value("poolwatch_probe_results_total",
              {{"backend", "127.0.4.2"}, {"protocol", "imap"}, {"outcome", "connect_refused"}});
  const auto ok_of_dying =
      m.value("poolwatch_probe_results_total",
              {{"backend", "127.0.4.2"}, {"protocol", "imap"}, {"outcome", "ok"}});
  // Every finished probe is both counted and timed.
  EXPECT_EQ(probes_of_dying, refused_of_dying.value_or(0) + ok_of_dying.value_or(0));
}

TEST_F(DaemonMetrics, IdleHttpClientsDoNotStallTheProbes) {
  HttpLimits limits;
  limits.max_connections = kIdleClients + 16;  // every idle client and the real ones fit
  start(config(), limits);
  ASSERT_TRUE(probes_continue(1));

  asio::io_context client_io;
  auto idle = open_idle_clients(client_io);
  ASSERT_TRUE(eventually([&] { return http_active() >= kIdleClients; }, kGuard)) << http_active();

  // While every idle client is held open, the loop still probes and still answers.
  EXPECT_TRUE(probes_continue(5)) << healthy_->connections();
  EXPECT_EQ(get_concurrently(http_endpoint_, "/healthz", 4), std::vector<unsigned>(4, 200u));
  EXPECT_EQ(get_concurrently(http_endpoint_, "/metrics", 1), std::vector<unsigned>{200u});
  EXPECT_TRUE(probes_continue(5)) << healthy_->connections();
  EXPECT_GE(http_active(), kIdleClients);  // the idle ones were not dropped meanwhile

  for (auto& s : idle) s.close();
  EXPECT_TRUE(eventually([&] { return http_active() == 0; }, kGuard)) << http_active();
  EXPECT_TRUE(director_.commands().size() > 0);
  for (const auto& line : director_.commands()) EXPECT_EQ(line, "HOST-LIST");
}

TEST_F(DaemonMetrics, OverTheConnectionCapIdleClientsAreRefusedAndProbesGoOn) {
  const HttpLimits limits;  // what the daemon runs with
  ASSERT_LT(limits.max_connections, kIdleClients);
  start(config(), limits);
  ASSERT_TRUE(probes_continue(1));

  asio::io_context client_io;
  auto idle = open_idle_clients(client_io);
  ASSERT_TRUE(eventually([&] { return http_active() >= limits.max_connections; }, kGuard))
      << http_active();

  EXPECT_TRUE(probes_continue(5)) << healthy_->connections();
  // Every slot is held by an idle client: a real request gets a prompt 503, not a hang.
  EXPECT_EQ(get_concurrently(http_endpoint_, "/healthz", 4), std::vector<unsigned>(4, 503u));
  EXPECT_EQ(http_active(), limits.max_connections);
  EXPECT_TRUE(probes_continue(5)) << healthy_->connections();

  for (auto& s : idle) s.close();
  EXPECT_TRUE(eventually([&] { return http_active() == 0; }, kGuard)) << http_active();
  EXPECT_EQ(get_concurrently(http_endpoint_, "/healthz", 1), std::vector<unsigned>{200u});
}

}  // namespace
