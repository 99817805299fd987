// actions.on_transition is an absolute path to an executable, optionally followed by
// fixed arguments, run without a shell: the loader splits it into words and refuses a
// command that could never start, naming the key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "poolwatch/config/config.hpp"
#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/dovemon_config.hpp"
#include "support/child_process.hpp"

using namespace poolwatch;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

// An executable hook script (mode 0755) or a plain file (0644) in `dir`.
std::string hook_script(const test::TempDir& dir, unsigned mode) {
  return dir.write("hook.sh", "#!/bin/sh\nexit 0\n", mode);
}

std::string on_transition_error(const std::string& command) {
  try {
    load_config_string("actions:\n  on_transition: \"" + command + "\"\n", "t.yml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string validate_error(const std::string& command) {
  Config c;
  c.actions.on_transition = command;
  try {
    validate(c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(HookCommand, SplitsOnBlanksWithoutAnyQuoting) {
  EXPECT_THAT(split_hook_command(""), IsEmpty());
  EXPECT_THAT(split_hook_command("  \t "), IsEmpty());
  EXPECT_THAT(split_hook_command("/usr/local/bin/notify"), ElementsAre("/usr/local/bin/notify"));
  EXPECT_THAT(split_hook_command(" /bin/notify  --channel\tops: {x} "),
              ElementsAre("/bin/notify", "--channel", "ops:", "{x}"));
  // No shell: quotes are ordinary characters.
  EXPECT_THAT(split_hook_command("/bin/notify 'two words'"),
              ElementsAre("/bin/notify", "'two", "words'"));
}

TEST(HookCommand, AnExecutableWithArgumentsLoads) {
  test::TempDir dir;
  const auto hook = hook_script(dir, 0755);
  const Config c =
      load_config_string("actions:\n  on_transition: \"" + hook + " --channel ops\"\n", "t.yml");
  EXPECT_EQ(c.actions.on_transition, hook + " --channel ops");
  EXPECT_EQ(validate_error(""), "no error");
}

TEST(HookCommand, ARelativePathIsRefused) {
  EXPECT_THAT(on_transition_error("notify.sh down"),
              AllOf(HasSubstr("t.yml:2: actions.on_transition"), HasSubstr("'notify.sh'"),
                    HasSubstr("not an absolute path"), HasSubstr("no shell")));
  // A shell command line is not run through a shell either.
  EXPECT_THAT(validate_error("sh -c 'notify'"),
              AllOf(HasSubstr("actions.on_transition"), HasSubstr("not an absolute path")));
}

TEST(HookCommand, AMissingProgramIsRefused) {
  test::TempDir dir;
  EXPECT_THAT(on_transition_error(dir.path() + "/nowhere --flag"),
              AllOf(HasSubstr("actions.on_transition"), HasSubstr(dir.path() + "/nowhere"),
                    HasSubstr("No such file or directory")));
}

TEST(HookCommand, ADirectoryIsRefused) {
  test::TempDir dir;
  EXPECT_THAT(validate_error(dir.path()),
              AllOf(HasSubstr("actions.on_transition"), HasSubstr("not a regular file")));
}

TEST(HookCommand, ANonExecutableFileIsRefused) {
  // Even for root: access(X_OK) wants an x bit somewhere, and 0644 has none.
  test::TempDir dir;
  const auto hook = hook_script(dir, 0644);
  EXPECT_THAT(validate_error(hook),
              AllOf(HasSubstr("actions.on_transition"), HasSubstr("not executable")));
}

TEST(HookCommand, ABadHookIsRefusedWhereverItComesFrom) {
  Config c;
  apply_setting(c, "actions.on_transition", "relative/hook");  // overrides check at validate()
  EXPECT_THROW(validate(c), ConfigError);
  EXPECT_THAT(
      [] {
        try {
          parse_dovemon_config("beupdatescript: /nonexistent/be-update\n", "dovemon.config.yml",
                               "/etc/dovecot/dovemon.testaccounts.yml");
        } catch (const ConfigError& e) {
          return std::string(e.what());
        }
        return std::string("no error");
      }(),
      AllOf(HasSubstr("actions.on_transition"), HasSubstr("/nonexistent/be-update")));
}
