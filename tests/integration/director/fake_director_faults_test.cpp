// FakeDirector's command-targeted faults, driven by the real DirectorClient: a fault
// aimed at one verb waits for that verb and leaves every other command alone.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <stdexcept>

#include "poolwatch/director/director_client.hpp"
#include "support/fake_director.hpp"
#include "support/fake_director_table.hpp"
#include "support/run_awaitable.hpp"

namespace {

using poolwatch::testing::run_awaitable;

namespace asio = boost::asio;
using poolwatch::DirectorClient;
using poolwatch::DirectorReply;
using poolwatch::DirectorReplyStatus;
using poolwatch::HostEntry;
using poolwatch::IpAddress;
using poolwatch::make_ip_address;
using poolwatch::Seconds;
using poolwatch::testing::FakeDirector;
using Fault = FakeDirector::Fault;
using Direction = FakeDirector::Event::Direction;
using Lines = std::vector<std::string>;

const auto kFirst = make_ip_address("127.0.4.1");
const auto kSecond = make_ip_address("127.0.4.2");

class FakeDirectorFaults : public ::testing::Test {
 protected:
  FakeDirectorFaults() {
    auto config = fake.client_config();
    config.command_timeout = Seconds{0.3};  // for the command that is never answered
    client = std::make_unique<DirectorClient>(io.get_executor(), config);
  }

  bool host_list_ok() { return run_awaitable(io, client->host_list()).pool.has_value(); }
  DirectorReply down(const IpAddress& a) { return run_awaitable(io, client->host_down(a)); }
  DirectorReply up(const IpAddress& a) { return run_awaitable(io, client->host_up(a)); }
  DirectorReply flush(const IpAddress& a) { return run_awaitable(io, client->host_flush(a)); }
  DirectorReply reset_users(const IpAddress& a) {
    return run_awaitable(io, client->host_reset_users(a));
  }

  // Each sent reply line, prefixed by the command it answers; HOST-LIST's lines skipped.
  Lines replies() const {
    Lines out;
    std::string command;
    for (const auto& event : fake.transcript()) {
      if (event.direction == Direction::received)
        command = event.line;
      else if (!command.empty() && !command.starts_with("VERSION") && command != "HOST-LIST")
        out.push_back(command + " -> " + event.line);
    }
    return out;
  }

