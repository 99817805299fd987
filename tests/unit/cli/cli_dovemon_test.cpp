// `poolwatch --dovemon-config FILE`: dovemon's own config file, read as it is.
#include <gtest/gtest.h>

#include <sstream>

#include "poolwatch/cli/cli.hpp"
#include "support/child_process.hpp"

using namespace poolwatch;
using poolwatch::test::TempDir;

namespace {

std::variant<CliOptions, int> parse_dovemon_cli(std::vector<std::string> args,
                                                std::string* error = nullptr) {
  std::vector<const char*> argv{"poolwatch"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto result = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  if (error) *error = err.str();
  return result;
}

TEST(CliDovemon, MapsTheFileAndReportsWhatItCannotHonour) {
  TempDir dir;
  const auto file = dir.write("dovemon.config.yml",
                              "director_admin_socket: /tmp/dm/director-admin\n"
                              "interval: 7\nretry_count: 4\nuse_host_flush: True\n"
                              "use_delayed_down: yes\n");
  auto result = parse_dovemon_cli({"--dovemon-config", file});
  ASSERT_TRUE(std::holds_alternative<CliOptions>(result));
  const auto& options = std::get<CliOptions>(result);
  EXPECT_EQ(options.config.director.socket, "/tmp/dm/director-admin");
  EXPECT_DOUBLE_EQ(options.config.health.interval.count(), 7.0);
  EXPECT_EQ(options.config.health.retry_count, 4);
  EXPECT_EQ(options.config.actions.flush_mode, FlushMode::flush);
  bool delayed_down_reported = false;
  for (const auto& w : options.warnings)
    delayed_down_reported |= w.find("use_delayed_down") != std::string::npos;
  EXPECT_TRUE(delayed_down_reported) << ::testing::PrintToString(options.warnings);
}

TEST(CliDovemon, FlagsStillOverrideTheDovemonFile) {
  TempDir dir;
  const auto file = dir.write("dovemon.config.yml", "interval: 7\n");
  auto result = parse_dovemon_cli({"--dovemon-config", file, "--interval", "3"});
  ASSERT_TRUE(std::holds_alternative<CliOptions>(result));
  EXPECT_DOUBLE_EQ(std::get<CliOptions>(result).config.health.interval.count(), 3.0);
}

TEST(CliDovemon, ExcludesAPoolwatchConfig) {
  TempDir dir;
  const auto dovemon = dir.write("dovemon.config.yml", "interval: 7\n");
  const auto ours = dir.write("poolwatch.yml", "dry_run: true\n");
  std::string error;
  auto result = parse_dovemon_cli({"--dovemon-config", dovemon, "-c", ours}, &error);
  ASSERT_TRUE(std::holds_alternative<int>(result));
  EXPECT_EQ(std::get<int>(result), 2);
  EXPECT_NE(error.find("exclude each other"), std::string::npos) << error;
}

TEST(CliDovemon, MissingFileIsAConfigError) {
  std::string error;
  auto result = parse_dovemon_cli({"--dovemon-config", "/nonexistent/dovemon.config.yml"}, &error);
  ASSERT_TRUE(std::holds_alternative<int>(result));
  EXPECT_EQ(std::get<int>(result), 2);
  EXPECT_NE(error.find("/nonexistent/dovemon.config.yml"), std::string::npos) << error;
}

}  // namespace
