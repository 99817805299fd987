#include "poolwatch/service/event_log.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fifo_guard.hpp"

namespace poolwatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// 2023-11-14T22:13:20.123Z
const auto kTs = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));

Event an_event() {
  Event e;
  e.ts = kTs;
  e.event = "action";
  e.backend = "10.0.0.1";
  return e;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "poolwatch-eventlog-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "events.jsonl").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(EventLogTest, WritesOneJsonLinePerEvent) {
  EventLog log(path_);
  ASSERT_TRUE(log.is_open());
  log.transition(kTs, "10.0.0.1", "imap", "up", "suspect", "connect refused");
  log.action(kTs, "down", "10.0.0.1", "ok", "3 failures");
  log.suppressed(kTs, "down", "10.0.0.2", "pool_guard");
  auto got = lines(path_);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], R"({"ts":"2023-11-14T22:13:20.123Z","event":"transition","backend":"10.0.0.1",)"
                    R"("protocol":"imap","from":"up","to":"suspect","reason":"connect refused"})");
  EXPECT_EQ(got[1], R"({"ts":"2023-11-14T22:13:20.123Z","event":"action","backend":"10.0.0.1",)"
                    R"("action":"down","result":"ok","reason":"3 failures"})");
  EXPECT_EQ(got[2], R"({"ts":"2023-11-14T22:13:20.123Z","event":"suppressed","backend":"10.0.0.2",)"
                    R"("action":"down","reason":"pool_guard"})");
}

TEST_F(EventLogTest, PeerTextStaysValidJson) {
  EventLog log(path_);
  const std::string reason = "bad \"greeting\"\r\n\\ \x01\x7f caf\xc3\xa9 \xff\xc3 \xed\xa0\x80";
  log.transition(kTs, "::1", "pop3", "up", "down", reason);
  auto got = lines(path_);
  ASSERT_EQ(got.size(), 1u);          // the newline in the reason did not split the line
  auto parsed = json::parse(got[0]);  // throws (fails the test) when invalid
  EXPECT_EQ(parsed["reason"],
            "bad \"greeting\"\r\n\\ \x01\x7f caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd "
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(EventLogTest, JsonQuoteKeepsValidMultibyteSequences) {
  EXPECT_EQ(json_quote("\xf0\x9f\x93\xab"), "\"\xf0\x9f\x93\xab\"");  // 4-byte emoji
  EXPECT_EQ(json_quote("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");  // overlong '/'
  EXPECT_EQ(json_quote("\xf4\x90\x80\x80"),
            "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // past U+10FFFF
  EXPECT_EQ(json_quote(std::string_view("a\0b", 3)), "\"a\\u0000b\"");
  // A C1 control is valid UTF-8 but escaped, so a terminal showing the file never meets it.
  EXPECT_EQ(json_quote("a\xc2\x9b"
                       "2J\xc2\xa0"),
            "\"a\\u009b2J\xc2\xa0\"");
}

TEST_F(EventLogTest, AppendsWithMode0640AndKeepsExistingLines) {
  auto old_mask = ::umask(022);
  {
    std::ofstream(path_) << "{\"earlier\":1}\n";
    fs::remove(path_);
    EventLog log(path_);
    log.action(kTs, "up", "10.0.0.1", "ok", "");
  }
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  {
    EventLog again(path_);
    again.action(kTs, "up", "10.0.0.2", "ok", "");
  }
  ::umask(old_mask);
  auto got = lines(path_);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(json::parse(got[0])["backend"], "10.0.0.1");
  EXPECT_EQ(json::parse(got[1])["backend"], "10.0.0.2");
  EXPECT_FALSE(json::parse(got[0]).contains("reason"));  // empty fields are left out
}

TEST_F(EventLogTest, ReopenFollowsRotation) {
  EventLog log(path_);
  log.action(kTs, "down", "10.0.0.1", "ok", "");
  fs::rename(path_, path_ + ".1");
  log.action(kTs, "down", "10.0.0.2", "ok", "");  // still the old, renamed file
  ASSERT_TRUE(log.reopen());
  log.action(kTs, "down", "10.0.0.3", "ok", "");
  EXPECT_EQ(lines(path_ + ".1").size(), 2u);
  auto fresh = lines(path_);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(json::parse(fresh[0])["backend"], "10.0.0.3");
}

TEST_F(EventLogTest, UnopenablePathIsReportedNotThrown) {
  auto missing = (dir_ / "no-such-dir" / "events.jsonl").string();
  EventLog log(missing);
  EXPECT_FALSE(log.is_open());
  EXPECT_FALSE(log.write(an_event()));
  EXPECT_FALSE(log.reopen());
  fs::create_directory(dir_ / "no-such-dir");
  EXPECT_TRUE(log.reopen());  // the operator fixed it; SIGHUP picks it up
  EXPECT_TRUE(log.write(an_event()));
  EXPECT_EQ(lines(missing).size(), 1u);
}

// A full disk, as far as write(2) tells: a file size limit makes it fail with EFBIG
// (SIGXFSZ ignored, as the default action would end the test).
TEST_F(EventLogTest, WriteErrorsReturnFalseWithoutThrowing) {
  EventLog log(path_);
  ASSERT_TRUE(log.is_open());
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit full = saved;
  full.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &full), 0);
  const bool written = log.write(an_event());
  EXPECT_NO_THROW(log.transition(kTs, "10.0.0.1", "imap", "up", "down", "x"));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(written);
  EXPECT_TRUE(log.write(an_event()));  // room again: writing resumes
}

// A FIFO or a link as event_log (issue 13, item 7): not opened, where the open used to
// wait for a reader forever (the start-up with it) or append to whatever the link named.
TEST_F(EventLogTest, AFifoOrALinkIsRefusedWithoutWaiting) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  const bool opened = poolwatch::test::call_guarding_fifo(
      [this] {
        EventLog log(path_);
        return log.is_open();
      },
      path_);
  EXPECT_FALSE(opened);

  const auto victim = (dir_ / "victim").string();
  std::ofstream(victim) << "precious\n";
  const auto linked = (dir_ / "linked.jsonl").string();
  fs::create_symlink(victim, linked);
  EventLog log(linked);
  EXPECT_FALSE(log.is_open());
  EXPECT_FALSE(log.write(an_event()));
  EXPECT_EQ(lines(victim), std::vector<std::string>{"precious"});
}

TEST_F(EventLogTest, EmptyPathDisablesTheLog) {
  EventLog log("");
  EXPECT_FALSE(log.is_open());
  EXPECT_FALSE(log.write(an_event()));
  EXPECT_FALSE(log.reopen());
}

// The status page shows the newest events even when no file is configured.
TEST(EventLogRecent, KeepsTheNewestEventsWithoutAFile) {
  EventLog log("");
  for (std::size_t i = 0; i < EventLog::kRecent + 7; ++i)
    log.transition(kTs, "10.0.0." + std::to_string(i), "imap:143", "up", "down", "refused");
  ASSERT_EQ(log.recent().size(), EventLog::kRecent);
  EXPECT_EQ(log.recent().front().backend, "10.0.0.7");
  EXPECT_EQ(log.recent().back().backend, "10.0.0." + std::to_string(EventLog::kRecent + 6));
  EXPECT_EQ(log.recent().back().event, "transition");
  EXPECT_EQ(log.recent().back().to, "down");
}

}  // namespace
}  // namespace poolwatch
