#include "poolwatch/health/state_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace poolwatch;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kSavedAt = 1'767'225'600;

class StateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "poolwatch-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "state.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_raw(const std::string& text) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  std::string read_raw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> dir_entries() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  std::string path_;
};

const std::vector<OwnedHost> kHosts{
    {make_ip_address("10.0.0.5"), kSavedAt - 60,
     "imap:143: 8/10 rapid polls failed, last: timeout"},
    {make_ip_address("2001:db8::7"), kSavedAt,
     "tab\there, newline\nthere, CR\r, backslash \\t literal", true},
    {make_ip_address("10.0.0.9"), 0, ""},
};

}  // namespace

TEST(StateFormat, ExactText) {
  EXPECT_EQ(format_state({}), "poolwatch-state 2\n");
  EXPECT_EQ(format_state({{make_ip_address("10.0.0.5"), 42, "a\tb\\c\nd"},
                          {make_ip_address("10.0.0.6"), 43, "x", true}}),
            "poolwatch-state 2\n10.0.0.5\t42\tdone\ta\\tb\\\\c\\nd\n"
            "10.0.0.6\t43\tpending\tx\n");
}

TEST(StateFormat, Version1IsStillReadWithItsFlushesDone) {
  const auto parsed = parse_state("poolwatch-state 1\n10.0.0.5\t42\ta\\tb\n10.0.0.6\t43\t\n");
  EXPECT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.hosts, (std::vector<OwnedHost>{{make_ip_address("10.0.0.5"), 42, "a\tb"},
                                                  {make_ip_address("10.0.0.6"), 43, ""}}));
}

TEST(StateFormat, EscapeRoundTripAndRejectsBadEscapes) {
  for (const std::string text : {"", "plain", "\t\n\r\\", "\\t", "trailing\\"})
    EXPECT_EQ(unescape_state_field(escape_state_field(text)), text);
  EXPECT_FALSE(unescape_state_field("\\x"));
  EXPECT_FALSE(unescape_state_field("ends\\"));
  EXPECT_FALSE(unescape_state_field("raw\ttab"));
}

TEST(StateFormat, ParseRejectsEveryKindOfDamage) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "empty file"},
      {"poolwatch-state 1", "the last line has no newline (cut short?)"},
      {"poolwatch-state 1\n10.0.0.1\t5\tcut", "the last line has no newline (cut short?)"},
      {"{\"json\": true}\n", "not a poolwatch state file (line 1 is not \"poolwatch-state 2\")"},
      {"poolwatch-state 3\n",
       "unsupported version (this poolwatch reads \"poolwatch-state 2\" and \"poolwatch-state "
       "1\")"},
      {"poolwatch-state 1\n10.0.0.1\t5\n", "line 2: 2 fields instead of 3"},
      {"poolwatch-state 1\n10.0.0.1\t5\tx\ty\n", "line 2: 4 fields instead of 3"},
      {"poolwatch-state 1\n\n", "line 2: 1 fields instead of 3"},
      {"poolwatch-state 2\n10.0.0.1\t5\tx\n", "line 2: 3 fields instead of 4"},
      {"poolwatch-state 2\n10.0.0.1\t5\tdone\tx\ty\n", "line 2: 5 fields instead of 4"},
      {"poolwatch-state 2\n10.0.0.1\t5\tmaybe\tx\n", "line 2: bad flush state (pending or done)"},
      {"poolwatch-state 2\n10.0.0.1\t5\t\tx\n", "line 2: bad flush state (pending or done)"},
      {"poolwatch-state 1\nnot-an-ip\t5\tx\n", "line 2: bad address"},
      {"poolwatch-state 1\n10.0.0.1\t-5\tx\n", "line 2: bad time"},
      {"poolwatch-state 1\n10.0.0.1\t5s\tx\n", "line 2: bad time"},
      {"poolwatch-state 1\n10.0.0.1\t5\tbad \\q\n", "line 2: bad escape in the reason"},
      {"poolwatch-state 1\n10.0.0.1\t5\tx\n10.0.0.1\t6\ty\n", "line 3: 10.0.0.1 listed twice"},
      {"poolwatch-state 1\n10.0.0.1\t5\t" + std::string(70000, 'r') + "\n",
       "line 2: longer than 65536 bytes"},
  };
  for (const auto& [text, error] : cases) {
    const auto parsed = parse_state(text);
    EXPECT_EQ(parsed.error, error) << text.substr(0, 80);
    EXPECT_TRUE(parsed.hosts.empty());
  }
}

