// DirectorClient::director_list() against FakeDirector: both formats, every way the
// reply can go wrong, and the connection's discipline (shared with HOST-LIST and the
// host commands, one command at a time, never reused out of step).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <string>
#include <vector>

#include "poolwatch/director/director_client.hpp"
#include "support/fake_director.hpp"
#include "support/run_awaitable.hpp"

namespace {

namespace asio = boost::asio;
using poolwatch::DirectorClient;
using poolwatch::DirectorListResult;
using poolwatch::DirectorReplyStatus;
using poolwatch::HostEntry;
using poolwatch::make_ip_address;
using poolwatch::Seconds;
using poolwatch::director::DirectorListFormat;
using poolwatch::director::kMaxDirectorListLine;
using poolwatch::director::kMaxDirectorListLines;
using poolwatch::director::LinkStatus;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::run_awaitable;
using Fault = FakeDirector::Fault;
using Direction = FakeDirector::Event::Direction;
using Lines = std::vector<std::string>;

class DirectorListClientTest : public ::testing::Test {
 protected:
  DirectorListClientTest() {
    auto config = fake.client_config();
    config.command_timeout = Seconds{0.3};  // for the replies that never end
    client = std::make_unique<DirectorClient>(io.get_executor(), config);
  }

  DirectorListResult director_list() { return run_awaitable(io, client->director_list()); }
  bool host_list_ok() { return run_awaitable(io, client->host_list()).pool.has_value(); }

  // A failed DIRECTOR-LIST leaves no connection behind, and the next command gets a
  // fresh one that works.
  void expect_recovered() {
    EXPECT_FALSE(client->connected());
    const auto connections_before = fake.connections_accepted();
    EXPECT_TRUE(host_list_ok());
    EXPECT_EQ(fake.connections_accepted(), connections_before + 1);
    EXPECT_EQ(fake.reuses_after_ring_sync_timeout(), 0u);
  }

  // A ring of three as 2.3.19.1 prints it (director-admin-protocol.md §2.3, §9), with
  // an incoming connection not identified yet.
  const Lines kRingOfThree = {
      "handshaking - 3 USERs received\t0\t10\t0\t0\t0\t1795392854\t0",
      "127.0.0.1\t9090\tself\t0\tring synced\t12",
      "127.0.0.21\t9090\tleft\t0\tsynced\t0\t435\t109\t0\t18\t1795392854\t1795392854",
      "127.0.0.22\t9090\tright\t0\tsynced\t1\t500\t200\t0\t18\t1795392854\t1795392855"};
  // The same ring as 2.2.19-2.2.33 print it, one line per director.
  const Lines kOldRingOfThree = {"127.0.0.1\t9090\tself\t0\tsyncing - last sync 2 secs ago",
                                 "127.0.0.21\t9090\tleft\t0\tsynced",
                                 "127.0.0.22\t9090\tright\t0\tsyncing",
                                 "127.0.0.23\t9090\tremoved\t0\t"};
  const poolwatch::IpAddress kHost = make_ip_address("127.0.5.1");

