// DirectorClient against FakeDirector over a real UNIX socket. The client runs on the
// test's io_context; the fake serves on its own thread.

#include "poolwatch/director/director_client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cstring>
#include <future>
#include <stdexcept>

#include "support/fake_director.hpp"
#include "support/fake_director_table.hpp"
#include "support/run_awaitable.hpp"

namespace {

using poolwatch::testing::run_awaitable;

namespace asio = boost::asio;
using poolwatch::DirectorClient;
using poolwatch::DirectorConfig;
using poolwatch::DirectorReply;
using poolwatch::DirectorReplyStatus;
using poolwatch::HostEntry;
using poolwatch::HostListResult;
using poolwatch::IpAddress;
using poolwatch::make_ip_address;
using poolwatch::Seconds;
using poolwatch::testing::FakeDirector;
using Direction = FakeDirector::Event::Direction;
using std::chrono::milliseconds;

HostEntry host(const char* ip, std::uint32_t vhosts, std::uint32_t users, std::string tag = {},
               bool down = false, std::int64_t changed = 0) {
  return HostEntry{make_ip_address(ip), vhosts, users, std::move(tag), down, changed};
}

std::vector<HostEntry> sample_pool() {
  return {host("127.0.1.1", 100, 0), host("127.0.2.13", 100, 1, "tagA", true, 1795392863),
          host("127.0.1.2", 7, 3, "odd\ttag"), host("::1", 0, 2)};
}

// Runs the io_context until `op` completes; a generous guard turns a hang into a failure.
asio::awaitable<void> wait_for(milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

// Retries host_list until it succeeds, counting the attempts that were refused during
// backoff. The loop is bounded by a guard deadline, not by a fixed sleep.
asio::awaitable<int> host_list_until_ok(DirectorClient& client, int& refused_in_backoff) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int attempts = 1;; ++attempts) {
    auto result = co_await client.host_list();
    if (result.pool) co_return attempts;
    if (result.error.find("director unreachable, next attempt in") != std::string::npos)
      ++refused_in_backoff;
    if (std::chrono::steady_clock::now() > give_up) co_return -1;
    co_await wait_for(milliseconds(10));
  }
}

class DirectorClientTest : public ::testing::Test {
 protected:
  DirectorConfig config() const { return fake.client_config(); }

  asio::io_context io;
  FakeDirector fake{sample_pool()};
  DirectorClient client{io.get_executor(), fake.client_config()};
};

TEST_F(DirectorClientTest, HandshakeThenHostList) {
  EXPECT_FALSE(client.connected());
  const HostListResult result = run_awaitable(io, client.host_list());
  ASSERT_TRUE(result.pool) << result.error;
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.reconnects(), 0u);
  const auto transcript = fake.transcript();
  ASSERT_GE(transcript.size(), 3u);
  // The server speaks first; our VERSION line is the first thing we send.
  EXPECT_EQ(transcript[0],
            (FakeDirector::Event{Direction::sent, 1, "VERSION\tdirector-doveadm\t1\t0"}));
  EXPECT_EQ(transcript[1],
            (FakeDirector::Event{Direction::received, 1, "VERSION\tdirector-doveadm\t1\t0"}));
  EXPECT_EQ(transcript[2], (FakeDirector::Event{Direction::received, 1, "HOST-LIST"}));
}

TEST_F(DirectorClientTest, FullHostListSortedAndUnescaped) {
  const HostListResult result = run_awaitable(io, client.host_list());
  ASSERT_TRUE(result.pool) << result.error;
  const auto& hosts = result.pool->hosts;
  ASSERT_EQ(hosts.size(), 4u);
  EXPECT_EQ(hosts[0], host("127.0.1.1", 100, 0));
  EXPECT_EQ(hosts[1], host("127.0.1.2", 7, 3, "odd\ttag"));
  EXPECT_EQ(hosts[2], host("127.0.2.13", 100, 1, "tagA", true, 1795392863));
  EXPECT_EQ(hosts[3], host("::1", 0, 2));
}

