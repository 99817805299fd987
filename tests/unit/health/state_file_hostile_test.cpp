// The state file's path pointed somewhere hostile (issue 13, items 6 and 7): a symbolic
// link to a file with a secret line, a FIFO nobody writes, a link planted under the
// temporary file's predictable name. Nothing is read through a link, nothing waits on a
// FIFO, nothing is written through a planted link, and no message quotes what was found.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "poolwatch/health/state_file.hpp"
#include "support/child_process.hpp"
#include "support/fifo_guard.hpp"
#include "support/log_capture.hpp"

using namespace poolwatch;
using poolwatch::test::call_guarding_fifo;
using poolwatch::test::LogCapture;
using poolwatch::test::read_text_file;
using poolwatch::test::TempDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class HostileStateFile : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = 1'767'225'600;
  static constexpr const char* kSecretLine = "root:$6$hunter2-hash:19000:0:99999:7:::\n";

  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string state() const { return path("state"); }
  void link(const std::string& target, const std::string& at) const {
    ASSERT_EQ(::symlink(target.c_str(), at.c_str()), 0) << at;
  }
  bool is_link(const std::string& at) const {
    return std::filesystem::is_symlink(std::filesystem::symlink_status(at));
  }

  TempDir dir_;
  const std::vector<OwnedHost> hosts_{{make_ip_address("10.0.0.5"), kNow, "imap:143: down"}};
};

TEST_F(HostileStateFile, ASymlinkToASecretIsNeitherReadNorEchoedNorMoved) {
  const auto secret = dir_.write("shadow", kSecretLine, 0600);
  link(secret, state());
  LogCapture log;
  const auto loaded = load_state_file(state(), kNow);
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_EQ(loaded.error, "state file " + state() + ": is a symbolic link, not a regular file");
  EXPECT_THAT(log.text(), AllOf(HasSubstr("symbolic link"), Not(HasSubstr("hunter2"))));
  EXPECT_EQ(loaded.moved_aside_to, "");
  EXPECT_TRUE(is_link(state())) << "the link was moved aside, as if it were a corrupt file";
  EXPECT_EQ(read_text_file(secret), kSecretLine);

  const auto small = read_small_file(state());
  EXPECT_FALSE(small.missing);
  EXPECT_EQ(small.text, "");
  EXPECT_EQ(small.error, "is a symbolic link, not a regular file");
}

TEST_F(HostileStateFile, ADanglingSymlinkIsNotAMissingFile) {
  link(path("nowhere"), state());
  EXPECT_THAT(load_state_file(state(), kNow).error, HasSubstr("symbolic link"));
  EXPECT_FALSE(read_small_file(state()).missing);
}

// The path named someone else's file directly: it is corrupt, and the message says where
// and why without its bytes.
TEST_F(HostileStateFile, AFileThatFailsToParseIsNotQuoted) {
  for (const char* text :
       {kSecretLine, "poolwatch-state 2\nhunter2\t5\tdone\tx\n",
        "poolwatch-state 2\n10.0.0.1\thunter2\tdone\tx\n",
        "poolwatch-state 2\n10.0.0.1\t5\thunter2\tx\n", "poolwatch-state hunter2\n"}) {
    dir_.write("state", text, 0600);
    LogCapture log;
    const auto loaded = load_state_file(state(), kNow);
    EXPECT_THAT(loaded.error, AllOf(HasSubstr("is corrupt"), Not(HasSubstr("hunter2"))));
    EXPECT_THAT(log.text(), AllOf(HasSubstr("is corrupt"), Not(HasSubstr("hunter2"))));
    EXPECT_THAT(parse_state(text).error, Not(HasSubstr("hunter2")));
    std::filesystem::remove(loaded.moved_aside_to);
  }
}

TEST_F(HostileStateFile, AFifoIsRefusedWithoutWaitingForAWriter) {
  ASSERT_EQ(::mkfifo(state().c_str(), 0600), 0);
  const auto loaded =
      call_guarding_fifo([this] { return load_state_file(state(), kNow); }, state());
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_EQ(loaded.error, "state file " + state() + ": is a FIFO, not a regular file");
  EXPECT_EQ(loaded.moved_aside_to, "");
  const auto small = call_guarding_fifo([this] { return read_small_file(state()); }, state());
  EXPECT_EQ(small.error, "is a FIFO, not a regular file");
}

// Whoever may write in the state directory can guess ".state.tmp-PID"; a link planted
// there must not redirect the write (to a file it would truncate, or to one it would
// create).
TEST_F(HostileStateFile, APlantedTemporaryFileLinkIsNotWrittenThrough) {
  const auto victim = dir_.write("victim", "precious\n", 0600);
  const auto temp = path(".state.tmp-" + std::to_string(::getpid()));
  for (const auto& target : {victim, path("created-through-the-link")}) {
    std::filesystem::remove(temp);
    link(target, temp);
    ASSERT_EQ(save_state_file(state(), hosts_), std::nullopt);
    EXPECT_EQ(read_text_file(victim), "precious\n");
    EXPECT_FALSE(std::filesystem::exists(path("created-through-the-link")));
    EXPECT_EQ(read_text_file(state()), format_state(hosts_));
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(temp)));
  }
}

// A link at the state path itself is replaced by the new file; its target is left alone.
TEST_F(HostileStateFile, ASaveReplacesALinkAtThePathNotItsTarget) {
  const auto victim = dir_.write("victim", "precious\n", 0600);
  link(victim, state());
  ASSERT_EQ(write_file_atomically(state(), "new\n", "state file"), std::nullopt);
  EXPECT_FALSE(is_link(state()));
  EXPECT_EQ(read_text_file(state()), "new\n");
  EXPECT_EQ(read_text_file(victim), "precious\n");
}
