#include "poolwatch/service/pidfile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "poolwatch/service/daemonize.hpp"

namespace poolwatch {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A pipe the test uses to tell a forked process when to go on.
struct Pipe {
  Pipe() { EXPECT_EQ(::pipe(fds), 0); }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  void close_write() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  // Blocks until a byte or EOF arrives; returns the byte, or -1 at EOF.
  int wait() const {
    char byte = 0;
    for (;;) {
      ssize_t n = ::read(fds[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      return n == 1 ? static_cast<unsigned char>(byte) : -1;
    }
  }
  void signal(char byte = 'x') const { EXPECT_EQ(::write(fds[1], &byte, 1), 1); }
  int fds[2] = {-1, -1};
};

int wait_exit_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits for a process that is not our child to exit (pidfd becomes readable).
bool await_exit_of(pid_t pid, int timeout_ms) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH;
  pollfd ready{pidfd, POLLIN, 0};
  bool exited = ::poll(&ready, 1, timeout_ms) == 1;
  ::close(pidfd);
  return exited;
}

class PidfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "pidfile_test.XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "poolwatch.pid").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string path_;
};

TEST_F(PidfileTest, AcquireWritesPidAndReleaseRemovesFile) {
  auto pidfile = Pidfile::acquire(path_);
  EXPECT_TRUE(pidfile.held());
  EXPECT_EQ(pidfile.path(), path_);
  EXPECT_EQ(pidfile.stale_pid(), std::nullopt);
  EXPECT_EQ(read_file(path_), std::to_string(::getpid()) + "\n");
  pidfile.release();
  EXPECT_FALSE(pidfile.held());
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(PidfileTest, DestructorRemovesFile) {
  { auto pidfile = Pidfile::acquire(path_); }
  EXPECT_FALSE(fs::exists(path_));
  auto again = Pidfile::acquire(path_);
  EXPECT_EQ(again.stale_pid(), std::nullopt);
}

TEST_F(PidfileTest, MovedPidfileIsReleasedOnce) {
  auto first = Pidfile::acquire(path_);
  Pidfile second = std::move(first);
  EXPECT_FALSE(first.held());
  EXPECT_TRUE(second.held());
  first.release();
  EXPECT_TRUE(fs::exists(path_));
  second.release();
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(PidfileTest, SecondInstanceGetsClearError) {
  Pipe held, stop;
  pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    held.close_read();
    stop.close_write();
    int code = 0;
    try {
      auto pidfile = Pidfile::acquire(path_);
      held.signal();
      stop.wait();
      pidfile.release();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  held.close_write();
  stop.close_read();
  ASSERT_EQ(held.wait(), 'x');

  try {
    Pidfile::acquire(path_);
    ADD_FAILURE() << "second acquire succeeded";
  } catch (const PidfileError& e) {
    EXPECT_EQ(std::string(e.what()), "poolwatch already running (pid " + std::to_string(holder) +
                                         ", pidfile " + path_ + ")");
  }
  // The failed attempt must leave the holder's file alone.
  EXPECT_EQ(read_file(path_), std::to_string(holder) + "\n");

  stop.close_write();
  EXPECT_EQ(wait_exit_status(holder), 0);
  EXPECT_FALSE(fs::exists(path_));
  auto taken = Pidfile::acquire(path_);
  EXPECT_EQ(taken.stale_pid(), std::nullopt);
}

TEST_F(PidfileTest, StaleFileOfDeadProcessIsTakenOver) {
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(wait_exit_status(dead), 0);
  {
    std::ofstream out(path_);
    out << dead << "\n";
  }
  auto pidfile = Pidfile::acquire(path_);
  EXPECT_EQ(pidfile.stale_pid(), dead);
  EXPECT_EQ(read_file(path_), std::to_string(::getpid()) + "\n");
}

TEST_F(PidfileTest, UnlockedFileWithLivePidIsTakenOver) {
  // A reused pid (here: our own parent's, alive) must not block a start: only the lock counts.
  {
    std::ofstream out(path_);
    out << ::getppid() << "\n";
  }
  auto pidfile = Pidfile::acquire(path_);
  EXPECT_EQ(pidfile.stale_pid(), ::getppid());
  EXPECT_EQ(read_file(path_), std::to_string(::getpid()) + "\n");
}

TEST_F(PidfileTest, GarbageContentIsOverwritten) {
  {
    std::ofstream out(path_);
    out << "not a pid, but a much longer line of text than any pid would ever be\n";
  }
  auto pidfile = Pidfile::acquire(path_);
  EXPECT_EQ(pidfile.stale_pid(), std::nullopt);
  EXPECT_EQ(read_file(path_), std::to_string(::getpid()) + "\n");
}

TEST_F(PidfileTest, ForkedChildDoesNotRemoveParentsFile) {
  auto pidfile = Pidfile::acquire(path_);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pidfile.release();
    ::_exit(fs::exists(path_) ? 0 : 1);
  }
  EXPECT_EQ(wait_exit_status(child), 0);
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_EQ(read_file(path_), std::to_string(::getpid()) + "\n");
  // The child's copy of the descriptor is closed; the lock is still ours.
  EXPECT_THROW(Pidfile::acquire(path_), PidfileError);
}

TEST_F(PidfileTest, MissingDirectoryIsAClearError) {
  auto missing = (dir_ / "absent" / "poolwatch.pid").string();
  try {
    Pidfile::acquire(missing);
    ADD_FAILURE() << "acquire succeeded";
  } catch (const PidfileError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot open pidfile " + missing));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("No such file or directory"));
  }
}

TEST_F(PidfileTest, RefusesSymlink) {
  auto target = dir_ / "elsewhere";
  { std::ofstream out(target); }
  fs::create_symlink(target, path_);
  EXPECT_THROW(Pidfile::acquire(path_), PidfileError);
  EXPECT_EQ(read_file(target), "");
}

TEST_F(PidfileTest, EmptyPathIsAnError) {
  EXPECT_THROW(Pidfile::acquire(""), PidfileError);
}

TEST(ParsePid, AcceptsOnlyOnePositivePid) {
  EXPECT_EQ(parse_pid("1234\n"), 1234);
  EXPECT_EQ(parse_pid("1234"), 1234);
  EXPECT_EQ(parse_pid("1\r\n"), 1);
  EXPECT_EQ(parse_pid(""), std::nullopt);
  EXPECT_EQ(parse_pid("\n"), std::nullopt);
  EXPECT_EQ(parse_pid("0\n"), std::nullopt);
  EXPECT_EQ(parse_pid("-5\n"), std::nullopt);
  EXPECT_EQ(parse_pid("12 34\n"), std::nullopt);
  EXPECT_EQ(parse_pid("12abc"), std::nullopt);
  EXPECT_EQ(parse_pid("99999999999"), std::nullopt);
}

TEST_F(PidfileTest, DaemonizeDetachesAndWritesDaemonPid) {
  Pipe stop;
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    stop.close_write();
    try {
      auto pidfile = Pidfile::acquire(path_);
      daemonize(&pidfile);
      // Only the daemon gets here; it holds the lock until the test lets it go.
      stop.wait();
      pidfile.release();
      ::_exit(0);
    } catch (...) {
      ::_exit(3);
    }
  }
  stop.close_read();
  // The launcher exits 0 only once the daemon has written its pid.
  ASSERT_EQ(wait_exit_status(launcher), 0);
  auto daemon_pid = parse_pid(read_file(path_));
  ASSERT_TRUE(daemon_pid);
  EXPECT_NE(*daemon_pid, launcher);
  EXPECT_NE(*daemon_pid, ::getpid());

  const auto proc = fs::path("/proc") / std::to_string(*daemon_pid);
  EXPECT_EQ(fs::read_symlink(proc / "cwd"), fs::path("/"));
  for (const char* fd : {"0", "1", "2"})
    EXPECT_EQ(fs::read_symlink(proc / "fd" / fd), fs::path("/dev/null")) << "fd " << fd;
  // A new session of its own, and not its leader: it can never regain a terminal.
  const pid_t session = ::getsid(*daemon_pid);
  EXPECT_NE(session, ::getsid(0));
  EXPECT_NE(session, *daemon_pid);
  EXPECT_EQ(::getpgid(*daemon_pid), session);

  try {
    Pidfile::acquire(path_);
    ADD_FAILURE() << "acquire succeeded while the daemon runs";
  } catch (const PidfileError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("(pid " + std::to_string(*daemon_pid) + ","));
  }

  stop.close_write();
  EXPECT_TRUE(await_exit_of(*daemon_pid, 10000));
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(PidfileTest, DaemonizeWithoutPidfile) {
  Pipe report, stop;
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    report.close_read();
    stop.close_write();
    daemonize(nullptr);
    std::string pid = std::to_string(::getpid());
    for (char c : pid) report.signal(c);
    report.close_write();
    stop.wait();
    ::_exit(0);
  }
  report.close_write();
  stop.close_read();
  EXPECT_EQ(wait_exit_status(launcher), 0);
  std::string pid_text;
  for (int c = report.wait(); c >= 0; c = report.wait()) pid_text += static_cast<char>(c);
  auto daemon_pid = parse_pid(pid_text);
  ASSERT_TRUE(daemon_pid) << pid_text;
  EXPECT_NE(::getsid(*daemon_pid), ::getsid(0));
  stop.close_write();
  EXPECT_TRUE(await_exit_of(*daemon_pid, 10000));
}

}  // namespace
}  // namespace poolwatch