  FakeDirector fake{{HostEntry{kHost, 100, 5, "", false, 0}}};
  asio::io_context io;
  std::unique_ptr<DirectorClient> client;
};

TEST_F(DirectorListClientTest, ALoneDirectorListsItself) {
  const auto result = director_list();
  ASSERT_TRUE(result.list) << result.error;
  EXPECT_EQ(result.error, "");
  ASSERT_EQ(result.list->directors.size(), 1u);
  ASSERT_NE(result.list->self(), nullptr);
  EXPECT_EQ(result.list->self()->address, make_ip_address("127.0.0.1"));
  EXPECT_EQ(result.list->self()->status, LinkStatus::synced);
  EXPECT_EQ(fake.transcript()[2], (FakeDirector::Event{Direction::received, 1, "DIRECTOR-LIST"}));
  EXPECT_TRUE(client->connected());
  EXPECT_EQ(client->last_error(), "");
}

TEST_F(DirectorListClientTest, TheNewFormatOneLinePerConnection) {
  fake.set_director_list(kRingOfThree);
  const auto result = director_list();
  ASSERT_TRUE(result.list) << result.error;
  const auto& list = *result.list;
  EXPECT_EQ(list.format, DirectorListFormat::per_connection);
  EXPECT_EQ(list.unidentified_connections, 1u);
  ASSERT_EQ(list.directors.size(), 3u);
  EXPECT_EQ(list.self()->port, 9090);
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.21"), 9090)->connected());
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.22"), 9090)->right);
}

TEST_F(DirectorListClientTest, TheOldFormatOneLinePerDirector) {
  fake.set_director_list(kOldRingOfThree);
  const auto result = director_list();
  ASSERT_TRUE(result.list) << result.error;
  const auto& list = *result.list;
  EXPECT_EQ(list.format, DirectorListFormat::per_director);
  ASSERT_EQ(list.directors.size(), 4u);
  EXPECT_EQ(list.self()->status, LinkStatus::syncing);
  EXPECT_EQ(list.self()->last_sync_secs_ago, 2);
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.21"), 9090)->connected());
  EXPECT_FALSE(list.find(make_ip_address("127.0.0.22"), 9090)->connected());
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.23"), 9090)->removed);
}

TEST_F(DirectorListClientTest, SharesOneConnectionWithTheOtherCommands) {
  fake.set_director_list(kRingOfThree);
  EXPECT_TRUE(host_list_ok());
  EXPECT_TRUE(director_list().list.has_value());
  EXPECT_TRUE(run_awaitable(io, client->host_down(kHost)).ok());
  EXPECT_TRUE(director_list().list.has_value());
  EXPECT_EQ(fake.commands(),
            (Lines{"HOST-LIST", "DIRECTOR-LIST", "HOST-DOWN\t127.0.5.1", "DIRECTOR-LIST"}));
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST_F(DirectorListClientTest, ConcurrentCallersAreNeverPipelined) {
  fake.set_reply_delay(std::chrono::milliseconds(100));
  auto first = asio::co_spawn(io, client->director_list(), asio::use_future);
  auto second = asio::co_spawn(io, client->host_down(kHost), asio::use_future);
  auto third = asio::co_spawn(io, client->director_list(), asio::use_future);
  io.run_for(std::chrono::seconds(30));
  ASSERT_EQ(third.wait_for(std::chrono::milliseconds(0)), std::future_status::ready);
  EXPECT_TRUE(first.get().list.has_value());
  EXPECT_TRUE(second.get().ok());
  EXPECT_TRUE(third.get().list.has_value());
  EXPECT_EQ(fake.pipelined_lines(), 0u);
  Lines order;
  for (const auto& event : fake.transcript())
    if (!event.line.starts_with("VERSION"))
      order.push_back(fmt::format("{} {}", event.direction == Direction::received ? '>' : '<',
                                  event.line.substr(0, event.line.find('\t'))));
  EXPECT_EQ(order, (Lines{"> DIRECTOR-LIST", "< 127.0.0.1", "< ", "> HOST-DOWN", "< OK",
                          "> DIRECTOR-LIST", "< 127.0.0.1", "< "}));
}

// A director that does not know the command closes the connection without a word
// (director-admin-protocol.md §2.5).
TEST_F(DirectorListClientTest, AnUnknownCommandClosesTheConnection) {
  fake.fail_next("DIRECTOR-LIST", Fault::close_connection());
  const auto result = director_list();
  EXPECT_FALSE(result.list);
  EXPECT_EQ(result.error, "DIRECTOR-LIST: director closed the connection");
  expect_recovered();
}

// A one-line answer (an error text, or a reply meant for another command) is not a list:
// the client stops at that line, and since it cannot know what else is coming, it drops
// the connection.
TEST_F(DirectorListClientTest, AnErrorLineInsteadOfAListIsAnError) {
  for (const char* reply :
       {"-", "Unknown command", "FAIL", "NOTFOUND", "TRYAGAIN", "OK", "Ring sync timed out"}) {
    SCOPED_TRACE(reply);
    fake.fail_next("DIRECTOR-LIST", Fault::reply_with(reply));
    const auto result = director_list();
    EXPECT_FALSE(result.list);
    EXPECT_EQ(result.error,
              fmt::format("DIRECTOR-LIST: DIRECTOR-LIST line has 1 fields (expected 5, 6, 8 or "
                          "12): {}",
                          reply));
    expect_recovered();
  }
}

TEST_F(DirectorListClientTest, GarbageInTheMiddleIsAnError) {
  fake.fail_next("DIRECTOR-LIST",
                 Fault::reply_lines({kRingOfThree[1], "127.0.0.21\t9090\tboss\t0\t", ""}));
  const auto result = director_list();
  EXPECT_FALSE(result.list);
  EXPECT_EQ(result.error, "DIRECTOR-LIST: DIRECTOR-LIST line has an unknown type 'boss'");
  EXPECT_EQ(client->last_error(), "DIRECTOR-LIST line has an unknown type 'boss'");
  expect_recovered();
}

TEST_F(DirectorListClientTest, AReplyThatNeverComesTimesOut) {
  fake.fail_next("DIRECTOR-LIST", Fault::ignore());
  const auto result = director_list();
  EXPECT_FALSE(result.list);
  EXPECT_EQ(result.error, "DIRECTOR-LIST: no reply to DIRECTOR-LIST within 0.3 s");
  expect_recovered();
}

TEST_F(DirectorListClientTest, AReplyThatStopsHalfWayTimesOut) {
  fake.set_director_list(kRingOfThree);
  fake.fail_next("DIRECTOR-LIST", Fault::stall_after(kRingOfThree[0].size() + 20));
  const auto result = director_list();
  EXPECT_FALSE(result.list);
  EXPECT_EQ(result.error, "DIRECTOR-LIST: no reply to DIRECTOR-LIST within 0.3 s");
  expect_recovered();
}

// Refused as soon as the line passes the cap, not at HOST-LIST's much larger one.
TEST_F(DirectorListClientTest, AnEndlessLineIsRefusedAtTheListsLineCap) {
  fake.fail_next("DIRECTOR-LIST", Fault::endless_line());
  const auto result = director_list();
  EXPECT_FALSE(result.list);
  EXPECT_EQ(result.error, fmt::format("DIRECTOR-LIST: director sent a line longer than {} bytes",
                                      kMaxDirectorListLine));
  expect_recovered();
}

TEST_F(DirectorListClientTest, TheLineCapIsKMaxDirectorListLine) {
  fake.fail_next("DIRECTOR-LIST", Fault::reply_lines({std::string(kMaxDirectorListLine, 'x'), ""}));
  const auto at_cap = director_list();
  EXPECT_FALSE(at_cap.list);
  EXPECT_NE(at_cap.error.find("1 fields"), std::string::npos) << at_cap.error;  // read, parsed

  fake.fail_next("DIRECTOR-LIST",
                 Fault::reply_lines({std::string(kMaxDirectorListLine + 1, 'x'), ""}));
  const auto over = director_list();
  EXPECT_EQ(over.error, fmt::format("DIRECTOR-LIST: director sent a line longer than {} bytes",
                                    kMaxDirectorListLine));
  expect_recovered();
}

// The same cap applies to nothing else: HOST-LIST lines may still be long.
TEST_F(DirectorListClientTest, HostListKeepsItsOwnLineCap) {
  ASSERT_TRUE(director_list().list.has_value());
  // The longest tag HOST-LIST accepts makes a line over DIRECTOR-LIST's line cap.
  const std::string long_tag(poolwatch::director::kMaxTagBytes, 't');
  ASSERT_GE(long_tag.size(), kMaxDirectorListLine);
  fake.set_hosts({HostEntry{kHost, 100, 5, long_tag, false, 0}});
  const auto result = run_awaitable(io, client->host_list());
  ASSERT_TRUE(result.pool) << result.error;
  EXPECT_EQ(result.pool->hosts[0].tag, long_tag);
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST_F(DirectorListClientTest, TooManyLinesAreRefused) {
  // Unidentified connections: the one kind of line the ring's size limit does not stop.
  const std::string unidentified = kRingOfThree[0];
  Lines at_limit(kMaxDirectorListLines, unidentified);
  fake.set_director_list(at_limit);
  const auto full = director_list();
  ASSERT_TRUE(full.list) << full.error;
  EXPECT_EQ(full.list->unidentified_connections, kMaxDirectorListLines);

  at_limit.push_back(unidentified);
  fake.set_director_list(at_limit);
  const auto over = director_list();
  EXPECT_FALSE(over.list);
  EXPECT_EQ(over.error, fmt::format("DIRECTOR-LIST: DIRECTOR-LIST has more than {} lines",
                                    kMaxDirectorListLines));
  expect_recovered();
}

// The fail_count idiom over the reply's bytes: cut after n bytes, for every n until it
// is whole. Every cut is an error, never a list or a hang, and the next command works.
TEST_F(DirectorListClientTest, AReplyCutAtEveryByteIsAnError) {
  fake.set_director_list(kRingOfThree);
  std::string whole;
  for (const auto& line : kRingOfThree) whole += fmt::format("{}\n", line);
  whole += "\n";
  for (std::size_t cut = 0;; ++cut) {
    SCOPED_TRACE(cut);
    fake.fail_next("DIRECTOR-LIST", Fault::close_after(cut));
    const auto result = director_list();
    if (result.list) {
      EXPECT_EQ(cut, whole.size());
      EXPECT_EQ(result.list->directors.size(), 3u);
      break;
    }
    ASSERT_LT(cut, whole.size());
    EXPECT_EQ(result.error, "DIRECTOR-LIST: director closed the connection");
    EXPECT_FALSE(client->connected());
    EXPECT_TRUE(host_list_ok());
  }
  EXPECT_EQ(fake.connections_accepted(), whole.size() + 1);
}

TEST_F(DirectorListClientTest, NeverSentOnAConnectionThatHadRingSyncTimedOut) {
  fake.fail_next("HOST-DOWN", Fault::reply_with("Ring sync timed out"));
  EXPECT_EQ(run_awaitable(io, client->host_down(kHost)).status,
            DirectorReplyStatus::ring_sync_timeout);
  EXPECT_TRUE(director_list().list.has_value());
  EXPECT_EQ(fake.reuses_after_ring_sync_timeout(), 0u);
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

// What a caller does to bound the call: `co_await (client.director_list() || timer)`.
asio::awaitable<bool> director_list_within(DirectorClient& client,
                                           std::chrono::milliseconds limit) {
  using namespace boost::asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto result = co_await (client.director_list() || timer.async_wait(asio::use_awaitable));
  co_return result.index() == 0;
}

TEST_F(DirectorListClientTest, ACallerThatGivesUpMidReplyLosesTheConnection) {
  fake.set_director_list(kRingOfThree);
  fake.fail_next("DIRECTOR-LIST", Fault::stall_after(10));
  EXPECT_FALSE(run_awaitable(io, director_list_within(*client, std::chrono::milliseconds(50))));
  EXPECT_EQ(client->last_error(), "cancelled");
  expect_recovered();
}

TEST_F(DirectorListClientTest, NotSentAfterShutdown) {
  run_awaitable(io, client->shutdown(std::chrono::milliseconds(100)));
  EXPECT_EQ(director_list().error, "DIRECTOR-LIST: director client is shutting down");
  EXPECT_EQ(fake.connections_accepted(), 0u);
}

}  // namespace
