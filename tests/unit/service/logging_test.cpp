#include "poolwatch/service/logging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <syslog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/secret.hpp"
#include "support/fifo_guard.hpp"

using namespace poolwatch;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Logging : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_logger_ = spdlog::default_logger();
    std::string pattern =
        (std::filesystem::temp_directory_path() / "poolwatch-log-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    ::unsetenv("JOURNAL_STREAM");
  }
  void TearDown() override {
    // Detach from the test's file before the directory goes, and give the next test the
    // logger it started with.
    LogConfig plain;
    setup_logging(plain, false, false);
    spdlog::set_default_logger(previous_logger_);
    std::filesystem::remove_all(dir_);
  }

  LogConfig file_config(const std::string& level = "info") const {
    LogConfig log;
    log.target = LogTarget::file;
    log.file = dir_ + "/poolwatch.log";
    log.level = level;
    return log;
  }

  std::shared_ptr<spdlog::logger> previous_logger_;
  std::string dir_;
};

}  // namespace

TEST_F(Logging, FileTargetWritesLinesAtTheConfiguredLevel) {
  setup_logging(file_config("warn"), false, false);
  spdlog::debug("debug line");
  spdlog::info("info line");
  spdlog::warn("backend {} is slow", "10.0.0.1");
  spdlog::error("director gone");
  const std::string text = read_file(dir_ + "/poolwatch.log");
  EXPECT_THAT(text, Not(HasSubstr("debug line")));
  EXPECT_THAT(text, Not(HasSubstr("info line")));
  EXPECT_THAT(text, ContainsRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ \\[warning\\] backend "
                                  "10\\.0\\.0\\.1 is slow\n"));
  EXPECT_THAT(text, HasSubstr("[error] director gone\n"));
}

TEST_F(Logging, DebugForcesTheDebugLevel) {
  testing::internal::CaptureStderr();  // --debug also copies lines to stderr
  setup_logging(file_config("error"), false, true);
  spdlog::debug("debug line");
  spdlog::trace("trace line");
  const std::string err = testing::internal::GetCapturedStderr();
  const std::string text = read_file(dir_ + "/poolwatch.log");
  EXPECT_THAT(text, HasSubstr("[debug] debug line"));
  EXPECT_THAT(text, Not(HasSubstr("trace line")));
  EXPECT_THAT(err, HasSubstr("[debug] debug line"));
}

TEST_F(Logging, FileIsCreatedWithMode0640) {
  const mode_t old_mask = ::umask(022);
  setup_logging(file_config(), false, false);
  ::umask(old_mask);
  struct stat info {};
  ASSERT_EQ(::stat((dir_ + "/poolwatch.log").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
}

TEST_F(Logging, ExistingFileIsAppendedTo) {
  const std::string path = dir_ + "/poolwatch.log";
  std::ofstream(path) << "earlier line\n";
  setup_logging(file_config(), false, false);
  spdlog::info("first");
  setup_logging(file_config(), false, false);  // a restart appends too
  spdlog::info("second");
  const std::string text = read_file(path);
  ASSERT_EQ(text.find("earlier line"), 0u);
  ASSERT_NE(text.find("first"), std::string::npos);
  ASSERT_NE(text.find("second"), std::string::npos);
  EXPECT_LT(text.find("first"), text.find("second"));
}

TEST_F(Logging, ReopenAfterRenameWritesToANewFile) {
  const std::string path = dir_ + "/poolwatch.log";
  setup_logging(file_config(), false, false);
  spdlog::info("before rotation");
  std::filesystem::rename(path, path + ".1");
  spdlog::info("still the old file");
  reopen_log_file();
  spdlog::info("after rotation");

  const std::string rotated = read_file(path + ".1");
  const std::string current = read_file(path);
  EXPECT_THAT(rotated, HasSubstr("before rotation"));
  EXPECT_THAT(rotated, HasSubstr("still the old file"));
  EXPECT_THAT(rotated, Not(HasSubstr("after rotation")));
  EXPECT_THAT(current, HasSubstr("after rotation"));
  EXPECT_THAT(current, Not(HasSubstr("before rotation")));
}

TEST_F(Logging, FailedReopenKeepsLoggingToTheOldFile) {
  const std::string path = dir_ + "/poolwatch.log";
  setup_logging(file_config(), false, false);
  std::filesystem::rename(path, path + ".1");
  std::filesystem::create_directory(path);  // the path can no longer be opened as a file
  reopen_log_file();
  spdlog::info("after failed reopen");
  const std::string rotated = read_file(path + ".1");
  EXPECT_THAT(rotated, HasSubstr("cannot reopen log file '" + path + "'"));
  EXPECT_THAT(rotated, HasSubstr("after failed reopen"));
}

TEST_F(Logging, ReopenWithoutAFileTargetDoesNothing) {
  testing::internal::CaptureStderr();
  LogConfig log;
  setup_logging(log, false, false);
  reopen_log_file();
  spdlog::info("on stderr");
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("[info] on stderr"));
}

TEST_F(Logging, UnopenableFileIsAConfigErrorNamingThePath) {
  LogConfig log = file_config();
  log.file = dir_ + "/missing-dir/poolwatch.log";
  try {
    setup_logging(log, false, false);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "log.file: cannot open '" + log.file + "': No such file or directory");
  }
}