  FakeDirector fake{
      {HostEntry{kFirst, 100, 5, "", false, 0}, HostEntry{kSecond, 100, 7, "", false, 0}}};
  asio::io_context io;
  std::unique_ptr<DirectorClient> client;
};

TEST_F(FakeDirectorFaults, ATargetedFaultLetsOtherVerbsPass) {
  fake.fail_next("HOST-DOWN", Fault::reply_with("FAIL"));
  EXPECT_TRUE(host_list_ok());
  EXPECT_TRUE(up(kFirst).ok());
  EXPECT_TRUE(reset_users(kFirst).ok());
  EXPECT_TRUE(flush(kSecond).ok());
  EXPECT_TRUE(host_list_ok());
  EXPECT_EQ(fake.pending_faults(), 1u);

  const auto refused = down(kFirst);
  EXPECT_EQ(refused.status, DirectorReplyStatus::error);
  EXPECT_EQ(refused.text, "FAIL");
  EXPECT_FALSE(fake.host(kFirst)->down.value_or(true));  // refused, so not executed
  EXPECT_EQ(fake.pending_faults(), 0u);

  EXPECT_TRUE(down(kFirst).ok());
  EXPECT_TRUE(fake.host(kFirst)->down.value_or(false));
  EXPECT_EQ(fake.commands(), (Lines{"HOST-LIST", "HOST-UP\t127.0.4.1",
                                    "HOST-RESET-USERS\t127.0.4.1", "HOST-FLUSH\t127.0.4.2",
                                    "HOST-LIST", "HOST-DOWN\t127.0.4.1", "HOST-DOWN\t127.0.4.1"}));
  EXPECT_EQ(replies(), (Lines{"HOST-UP\t127.0.4.1 -> OK", "HOST-RESET-USERS\t127.0.4.1 -> OK",
                              "HOST-FLUSH\t127.0.4.2 -> OK", "HOST-DOWN\t127.0.4.1 -> FAIL",
                              "HOST-DOWN\t127.0.4.1 -> OK"}));
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

TEST_F(FakeDirectorFaults, TheVerbIsTheWholeFirstWord) {
  fake.fail_next("HOST", Fault::reply_with("FAIL"));
  fake.fail_next("HOST-RESET", Fault::reply_with("FAIL"));
  fake.fail_next("127.0.4.1", Fault::reply_with("FAIL"));
  EXPECT_TRUE(down(kFirst).ok());
  EXPECT_TRUE(reset_users(kFirst).ok());
  EXPECT_TRUE(host_list_ok());
  EXPECT_EQ(fake.pending_faults(), 3u);
}

TEST_F(FakeDirectorFaults, EachCommandTakesTheOldestFaultThatAppliesToIt) {
  fake.fail_next("HOST-UP", Fault::reply_with("first for HOST-UP"));
  fake.reply_next_with("TRYAGAIN");  // untargeted: the next command of any verb
  fake.fail_next("HOST-DOWN", Fault::reply_with("for HOST-DOWN"));
  fake.fail_next("HOST-UP", Fault::reply_with("second for HOST-UP"));

  EXPECT_EQ(down(kFirst).text, "TRYAGAIN");  // older than the HOST-DOWN fault
  EXPECT_EQ(up(kFirst).text, "first for HOST-UP");
  EXPECT_EQ(up(kFirst).text, "second for HOST-UP");
  EXPECT_TRUE(host_list_ok());
  EXPECT_EQ(down(kFirst).text, "for HOST-DOWN");
  EXPECT_TRUE(down(kFirst).ok());
  EXPECT_EQ(fake.pending_faults(), 0u);
}

TEST_F(FakeDirectorFaults, EveryFaultKindCanBeTargeted) {
  fake.fail_next("HOST-UP", Fault::close_connection());
  fake.fail_next("HOST-UP", Fault::ignore());
  fake.fail_next("HOST-UP", Fault::endless_line());

  for (int fault = 0; fault < 3; ++fault) {
    EXPECT_TRUE(host_list_ok()) << "before fault " << fault;
    const auto reply = up(kSecond);
    EXPECT_EQ(reply.status, DirectorReplyStatus::no_reply) << reply.text;
    EXPECT_FALSE(client->connected());
  }
  EXPECT_TRUE(up(kSecond).ok());
  EXPECT_EQ(fake.connections_accepted(), 4u);
  EXPECT_EQ(fake.commands(),
            (Lines{"HOST-LIST", "HOST-UP\t127.0.4.2", "HOST-LIST", "HOST-UP\t127.0.4.2",
                   "HOST-LIST", "HOST-UP\t127.0.4.2", "HOST-UP\t127.0.4.2"}));
}

TEST_F(FakeDirectorFaults, ReplyLinesReplacesAWholeListReply) {
  fake.fail_next("HOST-LIST", Fault::reply_lines({"127.0.9.9\t3\t1\t\tD\t7", ""}));
  const auto replaced = run_awaitable(io, client->host_list());
  ASSERT_TRUE(replaced.pool) << replaced.error;
  ASSERT_EQ(replaced.pool->hosts.size(), 1u);
  EXPECT_EQ(replaced.pool->hosts[0].address, make_ip_address("127.0.9.9"));
  EXPECT_EQ(run_awaitable(io, client->host_list()).pool->hosts.size(), 2u);
  EXPECT_EQ(fake.connections_accepted(), 1u);
}

// The fail_count idiom over the bytes of one reply: cut after n bytes, for every n until
// the reply is whole. Every cut reply is lost and the next command reconnects.
TEST_F(FakeDirectorFaults, CloseAfterCutsTheReplyAtEveryByte) {
  std::string whole;
  for (const auto& line : poolwatch::testing::host_list_reply(fake.hosts(), 6))
    whole += fmt::format("{}\n", line);
  for (std::size_t cut = 0;; ++cut) {
    SCOPED_TRACE(cut);
    fake.fail_next("HOST-LIST", Fault::close_after(cut));
    const auto result = run_awaitable(io, client->host_list());
    if (result.pool) {
      EXPECT_EQ(cut, whole.size());
      break;
    }
    ASSERT_LT(cut, whole.size());
    EXPECT_EQ(result.error, "HOST-LIST: director closed the connection");
    EXPECT_FALSE(client->connected());
  }
  EXPECT_EQ(fake.transcript().back().line, fmt::format("<{0} of {0} bytes>", whole.size()));
  EXPECT_EQ(fake.connections_accepted(), whole.size() + 1);
}

TEST_F(FakeDirectorFaults, StallAfterSaysNothingMore) {
  fake.fail_next("HOST-DOWN", Fault::stall_after(1));
  const auto stalled = down(kFirst);
  EXPECT_EQ(stalled.status, DirectorReplyStatus::no_reply);
  EXPECT_EQ(stalled.text, "no reply to HOST-DOWN within 0.3 s");
  EXPECT_TRUE(fake.host(kFirst)->down.value_or(false));  // executed, only the reply stalled
  EXPECT_EQ(fake.transcript().back().line, "<1 of 3 bytes>");
  EXPECT_TRUE(up(kFirst).ok());
  EXPECT_EQ(fake.connections_accepted(), 2u);
}

TEST_F(FakeDirectorFaults, ClearFaultsDropsTargetedOnesToo) {
  fake.fail_next("HOST-DOWN", Fault::reply_with("FAIL"));
  fake.close_on_next_command();
  EXPECT_EQ(fake.pending_faults(), 2u);
  fake.clear_faults();
  EXPECT_EQ(fake.pending_faults(), 0u);
  EXPECT_TRUE(down(kFirst).ok());
}

TEST(FakeDirectorFaultsArguments, AVerbIsOneNonEmptyWord) {
  FakeDirector fake;
  EXPECT_THROW(fake.fail_next("", Fault::ignore()), std::invalid_argument);
  EXPECT_THROW(fake.fail_next("HOST-DOWN\t127.0.0.1", Fault::ignore()), std::invalid_argument);
  EXPECT_THROW(fake.fail_next("HOST DOWN", Fault::ignore()), std::invalid_argument);
  EXPECT_EQ(fake.pending_faults(), 0u);
}

}  // namespace