TEST_F(StateFile, RoundTrip) {
  ASSERT_EQ(save_state_file(path_, kHosts), std::nullopt);
  const auto loaded = load_state_file(path_, kSavedAt);
  EXPECT_EQ(loaded.error, "");
  EXPECT_EQ(loaded.hosts, kHosts);
  // Only the state file is left: no temporary file.
  EXPECT_EQ(dir_entries(), (std::vector<std::string>{"state.json"}));
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST_F(StateFile, SaveReplacesThePreviousContent) {
  ASSERT_EQ(save_state_file(path_, kHosts), std::nullopt);
  ASSERT_EQ(save_state_file(path_, {}), std::nullopt);
  EXPECT_EQ(read_raw(path_), "poolwatch-state 2\n");
  EXPECT_TRUE(load_state_file(path_, kSavedAt).hosts.empty());
}

TEST_F(StateFile, MissingFileIsAnEmptySetWithoutError) {
  const auto loaded = load_state_file(path_, kSavedAt);
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_EQ(loaded.error, "");
  EXPECT_EQ(loaded.moved_aside_to, "");
}

TEST_F(StateFile, CorruptFileIsKeptAsideAndLoadingStartsFresh) {
  const std::string garbage = "poolwatch-state 1\n10.0.0.1\tnot-a-time\tx\n";
  write_raw(garbage);
  const auto loaded = load_state_file(path_, kSavedAt);
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_EQ(loaded.error, "state file " + path_ + " is corrupt: line 2: bad time");
  EXPECT_EQ(loaded.moved_aside_to, path_ + ".corrupt-" + std::to_string(kSavedAt));
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_EQ(read_raw(loaded.moved_aside_to), garbage);
  // The next save works normally.
  ASSERT_EQ(save_state_file(path_, kHosts), std::nullopt);
  EXPECT_EQ(load_state_file(path_, kSavedAt + 1).hosts, kHosts);
}

TEST_F(StateFile, BinaryGarbageIsCorruptNotACrash) {
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 7919) & 0xff);
  write_raw(bytes);
  const auto loaded = load_state_file(path_, kSavedAt);
  EXPECT_NE(loaded.error, "");
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_TRUE(fs::exists(loaded.moved_aside_to));
}

TEST_F(StateFile, UnwritableLocationIsAnErrorValue) {
  const std::string in_missing_dir = (dir_ / "no-such-dir" / "state").string();
  const auto error = save_state_file(in_missing_dir, kHosts);
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("state file " + in_missing_dir + ": cannot create"), std::string::npos)
      << *error;
  EXPECT_NE(error->find("No such file or directory"), std::string::npos) << *error;

  write_raw("a regular file");
  const std::string under_a_file = path_ + "/state";
  EXPECT_TRUE(save_state_file(under_a_file, kHosts));
}

TEST_F(StateFile, RenameOntoADirectoryFailsAndLeavesNoTemporaryFile) {
  fs::create_directory(path_);
  fs::create_directory(fs::path(path_) / "occupied");
  const auto error = save_state_file(path_, kHosts);
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("cannot rename"), std::string::npos) << *error;
  EXPECT_EQ(dir_entries(), (std::vector<std::string>{"state.json"}));
}

TEST_F(StateFile, UnreadableFileIsAnErrorButNotMovedAside) {
  fs::create_directory(path_);
  const auto loaded = load_state_file(path_, kSavedAt);
  EXPECT_TRUE(loaded.hosts.empty());
  EXPECT_EQ(loaded.error, "state file " + path_ + ": is a directory, not a regular file");
  EXPECT_EQ(loaded.moved_aside_to, "");
  EXPECT_TRUE(fs::is_directory(path_));
}