// A FIFO or a link as log.file (issue 13, item 7): refused at once, naming the key, where
// the open used to wait for a reader forever or append to whatever the link named.
TEST_F(Logging, AFifoOrALinkAsTheLogFileIsRefusedAtOnce) {
  LogConfig log = file_config();
  const auto start = [&log] {
    try {
      setup_logging(log, false, false);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("started");
  };
  ASSERT_EQ(::mkfifo(log.file.c_str(), 0600), 0);
  EXPECT_EQ(poolwatch::test::call_guarding_fifo(start, log.file),
            "log.file: cannot open '" + log.file + "': is a FIFO, not a regular file");

  const std::string victim = dir_ + "/victim";
  std::ofstream(victim) << "precious\n";
  log.file = dir_ + "/linked.log";
  ASSERT_EQ(::symlink(victim.c_str(), log.file.c_str()), 0);
  EXPECT_EQ(start(),
            "log.file: cannot open '" + log.file + "': is a symbolic link, not a regular file");
  EXPECT_EQ(read_file(victim), "precious\n");
}

// SIGHUP after something put a FIFO where the log was: the reopen must neither wait on it
// nor switch to it.
TEST_F(Logging, AReopenOntoAFifoKeepsTheOldFile) {
  const std::string path = dir_ + "/poolwatch.log";
  setup_logging(file_config(), false, false);
  std::filesystem::rename(path, path + ".1");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  poolwatch::test::call_guarding_fifo(
      [] {
        reopen_log_file();
        return 0;
      },
      path);
  spdlog::info("after the refused reopen");
  const std::string rotated = read_file(path + ".1");
  EXPECT_THAT(rotated, HasSubstr("cannot reopen log file '" + path + "': is a FIFO"));
  EXPECT_THAT(rotated, HasSubstr("after the refused reopen"));
}

TEST_F(Logging, StderrHasTimestampsOutsideSystemd) {
  testing::internal::CaptureStderr();
  setup_logging(LogConfig{}, false, false);
  spdlog::warn("plain stderr");
  EXPECT_THAT(testing::internal::GetCapturedStderr(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} "
                           "\\[warning\\] plain stderr\n"));
}

TEST_F(Logging, StderrUnderSystemdHasPrioritiesInsteadOfTimestamps) {
  ::setenv("JOURNAL_STREAM", "8:12345", 1);
  testing::internal::CaptureStderr();
  setup_logging(LogConfig{}, false, false);
  spdlog::warn("journal warning");
  spdlog::error("journal error");
  spdlog::info("journal info");
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "<4>[warning] journal warning\n<3>[error] journal error\n<6>[info] journal info\n");
}

TEST_F(Logging, ForegroundCopiesAFileTargetToStderrExceptUnderSystemd) {
  testing::internal::CaptureStderr();
  setup_logging(file_config(), true, false);
  spdlog::info("to both");
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("[info] to both"));
  EXPECT_THAT(read_file(dir_ + "/poolwatch.log"), HasSubstr("[info] to both"));

  ::setenv("JOURNAL_STREAM", "8:12345", 1);
  testing::internal::CaptureStderr();
  setup_logging(file_config(), true, false);
  spdlog::info("file only");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_THAT(read_file(dir_ + "/poolwatch.log"), HasSubstr("[info] file only"));
}

TEST_F(Logging, SecretsNeverReachTheLog) {
  setup_logging(file_config("trace"), false, false);
  const Secret password("hunter2-very-secret");
  spdlog::info("login probe@example.org password {}", password);
  spdlog::debug("auth {} {:>30}", password, password);
  const std::string text = read_file(dir_ + "/poolwatch.log");
  EXPECT_THAT(text, HasSubstr("login probe@example.org password <redacted>"));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
}

TEST(LogNames, FacilityNamesMap) {
  EXPECT_EQ(syslog_facility_from_name("daemon"), LOG_DAEMON);
  EXPECT_EQ(syslog_facility_from_name("mail"), LOG_MAIL);
  EXPECT_EQ(syslog_facility_from_name("user"), LOG_USER);
  const int locals[] = {LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                        LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(syslog_facility_from_name("local" + std::to_string(i)), locals[i]) << i;
  for (const char* bad : {"", "local8", "kern", "DAEMON", "daemon ", "auth"})
    EXPECT_FALSE(syslog_facility_from_name(bad)) << bad;
}

TEST(LogNames, LevelNamesMap) {
  EXPECT_EQ(log_level_from_name("trace"), spdlog::level::trace);
  EXPECT_EQ(log_level_from_name("debug"), spdlog::level::debug);
  EXPECT_EQ(log_level_from_name("info"), spdlog::level::info);
  EXPECT_EQ(log_level_from_name("warn"), spdlog::level::warn);
  EXPECT_EQ(log_level_from_name("error"), spdlog::level::err);
  for (const char* bad : {"", "warning", "err", "critical", "off", "INFO"})
    EXPECT_FALSE(log_level_from_name(bad)) << bad;
}

TEST(LogConfigErrors, BadFacilityIsAConfigError) {
  EXPECT_THROW(
      {
        try {
          load_config_string("log:\n  target: syslog\n  syslog_facility: kern\n", "l.yml");
        } catch (const ConfigError& e) {
          EXPECT_THAT(e.what(), HasSubstr("l.yml:3: log.syslog_facility: must be one of"));
          throw;
        }
      },
      ConfigError);
  LogConfig log;
  log.target = LogTarget::syslog;
  log.syslog_facility = "kern";
  EXPECT_THROW(setup_logging(log, false, false), ConfigError);
}

TEST(LogConfigErrors, BadLevelIsAConfigError) {
  LogConfig log;
  log.level = "loud";
  EXPECT_THROW(setup_logging(log, false, false), ConfigError);
}
