#include "poolwatch/director/director_list.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace poolwatch;
using namespace poolwatch::director;

// Lines as 2.3.19.1 prints them (director-admin-protocol.md §2.3 and §9).
class DirectorListTest : public ::testing::Test {
 protected:
  static DirectorList parsed(const std::string& reply) {
    auto result = parse_director_list(reply);
    EXPECT_TRUE(result.list) << result.error;
    return result.list ? std::move(*result.list) : DirectorList{};
  }
  static std::string error_of(const std::string& reply) {
    auto result = parse_director_list(reply);
    EXPECT_FALSE(result.list);
    return result.error;
  }
  static constexpr const char* kLeftSynced =
      "127.0.0.21\t9090\tleft\t0\tsynced\t0\t435\t109\t0\t18\t1795392854\t1795392854";
  static constexpr const char* kRightSynced =
      "127.0.0.22\t9090\tright\t0\tsynced\t1\t500\t200\t0\t18\t1795392854\t1795392855";
  static constexpr const char* kSelfSynced = "127.0.0.1\t9090\tself\t0\tring synced\t12";
};

TEST_F(DirectorListTest, NewFormatRingOfThree) {
  const auto list =
      parsed(std::string(kSelfSynced) + "\n" + kLeftSynced + "\n" + kRightSynced + "\n\n");
  EXPECT_EQ(list.format, DirectorListFormat::per_connection);
  ASSERT_EQ(list.directors.size(), 3u);
  const auto* self = list.self();
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->address, make_ip_address("127.0.0.1"));
  EXPECT_EQ(self->port, 9090);
  EXPECT_EQ(self->status, LinkStatus::synced);
  EXPECT_FALSE(self->connected());  // self is never its own peer
  const auto* left = list.find(make_ip_address("127.0.0.21"), 9090);
  ASSERT_NE(left, nullptr);
  EXPECT_TRUE(left->left);
  EXPECT_FALSE(left->right);
  EXPECT_TRUE(left->connected());
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.22"), 9090)->right);
}

TEST_F(DirectorListTest, DirectorsAreOrderedByAddressThenPort) {
  const auto list = parsed(std::string(kRightSynced) + "\n" + kLeftSynced + "\n" +
                           "127.0.0.21\t9089\t\t0\t\n" + kSelfSynced + "\n\n");
  ASSERT_EQ(list.directors.size(), 4u);
  EXPECT_EQ(list.directors[0].address, make_ip_address("127.0.0.1"));
  EXPECT_EQ(list.directors[1].port, 9089);
  EXPECT_EQ(list.directors[2].port, 9090);
  EXPECT_EQ(list.directors[3].address, make_ip_address("127.0.0.22"));
}

TEST_F(DirectorListTest, NewFormatAloneWithPeerDown) {
  const auto list = parsed(
      "127.0.2.1\t9190\tself\t0\tring synced\t0\n"
      "127.0.2.2\t9190\t\t1795393044\t\n\n");
  ASSERT_EQ(list.directors.size(), 2u);
  const auto* peer = list.find(make_ip_address("127.0.2.2"), 9190);
  ASSERT_NE(peer, nullptr);
  EXPECT_FALSE(peer->connected());
  EXPECT_EQ(peer->status, LinkStatus::none);
  EXPECT_EQ(peer->last_failed, 1795393044);
  // The self line alone proves the new format.
  EXPECT_EQ(list.format, DirectorListFormat::per_connection);
}

TEST_F(DirectorListTest, NewFormatRingOfTwoMergesLeftAndRightLines) {
  const auto list = parsed(std::string(kSelfSynced) + "\n" +
                           "127.0.0.21\t9090\tleft\t0\tsynced\t0\t1\t1\t0\t0\t5\t5\n"
                           "127.0.0.21\t9090\tright\t0\tsyncing\t0\t1\t1\t0\t0\t5\t5\n\n");
  ASSERT_EQ(list.directors.size(), 2u);
  const auto* peer = list.find(make_ip_address("127.0.0.21"), 9090);
  EXPECT_TRUE(peer->left && peer->right);
  EXPECT_EQ(peer->status, LinkStatus::synced);
  EXPECT_TRUE(peer->connected());
}

TEST_F(DirectorListTest, HandshakingAndUnidentifiedConnections) {
  const auto list =
      parsed(std::string(kSelfSynced) + "\n" +
             "handshaking - 3 USERs received\t0\t10\t0\t0\t0\t1795392854\t0\n"
             "127.0.0.21\t9090\tin\t0\thandshaking - 0 USERs received\t0\t1\t1\t0\t0\t5\t5\n"
             "127.0.0.22\t9090\tout\t0\thandshaking - 7 USERs sent\t0\t1\t1\t0\t0\t5\t5\n\n");
  EXPECT_EQ(list.unidentified_connections, 1u);
  ASSERT_EQ(list.directors.size(), 3u);
  for (const auto& director : list.directors) EXPECT_FALSE(director.connected());
}