TEST_F(DirectorClientTest, OlderHostListFormats) {
  fake.set_host_list_fields(4);
  auto four = run_awaitable(io, client.host_list());
  ASSERT_TRUE(four.pool) << four.error;
  EXPECT_EQ(four.pool->hosts[1].tag, "odd\ttag");
  EXPECT_FALSE(four.pool->hosts[1].down.has_value());
  fake.set_host_list_fields(3);
  auto three = run_awaitable(io, client.host_list());
  ASSERT_TRUE(three.pool) << three.error;
  EXPECT_EQ(three.pool->hosts[2].user_count, 1u);
  EXPECT_EQ(three.pool->hosts[2].tag, "");
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST_F(DirectorClientTest, EmptyPool) {
  fake.set_hosts({});
  auto result = run_awaitable(io, client.host_list());
  ASSERT_TRUE(result.pool) << result.error;
  EXPECT_TRUE(result.pool->hosts.empty());
}

TEST_F(DirectorClientTest, EachCommandAndItsEffect) {
  const auto a = make_ip_address("127.0.1.1");
  const auto tagged = make_ip_address("127.0.2.13");
  DirectorReply down = run_awaitable(io, client.host_down(a));
  EXPECT_EQ(down.status, DirectorReplyStatus::ok);
  EXPECT_EQ(down.text, "OK");
  EXPECT_EQ(fake.host(a)->down, true);
  EXPECT_GT(fake.host(a)->last_updown_change.value_or(0), 0);

  EXPECT_TRUE(run_awaitable(io, client.host_flush(tagged)).ok());
  EXPECT_EQ(fake.host(tagged)->user_count, 0u);
  EXPECT_TRUE(run_awaitable(io, client.host_up(tagged)).ok());
  EXPECT_EQ(fake.host(tagged)->down, false);
  EXPECT_TRUE(run_awaitable(io, client.host_reset_users(make_ip_address("::1"))).ok());
  EXPECT_EQ(fake.host(make_ip_address("::1"))->user_count, 0u);

  EXPECT_EQ(fake.commands(),
            (std::vector<std::string>{"HOST-DOWN\t127.0.1.1", "HOST-FLUSH\t127.0.2.13",
                                      "HOST-UP\t127.0.2.13", "HOST-RESET-USERS\t::1"}));
  EXPECT_EQ(fake.connections_accepted(), 1u);
  EXPECT_EQ(client.last_error(), "");
}

TEST_F(DirectorClientTest, UnknownHostIsNotFoundAndConnectionStays) {
  auto reply = run_awaitable(io, client.host_down(make_ip_address("127.9.9.9")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::not_found);
  EXPECT_EQ(reply.text, "NOTFOUND");
  EXPECT_TRUE(client.connected());
  EXPECT_NE(client.last_error().find("NOTFOUND"), std::string::npos);
}

TEST_F(DirectorClientTest, ErrorAndTryAgainRepliesKeepTheConnection) {
  fake.reply_next_with("host is already being updated - try again later");
  fake.reply_next_with("TRYAGAIN");
  auto busy = run_awaitable(io, client.host_up(make_ip_address("127.0.1.1")));
  EXPECT_EQ(busy.status, DirectorReplyStatus::error);
  EXPECT_EQ(busy.text, "host is already being updated - try again later");
  auto again = run_awaitable(io, client.host_up(make_ip_address("127.0.1.1")));
  EXPECT_EQ(again.status, DirectorReplyStatus::try_again);
  EXPECT_TRUE(run_awaitable(io, client.host_up(make_ip_address("127.0.1.1"))).ok());
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST_F(DirectorClientTest, RingSyncTimeoutForcesANewConnection) {
  fake.reply_next_with("Ring sync timed out");
  auto reply = run_awaitable(io, client.host_down(make_ip_address("127.0.1.1")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::ring_sync_timeout);
  EXPECT_FALSE(client.connected());

  EXPECT_TRUE(run_awaitable(io, client.host_flush(make_ip_address("127.0.1.1"))).ok());
  EXPECT_EQ(fake.reuses_after_ring_sync_timeout(), 0u);
  EXPECT_EQ(fake.connections_accepted(), 2u);
  const auto transcript = fake.transcript();
  ASSERT_FALSE(transcript.empty());
  EXPECT_EQ(transcript.back(), (FakeDirector::Event{Direction::sent, 2, "OK"}));
  EXPECT_EQ(client.reconnects(), 1u);
}

TEST_F(DirectorClientTest, ConcurrentCallersAreNeverPipelined) {
  // A held-back reply is when a pipelining client would send its next line.
  fake.set_reply_delay(milliseconds(100));
  auto first = asio::co_spawn(io, client.host_down(make_ip_address("127.0.1.1")), asio::use_future);
  auto second = asio::co_spawn(io, client.host_up(make_ip_address("127.0.1.2")), asio::use_future);
  auto third = asio::co_spawn(io, client.host_list(), asio::use_future);
  io.run_for(std::chrono::seconds(30));
  ASSERT_EQ(third.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  EXPECT_TRUE(third.get().pool.has_value());
  EXPECT_EQ(fake.pipelined_lines(), 0u);

  std::vector<std::string> order;
  for (const auto& event : fake.transcript()) {
    EXPECT_EQ(event.connection, 1u);
    if (event.line.starts_with("VERSION")) continue;
    order.push_back((event.direction == Direction::received ? "> " : "< ") +
                    event.line.substr(0, event.line.find('\t')));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"> HOST-DOWN", "< OK", "> HOST-UP", "< OK",
                                             "> HOST-LIST", "< 127.0.1.1", "< 127.0.1.2",
                                             "< 127.0.2.13", "< ::1", "< "}));
}

// Guards the test above: a client that does pipeline is caught, and loses its line.
TEST(FakeDirectorSelfTest, DetectsAndDropsPipelinedLines) {
  FakeDirector fake{sample_pool()};
  fake.set_reply_delay(milliseconds(50));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, fake.socket_path().c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string burst =
      "VERSION\tdirector-doveadm\t1\t0\nHOST-DOWN\t127.0.1.1\nHOST-FLUSH\t127.0.1.2\n";
  ASSERT_EQ(::write(fd, burst.data(), burst.size()), static_cast<ssize_t>(burst.size()));
  std::string received;
  char chunk[256];
  while (received.find("\nOK\n") == std::string::npos) {
    const auto n = ::read(fd, chunk, sizeof(chunk));
    ASSERT_GT(n, 0);
    received.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(fake.pipelined_lines(), 1u);
  EXPECT_EQ(fake.host(make_ip_address("127.0.1.2"))->user_count, 3u);  // the flush was lost
}

TEST_F(DirectorClientTest, NeverAnsweredCommandTimesOut) {
  DirectorConfig short_timeout = config();
  short_timeout.command_timeout = Seconds{0.3};
  DirectorClient impatient{io.get_executor(), short_timeout};
  fake.ignore_next_command();
  auto reply = run_awaitable(io, impatient.host_down(make_ip_address("127.0.1.1")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::no_reply);
  EXPECT_EQ(reply.text, "no reply to HOST-DOWN within 0.3 s");
  EXPECT_FALSE(impatient.connected());
  EXPECT_EQ(impatient.last_error(), reply.text);
  EXPECT_TRUE(run_awaitable(io, impatient.host_down(make_ip_address("127.0.1.1"))).ok());
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

// A command without arguments ends in LF, not TAB: the LF must stay out of the message,
// which goes into a log line.
TEST_F(DirectorClientTest, NeverAnsweredHostListNamesTheCommandWithoutItsLf) {
  DirectorConfig short_timeout = config();
  short_timeout.command_timeout = Seconds{0.3};
  DirectorClient impatient{io.get_executor(), short_timeout};
  fake.ignore_next_command();
  auto result = run_awaitable(io, impatient.host_list());
  EXPECT_FALSE(result.pool);
  EXPECT_EQ(result.error, "HOST-LIST: no reply to HOST-LIST within 0.3 s");
  EXPECT_EQ(impatient.last_error(), "no reply to HOST-LIST within 0.3 s");
}

TEST_F(DirectorClientTest, OverlongReplyLineIsRefused) {
  fake.endless_line_on_next_command();
  auto result = run_awaitable(io, client.host_list());
  EXPECT_FALSE(result.pool);
  EXPECT_EQ(result.error, "HOST-LIST: director sent a line longer than 65536 bytes");
  EXPECT_FALSE(client.connected());
  EXPECT_TRUE(run_awaitable(io, client.host_list()).pool.has_value());
}

TEST_F(DirectorClientTest, MalformedHostListClosesTheConnection) {
  fake.reply_next_with("127.0.1.1\tlots\t0\t\tU\t0");
  auto result = run_awaitable(io, client.host_list());
  EXPECT_FALSE(result.pool);
  EXPECT_NE(result.error.find("bad vhost count 'lots'"), std::string::npos) << result.error;
  EXPECT_FALSE(client.connected());
}

TEST_F(DirectorClientTest, ConnectionClosedMidCommand) {
  fake.close_on_next_command();
  auto reply = run_awaitable(io, client.host_up(make_ip_address("127.0.1.1")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::no_reply);
  EXPECT_EQ(reply.text, "director closed the connection");
  // The director is still there, so the next command reconnects at once.
  EXPECT_TRUE(run_awaitable(io, client.host_up(make_ip_address("127.0.1.1"))).ok());
  EXPECT_EQ(client.reconnects(), 1u);
}

TEST_F(DirectorClientTest, BadVersionLineMeansNothingIsSent) {
  fake.set_greeting("VERSION\tdirector-doveadm\t2\t0");
  auto reply = run_awaitable(io, client.host_down(make_ip_address("127.0.1.1")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::no_reply);
  EXPECT_NE(reply.text.find("major version"), std::string::npos) << reply.text;
  EXPECT_TRUE(fake.received_lines().empty());
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(fake.host(make_ip_address("127.0.1.1"))->down, false);
}

TEST_F(DirectorClientTest, MissingGreetingTimesOut) {
  DirectorConfig quick = config();
  quick.connect_timeout = Seconds{0.2};
  DirectorClient client_with_short_connect{io.get_executor(), quick};
  fake.set_greeting(std::nullopt);
  auto reply = run_awaitable(io, client_with_short_connect.host_list());
  EXPECT_FALSE(reply.pool);
  EXPECT_EQ(reply.error, "HOST-LIST: no director handshake within 0.2 s");
  EXPECT_TRUE(fake.received_lines().empty());
}

TEST_F(DirectorClientTest, BackoffRefusesAtOnceWithoutConnecting) {
  fake.set_greeting("VERSION\tsomething-else\t1\t0");
  auto first = run_awaitable(io, client.host_list());
  EXPECT_FALSE(first.pool);
  EXPECT_EQ(fake.connections_accepted(), 1u);
  EXPECT_EQ(client.current_backoff(), milliseconds(50));
  auto second = run_awaitable(io, client.host_list());
  EXPECT_NE(second.error.find("director unreachable, next attempt in 0."), std::string::npos)
      << second.error;
  EXPECT_NE(second.error.find("something-else"), std::string::npos) << second.error;
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

asio::awaitable<std::vector<milliseconds>> backoffs_while_down(DirectorClient& client,
                                                               int attempts) {
  std::vector<milliseconds> seen;
  while (static_cast<int>(seen.size()) < attempts) {
    auto reply = co_await client.host_up(make_ip_address("127.0.1.1"));
    if (reply.text.find("director unreachable") == std::string::npos)
      seen.push_back(client.current_backoff());
    co_await wait_for(milliseconds(10));
  }
  co_return seen;
}

TEST_F(DirectorClientTest, SocketGoneAndBackWithCappedBackoff) {
  ASSERT_TRUE(run_awaitable(io, client.host_list()).pool);
  fake.stop_listening();

  // The idle connection is seen to be closed before anything is written into it; the
  // new connection the command then needs is the first attempt that fails.
  auto lost = run_awaitable(io, client.host_list());
  EXPECT_FALSE(lost.pool);
  EXPECT_NE(lost.error.find("No such file"), std::string::npos) << lost.error;
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.current_backoff(), milliseconds(50));

  // Further real connection attempts back off 100, 200, 200 ms (cap 200).
  auto backoffs = run_awaitable(io, backoffs_while_down(client, 3));
  EXPECT_EQ(backoffs,
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(200)}));
  EXPECT_NE(client.last_error().find("No such file"), std::string::npos) << client.last_error();

  fake.start_listening();
  int refused = 0;
  EXPECT_GT(run_awaitable(io, host_list_until_ok(client, refused)), 0);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.reconnects(), 1u);
  EXPECT_EQ(client.current_backoff(), milliseconds(0));
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

// The fail_count idiom: the n-th command of a session loses its connection; every
// other command still succeeds and the one after the failure reconnects.
TEST(DirectorClientFailCount, EachCommandOfASessionCanFail) {
  constexpr int kSteps = 5;
  for (int fail_at = 0; fail_at < kSteps; ++fail_at) {
    SCOPED_TRACE(fail_at);
    asio::io_context io;
    FakeDirector fake{sample_pool()};
    DirectorClient client{io.get_executor(), fake.client_config()};
    const auto a = make_ip_address("127.0.1.1");
    for (int step = 0; step < kSteps; ++step) {
      if (step == fail_at) fake.close_on_next_command();
      DirectorReply reply;
      switch (step) {
        case 0:
          reply = run_awaitable(io, client.host_down(a));
          break;
        case 1:
          reply = run_awaitable(io, client.host_flush(a));
          break;
        case 2: {
          auto list = run_awaitable(io, client.host_list());
          reply.status = list.pool ? DirectorReplyStatus::ok : DirectorReplyStatus::no_reply;
          break;
        }
        case 3: {
          auto ring = run_awaitable(io, client.director_list());
          reply.status = ring.list ? DirectorReplyStatus::ok : DirectorReplyStatus::no_reply;
          break;
        }
        default:
          reply = run_awaitable(io, client.host_up(a));
          break;
      }
      EXPECT_EQ(reply.status,
                step == fail_at ? DirectorReplyStatus::no_reply : DirectorReplyStatus::ok)
          << "step " << step;
    }
    EXPECT_EQ(fake.connections_accepted(), fail_at == kSteps - 1 ? 1u : 2u);
    EXPECT_EQ(fake.commands().size(), static_cast<std::size_t>(kSteps));
  }
}

TEST_F(DirectorClientTest, ShutdownWaitsForTheReplyInFlight) {
  fake.set_reply_delay(milliseconds(150));
  auto in_flight =
      asio::co_spawn(io, client.host_down(make_ip_address("127.0.1.1")), asio::use_future);
  auto queued = asio::co_spawn(io, client.host_up(make_ip_address("127.0.1.2")), asio::use_future);
  run_awaitable(io, client.shutdown(milliseconds(10000)));
  ASSERT_EQ(in_flight.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_TRUE(in_flight.get().ok());
  ASSERT_EQ(queued.wait_for(milliseconds(0)), std::future_status::ready);
  auto refused = queued.get();
  EXPECT_EQ(refused.status, DirectorReplyStatus::no_reply);
  EXPECT_EQ(refused.text, "director client is shutting down");
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(fake.commands(), std::vector<std::string>{"HOST-DOWN\t127.0.1.1"});
  EXPECT_EQ(run_awaitable(io, client.host_list()).error,
            "HOST-LIST: director client is shutting down");
}

TEST_F(DirectorClientTest, ShutdownGivesUpAfterGrace) {
  fake.ignore_next_command();
  auto in_flight =
      asio::co_spawn(io, client.host_down(make_ip_address("127.0.1.1")), asio::use_future);
  run_awaitable(io, client.shutdown(milliseconds(100)));
  EXPECT_FALSE(client.connected());
  io.restart();
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(in_flight.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(in_flight.get().status, DirectorReplyStatus::no_reply);
}

// What the daemon does to bound a call: `co_await (client.op() || timer)`.
asio::awaitable<bool> host_list_within(DirectorClient& client, milliseconds limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto result = co_await (client.host_list() || timer.async_wait(asio::use_awaitable));
  co_return result.index() == 0;
}

TEST_F(DirectorClientTest, CallerCancellationMidReplyClosesTheConnection) {
  fake.ignore_next_command();
  EXPECT_FALSE(run_awaitable(io, host_list_within(client, milliseconds(100))));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.last_error(), "cancelled");
  EXPECT_TRUE(run_awaitable(io, host_list_within(client, milliseconds(10000))));
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

TEST_F(DirectorClientTest, CallerCancellationWhileQueuedLeavesTheQueueWorking) {
  fake.set_reply_delay(milliseconds(300));
  auto first = asio::co_spawn(io, client.host_down(make_ip_address("127.0.1.1")), asio::use_future);
  auto impatient = asio::co_spawn(io, host_list_within(client, milliseconds(50)), asio::use_future);
  auto patient = asio::co_spawn(io, client.host_up(make_ip_address("127.0.1.1")), asio::use_future);
  io.run_for(std::chrono::seconds(30));
  ASSERT_EQ(patient.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
  EXPECT_FALSE(impatient.get());
  EXPECT_TRUE(patient.get().ok());
  // The cancelled HOST-LIST never reached the director, and nothing was pipelined.
  EXPECT_EQ(fake.commands(),
            (std::vector<std::string>{"HOST-DOWN\t127.0.1.1", "HOST-UP\t127.0.1.1"}));
  EXPECT_EQ(fake.pipelined_lines(), 0u);
  EXPECT_TRUE(client.connected());
}

TEST_F(DirectorClientTest, UnspecifiedAddressIsNeverSent) {
  auto reply = run_awaitable(io, client.host_flush(make_ip_address("0.0.0.0")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::error);
  auto v6 = run_awaitable(io, client.host_flush(make_ip_address("::")));
  EXPECT_EQ(v6.status, DirectorReplyStatus::error);
  EXPECT_EQ(fake.connections_accepted(), 0u);
}

}  // namespace

namespace {

using poolwatch::testing::execute_director_command;

TEST(FakeDirectorTable, ClosesOnWhatTheDirectorRejects) {
  auto hosts = sample_pool();
  for (const char* line : {"", "host-list", "HOST-DOWN", "HOST-DOWN\tmail1",
                           "HOST-RESET-USERS\t127.0.1.1\t0", "HOST-REMOVE\t127.0.1.1"}) {
    EXPECT_FALSE(execute_director_command(hosts, 6, line).has_value()) << line;
  }
  EXPECT_EQ(hosts, sample_pool());
}

TEST(FakeDirectorTable, AddresslessFlushEmptiesEveryHost) {
  auto hosts = sample_pool();
  EXPECT_EQ(execute_director_command(hosts, 6, "HOST-FLUSH"), std::vector<std::string>{"OK"});
  for (const auto& h : hosts) EXPECT_EQ(h.user_count, 0u);
}

TEST(FakeDirectorTable, UpDownStampsOnlyRealChanges) {
  auto hosts = sample_pool();
  EXPECT_EQ(execute_director_command(hosts, 6, "HOST-UP\t127.0.1.1"),
            std::vector<std::string>{"OK"});
  EXPECT_EQ(hosts[0].last_updown_change, 0);
  EXPECT_EQ(execute_director_command(hosts, 6, "HOST-DOWN\t127.0.1.1"),
            std::vector<std::string>{"OK"});
  EXPECT_GT(hosts[0].last_updown_change.value_or(0), 0);
  EXPECT_EQ(execute_director_command(hosts, 6, "HOST-DOWN\t10.9.9.9"),
            std::vector<std::string>{"NOTFOUND"});
}

}  // namespace
