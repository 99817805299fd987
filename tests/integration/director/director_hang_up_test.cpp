// DirectorClient against a director that hangs up after every reply (issue 13: such a
// director never converged, each HOST-DOWN failing on the connection its HOST-LIST had
// left behind). The client runs on the test's io_context; the fake on its own thread.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "poolwatch/director/director_client.hpp"
#include "support/fake_director.hpp"
#include "support/run_awaitable.hpp"

namespace {

using poolwatch::DirectorClient;
using poolwatch::DirectorReplyStatus;
using poolwatch::HostEntry;
using poolwatch::make_ip_address;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::run_awaitable;

class HangingUpDirectorTest : public ::testing::Test {
 protected:
  HangingUpDirectorTest() { fake.set_close_after_every_reply(true); }

  // The fake has closed the connection it answered on: the client's next command meets
  // a connection that is already gone, never one that is closing under it.
  void expect_hung_up() {
    ASSERT_TRUE(fake.wait_for_open_connections(0, std::chrono::seconds(10)));
  }

  static std::vector<HostEntry> pool() {
    return {HostEntry{make_ip_address("127.0.1.1"), 100, 4, "", false, 0},
            HostEntry{make_ip_address("127.0.1.2"), 100, 2, "", false, 0}};
  }

  const poolwatch::IpAddress first = make_ip_address("127.0.1.1");
  boost::asio::io_context io;
  FakeDirector fake{pool()};
  DirectorClient client{io.get_executor(), fake.client_config()};
};

// A reply and the close right behind it: the reply is read whole before the end of the
// connection counts, for a one-line reply and for a list.
TEST_F(HangingUpDirectorTest, TheReplyBeforeTheCloseIsTheAnswer) {
  const auto down = run_awaitable(io, client.host_down(first));
  EXPECT_EQ(down.status, DirectorReplyStatus::ok) << down.text;
  expect_hung_up();
  const auto list = run_awaitable(io, client.host_list());
  ASSERT_TRUE(list.pool) << list.error;
  ASSERT_EQ(list.pool->hosts.size(), 2u);
  EXPECT_EQ(list.pool->hosts[0].down, true);
  expect_hung_up();
  const auto ring = run_awaitable(io, client.director_list());
  EXPECT_TRUE(ring.list) << ring.error;
}

// The scan's pattern: HOST-LIST, then HOST-DOWN on the connection HOST-LIST used. The
// director closed that connection after answering; the HOST-DOWN must go out on a new
// one, once, and take effect.
TEST_F(HangingUpDirectorTest, HostDownAfterHostListReachesTheDirector) {
  const auto list = run_awaitable(io, client.host_list());
  ASSERT_TRUE(list.pool) << list.error;
  expect_hung_up();
  const auto down = run_awaitable(io, client.host_down(first));
  EXPECT_EQ(down.status, DirectorReplyStatus::ok) << down.text;
  EXPECT_EQ(fake.host(first)->down, true);
  EXPECT_EQ(fake.commands(), (std::vector<std::string>{"HOST-LIST", "HOST-DOWN\t127.0.1.1"}));
  EXPECT_EQ(fake.connections_accepted(), 2u);
  EXPECT_EQ(fake.pipelined_lines(), 0u);
  EXPECT_EQ(client.last_error(), "");
}

// Every command of a session, each on the connection the previous one left closed.
TEST_F(HangingUpDirectorTest, EveryCommandOfASessionIsSentOnceAndAnswered) {
  const auto second = make_ip_address("127.0.1.2");
  EXPECT_TRUE(run_awaitable(io, client.host_list()).pool);
  expect_hung_up();
  EXPECT_TRUE(run_awaitable(io, client.host_down(first)).ok());
  expect_hung_up();
  EXPECT_TRUE(run_awaitable(io, client.host_flush(first)).ok());
  expect_hung_up();
  EXPECT_TRUE(run_awaitable(io, client.director_list()).list);
  expect_hung_up();
  EXPECT_TRUE(run_awaitable(io, client.host_reset_users(second)).ok());
  expect_hung_up();
  EXPECT_TRUE(run_awaitable(io, client.host_up(first)).ok());
  EXPECT_EQ(fake.commands(),
            (std::vector<std::string>{"HOST-LIST", "HOST-DOWN\t127.0.1.1", "HOST-FLUSH\t127.0.1.1",
                                      "DIRECTOR-LIST", "HOST-RESET-USERS\t127.0.1.2",
                                      "HOST-UP\t127.0.1.1"}));
  EXPECT_EQ(fake.connections_accepted(), 6u);
  EXPECT_EQ(fake.host(first)->down, false);
  EXPECT_EQ(fake.host(first)->user_count, 0u);
  EXPECT_EQ(fake.host(second)->user_count, 0u);
}

// The director goes away between the client's look at the idle connection and its write
// (made certain here by a director that stops reading): the write is refused before one
// byte gets through, so the command goes out once more, on a new connection.
TEST_F(HangingUpDirectorTest, ACommandRefusedWholeIsSentOnANewConnection) {
  fake.set_close_after_every_reply(false);
  fake.fail_next("HOST-LIST", FakeDirector::Fault::stop_reading());
  EXPECT_TRUE(run_awaitable(io, client.host_list()).pool);
  const auto down = run_awaitable(io, client.host_down(first));
  EXPECT_EQ(down.status, DirectorReplyStatus::ok) << down.text;
  EXPECT_EQ(fake.host(first)->down, true);
  EXPECT_EQ(fake.commands(), (std::vector<std::string>{"HOST-LIST", "HOST-DOWN\t127.0.1.1"}));
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

// A command that reached the director may have run: when the connection ends before
// its reply, it is never sent again (the next scan decides afresh).
TEST_F(HangingUpDirectorTest, ACommandTheDirectorReadIsNeverResent) {
  fake.set_close_after_every_reply(false);
  EXPECT_TRUE(run_awaitable(io, client.host_list()).pool);
  fake.close_on_next_command();
  const auto down = run_awaitable(io, client.host_down(first));
  EXPECT_EQ(down.status, DirectorReplyStatus::no_reply);
  EXPECT_EQ(fake.commands(), (std::vector<std::string>{"HOST-LIST", "HOST-DOWN\t127.0.1.1"}));
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

// The director that hangs up only sometimes: after it stops, the connection is kept.
TEST_F(HangingUpDirectorTest, ADirectorThatStopsHangingUpKeepsTheConnection) {
  EXPECT_TRUE(run_awaitable(io, client.host_list()).pool);
  expect_hung_up();
  fake.set_close_after_every_reply(false);
  EXPECT_TRUE(run_awaitable(io, client.host_down(first)).ok());
  EXPECT_TRUE(run_awaitable(io, client.host_up(first)).ok());
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

}  // namespace