TEST_F(DirectorListTest, SelfRingStates) {
  auto list = parsed("127.0.0.1\t9090\tself\t0\tring handshaking\t0\n\n");
  EXPECT_EQ(list.self()->status, LinkStatus::handshaking);
  list = parsed("127.0.0.1\t9090\tself\t0\tring syncing - last sync 4 secs ago\t3\n\n");
  EXPECT_EQ(list.self()->status, LinkStatus::syncing);
  EXPECT_EQ(list.self()->last_sync_secs_ago, 4);
}

TEST_F(DirectorListTest, RemovedSelfIsStillSelfInTheNewFormat) {
  const auto list = parsed("127.0.0.1\t9090\tremoved\t0\tring synced\t0\n\n");
  ASSERT_NE(list.self(), nullptr);
  EXPECT_TRUE(list.self()->removed);
}

TEST_F(DirectorListTest, OldFormatRingOfThree) {
  const auto list = parsed(
      "127.0.0.1\t9090\tself\t0\tsynced\n127.0.0.21\t9090\tleft\t0\tsynced\n"
      "127.0.0.22\t9090\tright\t0\tsyncing\n127.0.0.23\t9090\tremoved\t0\t\n"
      "127.0.0.24\t9090\t\t1795393044\t\n\n");
  EXPECT_EQ(list.format, DirectorListFormat::per_director);
  ASSERT_EQ(list.directors.size(), 5u);
  EXPECT_EQ(list.self()->status, LinkStatus::synced);
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.21"), 9090)->connected());
  EXPECT_FALSE(list.find(make_ip_address("127.0.0.22"), 9090)->connected());  // syncing
  EXPECT_TRUE(list.find(make_ip_address("127.0.0.23"), 9090)->removed);
  EXPECT_FALSE(list.find(make_ip_address("127.0.0.24"), 9090)->connected());
}

TEST_F(DirectorListTest, OldFormatRingOfTwoIsLeftAndRight) {
  const auto list = parsed(
      "127.0.0.1\t9090\tself\t0\tsyncing - last sync 2 secs ago\n"
      "127.0.0.21\t9090\tl+r\t0\tsynced\n\n");
  const auto* peer = list.find(make_ip_address("127.0.0.21"), 9090);
  EXPECT_TRUE(peer->left && peer->right && peer->connected());
  EXPECT_EQ(list.self()->last_sync_secs_ago, 2);
}

TEST_F(DirectorListTest, Ipv6Directors) {
  const auto list = parsed(
      "2001:db8::1\t9090\tself\t0\tring synced\t0\n"
      "2001:db8::2\t9090\tleft\t0\tsynced\t0\t1\t1\t0\t0\t5\t5\n\n");
  EXPECT_EQ(list.self()->address, make_ip_address("2001:db8::1"));
  EXPECT_TRUE(list.directors[1].connected());
}

TEST_F(DirectorListTest, EmptyListAndNoSelf) {
  const auto list = parsed("\n");
  EXPECT_TRUE(list.directors.empty());
  EXPECT_EQ(list.self(), nullptr);
}

struct BadDirectorList {
  const char* reply;
  const char* error_mentions;
};

class DirectorListRejects : public ::testing::TestWithParam<BadDirectorList> {};

