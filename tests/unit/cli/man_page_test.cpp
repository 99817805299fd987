// The committed man pages must document every config key: poolwatch.yml(5) is generated
// from docs/configuration.md by docs/man/build.sh, so a key added to the loader but not
// to the docs, or docs changed without regenerating the page, fails here.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "poolwatch/config/config_loader.hpp"
#include "support/source_tree.hpp"

namespace poolwatch {
namespace {

std::string read_doc(const std::string& relative) {
  return test::read_source_file(relative);
}

TEST(ManPage, ConfigManPageHasAnEntryForEveryKey) {
  const std::string page = read_doc("docs/poolwatch.yml.5");
  ASSERT_FALSE(page.empty());
  const auto keys = config_key_paths();
  ASSERT_FALSE(keys.empty());
  for (const auto& key : keys) {
    // go-md2man renders the entry's term `key` as bold code at the start of a line.
    EXPECT_NE(page.find("\n\\fB\\fC" + key + "\\fR ("), std::string::npos)
        << key << " has no entry in docs/poolwatch.yml.5 (run docs/man/build.sh)";
  }
}

TEST(ManPage, DaemonManPageNamesTheConfigPage) {
  const std::string page = read_doc("docs/poolwatch.8");
  EXPECT_NE(page.find(".TH POOLWATCH 8 "), std::string::npos);
  EXPECT_NE(page.find("\\fBpoolwatch.yml\\fP(5)"), std::string::npos);
}

}  // namespace
}  // namespace poolwatch