TEST_P(DirectorListRejects, WithClearError) {
  const auto result = parse_director_list(GetParam().reply);
  ASSERT_FALSE(result.list);
  EXPECT_NE(result.error.find(GetParam().error_mentions), std::string::npos) << result.error;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, DirectorListRejects,
    ::testing::Values(
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tring synced\t0\n", "without its empty line"},
        BadDirectorList{"\nextra", "after the end"}, BadDirectorList{"OK\n\n", "1 fields"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\n\n", "4 fields"},
        BadDirectorList{"host.example\t9090\t\t0\t\n\n", "bad IP address 'host.example'"},
        BadDirectorList{"fe80::1%eth0\t9090\t\t0\t\n\n", "bad IP address"},
        BadDirectorList{"127.0.0.2\t0\t\t0\t\n\n", "bad port '0'"},
        BadDirectorList{"127.0.0.2\t65536\t\t0\t\n\n", "bad port '65536'"},
        BadDirectorList{"127.0.0.2\t-1\t\t0\t\n\n", "bad port"},
        BadDirectorList{"127.0.0.2\t9090\tboss\t0\t\n\n", "unknown type 'boss'"},
        BadDirectorList{"127.0.0.2\t9090\t\tlater\t\n\n", "last-failed time 'later'"},
        BadDirectorList{"127.0.0.2\t9090\tleft\t0\tfine\n\n", "bad status 'fine'"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tsynced\t0\n\n", "bad ring status 'synced'"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tring synced\tx\n\n", "last sync time"},
        BadDirectorList{"127.0.0.1\t9090\tleft\t0\tring synced\t0\n\n", "not a self line"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tring syncing - last sync x secs ago\t0\n\n",
                        "bad ring status"},
        BadDirectorList{"127.0.0.2\t9090\tl+r\t0\tsynced\t0\t1\t1\t0\t0\t5\t5\n\n",
                        "unknown type 'l+r'"},
        BadDirectorList{"127.0.0.2\t9090\tleft\t0\thandshaking\t0\t1\t1\t0\t0\t5\t5\n\n",
                        "bad status 'handshaking'"},
        BadDirectorList{"127.0.0.2\t9090\tleft\t0\tsynced\t0\t1\t-1\t0\t0\t5\t5\n\n",
                        "bad number '-1' in field 8"},
        BadDirectorList{"handshaking - many USERs received\t0\t0\t0\t0\t0\t0\t0\n\n", "bad status"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tring synced\t0\n"
                        "127.0.0.2\t9090\tself\t0\tring synced\t0\n\n",
                        "two self lines"},
        BadDirectorList{"127.0.0.1\t9090\tself\t0\tsynced\n"
                        "127.0.0.2\t9090\tleft\t0\tsynced\t0\t1\t1\t0\t0\t5\t5\n\n",
                        "mixes"}));

TEST_F(DirectorListTest, OverlongLineIsRefusedBeforeSplitting) {
  const std::string line = "127.0.0.2\t9090\t\t0\t" + std::string(2000, 'x');
  EXPECT_NE(error_of(line + "\n\n").find("longer than 1024"), std::string::npos);
}

TEST_F(DirectorListTest, AbsurdCountsAreRefused) {
  std::string lines;
  for (int i = 0; i < 300; ++i)
    lines +=
        "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + "\t9090\t\t0\t\n";
  EXPECT_NE(error_of(lines + "\n").find("more than 256 directors"), std::string::npos);

  DirectorListParser parser;
  const std::string unknown = "handshaking - 0 USERs received\t0\t0\t0\t0\t0\t0\t0";
  for (std::size_t i = 0; i < kMaxDirectorListLines; ++i) parser.feed_line(unknown);
  EXPECT_EQ(parser.feed_line(unknown), DirectorListParser::State::failed);
  EXPECT_NE(parser.error().find("more than 1024 lines"), std::string::npos);
}

TEST_F(DirectorListTest, ParserRefusesLinesAfterTheEnd) {
  DirectorListParser parser;
  EXPECT_EQ(parser.feed_line(kSelfSynced), DirectorListParser::State::need_more);
  EXPECT_EQ(parser.feed_line(""), DirectorListParser::State::done);
  EXPECT_EQ(parser.feed_line(kSelfSynced), DirectorListParser::State::failed);
  EXPECT_EQ(parser.feed_line(""), DirectorListParser::State::failed);
}

TEST_F(DirectorListTest, ErrorsAreBoundedAndPrintable) {
  const auto error = error_of(std::string("\x01\x1b[2J\t9090\t\t0\t") + "\n\n");
  EXPECT_LT(error.size(), 200u);
  for (char c : error) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

// Random bytes and random mutations of good lines: every one is a list or an error,
// never a crash (run under the sanitizers, this is the parser's fuzz smoke test).
TEST_F(DirectorListTest, GarbageNeverCrashes) {
  std::mt19937 random(12);
  const std::string good = std::string(kSelfSynced) + "\n" + kLeftSynced + "\n\n";
  for (int round = 0; round < 2000; ++round) {
    std::string reply = good;
    const int edits = 1 + static_cast<int>(random() % 6);
    for (int e = 0; e < edits; ++e) {
      const auto at = random() % reply.size();
      const char bytes[] = {'\t', '\n', '\0', '-', '9', ':', 'x', '\x80', ' '};
      reply[at] = bytes[random() % sizeof(bytes)];
    }
    const auto result = parse_director_list(reply);
    EXPECT_TRUE(result.list.has_value() || !result.error.empty());
  }
}
