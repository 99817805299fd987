#include "poolwatch/config/credentials.hpp"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/log_capture.hpp"

namespace {

namespace fs = std::filesystem;
using poolwatch::Account;
using poolwatch::ConfigError;
using poolwatch::CredentialsConfig;
using poolwatch::CredentialStore;
using poolwatch::make_ip_address;
using poolwatch::Secret;
using poolwatch::test::LogCapture;
using testing::AllOf;
using testing::HasSubstr;
using testing::Not;

constexpr const char* password = "S3cr3t-hunter2";
constexpr const char* other_password = "0th3r-pa55";

class Credentials : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "poolwatch-creds-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write_file(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::string path = (dir_ / name).string();
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  // The what() of the ConfigError load() must throw; an empty string fails the test.
  static std::string load_error(const CredentialsConfig& config) {
    try {
      CredentialStore::load(config);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "load() accepted the configuration";
    return {};
  }

  CredentialsConfig with_test_accounts(const std::string& yaml) {
    CredentialsConfig config;
    config.test_accounts = write_file("testaccounts.yml", yaml);
    return config;
  }

  fs::path dir_;
};

const auto ip1 = make_ip_address("10.2.2.75");
const auto ip2 = make_ip_address("10.2.2.76");
const auto ip3 = make_ip_address("10.2.2.77");

Account account(std::string user, std::string secret, std::string master = {}) {
  return Account{std::move(user), Secret(std::move(secret)), std::move(master)};
}

// --- test accounts (dovemon) -----------------------------------------------------------

TEST_F(Credentials, TestAccountsNestedFormGivesEachBackendItsAccount) {
  const auto store = CredentialStore::load(
      with_test_accounts("10.2.2.75:\n  username: user0001\n  password: " + std::string(password) +
                         "\n10.2.2.76:\n  username: user0002\n  password: '0123'\n"));
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("user0001", password));
  EXPECT_EQ(store.account_for(ip2, "10.2.2.76"), account("user0002", "0123"));
  EXPECT_EQ(store.account_for(ip3, "10.2.2.77"), std::nullopt);
  EXPECT_EQ(store.account_count(), 2u);
}

TEST_F(Credentials, TestAccountMasterUserCarriesTheMasterPassword) {
  const auto store = CredentialStore::load(with_test_accounts(
      "10.2.2.75:\n  username: user0001\n  masteruser: masteruser\n  password: masterpassword\n"));
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"),
            account("user0001", "masterpassword", "masteruser"));
}

TEST_F(Credentials, TestAccountsAcceptIpv6KeysAndTemplates) {
  const auto store = CredentialStore::load(
      with_test_accounts("\"2001:db8::10\":\n  username: probe-%{backend_ip}\n  password: pw\n"));
  EXPECT_EQ(store.account_for(make_ip_address("2001:db8::10"), "2001:db8::10"),
            account("probe-2001:db8::10", "pw"));
}

TEST_F(Credentials, EmptyTestAccountsFileHasNoAccounts) {
  const auto store = CredentialStore::load(with_test_accounts("# nothing yet\n"));
  EXPECT_EQ(store.account_count(), 0u);
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), std::nullopt);
}

TEST_F(Credentials, FlatFormFromThePublishedExamplesIsRejectedWithAHint) {
  const auto error = load_error(with_test_accounts(
      "10.2.2.75:\nusername: user0001\npassword: " + std::string(password) + "\n"));
  EXPECT_THAT(error, AllOf(HasSubstr("testaccounts.yml:1: 10.2.2.75"), HasSubstr("indented"),
                           Not(HasSubstr(password))));
}

struct MalformedCase {
  const char* yaml;
  const char* expected;  // key, line and reason
};

TEST_F(Credentials, MalformedTestAccountsNameKeyAndLine) {
  const std::vector<MalformedCase> cases = {
      {"10.2.2.75:\n  username: u\n  password: a: b\n",
       "testaccounts.yml:3: credentials.test_accounts: YAML syntax error"},
      {"10.2.2.75:\n  username: u\n", "testaccounts.yml:1: 10.2.2.75: missing password"},
      {"10.2.2.75:\n  password: p\n", "testaccounts.yml:1: 10.2.2.75: missing username"},
      {"10.2.2.75:\n  username: u\n  password: p\nbackend9:\n  username: u\n  password: p\n",
       "testaccounts.yml:4: backend9: is not an IP address"},
      {"10.2.2.75:\n  username: u\n  pasword: p\n",
       "testaccounts.yml:3: 10.2.2.75: unknown field 'pasword'"},
      {"10.2.2.75: user0001\n", "testaccounts.yml:1: 10.2.2.75: must be a mapping"},
      {"10.2.2.75:\n  username: u\n  password:\n",
       "testaccounts.yml:3: 10.2.2.75: password: is empty"},
      {"10.2.2.75:\n  username: [u]\n  password: p\n",
       "testaccounts.yml:2: 10.2.2.75: username: must be a plain string"},
      {"10.2.2.75:\n  username: probe-%{host}\n  password: p\n",
       "testaccounts.yml:2: 10.2.2.75: username: unknown variable %{host}"},
      {"- 10.2.2.75\n", "testaccounts.yml:1: credentials.test_accounts: must be a mapping"},
      {"10.2.2.75:\n  username: a\n  password: p\n10.2.2.75:\n  username: b\n  password: p\n",
       "testaccounts.yml:4: 10.2.2.75: duplicate entry for this backend (first at line 1)"},
      {"10.2.2.75:\n  username: u\n  password: \"p\\r\\nA1 DELETE INBOX\"\n",
       "testaccounts.yml:3: 10.2.2.75: password: contains a line break"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(load_error(with_test_accounts(c.yaml)), HasSubstr(c.expected)) << c.yaml;
  }
}

// --- credfile (poolmon) ----------------------------------------------------------------

TEST_F(Credentials, CredfileGivesEveryBackendTheSameAccountAndStripsCrLf) {
  CredentialsConfig config;
  config.credfile = write_file("credfile", "probe\r\n" + std::string(password) + "\r\n");
  const auto store = CredentialStore::load(config);
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("probe", password));
  EXPECT_EQ(store.account_for(ip2, "10.2.2.76"), account("probe", password));
  EXPECT_EQ(store.account_count(), 1u);

  config.credfile = write_file("credfile", "probe\n" + std::string(password));  // no final LF
  EXPECT_EQ(CredentialStore::load(config).account_for(ip1, "x"), account("probe", password));
}

TEST_F(Credentials, CredfileProblemsAreClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "credentials.credfile: is empty"},
      {"probe\n", "line 2 (the password) is missing"},
      {"probe", "line 2 (the password) is missing"},
      {"\n" + std::string(password) + "\n",
       "credfile:1: credentials.credfile: the user (line 1): is empty"},
      {"probe\n\n", "credfile:2: credentials.credfile: the password (line 2): is empty"},
      {"probe\n" + std::string(password) + "\nextra\n",
       "credfile:3: credentials.credfile: unexpected line"},
      {"probe-%{nope}\n" + std::string(password) + "\n", "unknown variable %{nope}"},
  };
  for (const auto& [content, expected] : cases) {
    CredentialsConfig config;
    config.credfile = write_file("credfile", content);
    EXPECT_THAT(load_error(config), AllOf(HasSubstr(expected), Not(HasSubstr(password))))
        << content;
  }
  CredentialsConfig trailing_blank;
  trailing_blank.credfile = write_file("credfile", "probe\n" + std::string(password) + "\n\n\n");
  EXPECT_NO_THROW(CredentialStore::load(trailing_blank));
}

// --- default user ----------------------------------------------------------------------

TEST_F(Credentials, DefaultUserTemplateUsesFirstLineOfPasswordFile) {
  CredentialsConfig config;
  config.default_user = "probe-%{backend_host}";
  config.default_password_file =
      write_file("password", std::string(password) + "\r\nignored second line\n");
  const auto store = CredentialStore::load(config);
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("probe-10.2.2.75", password));
  EXPECT_EQ(store.account_for(ip2, "be2.example"), account("probe-be2.example", password));
}

TEST_F(Credentials, DefaultUserProblemsAreClearErrors) {
  CredentialsConfig no_file;
  no_file.default_user = "probe";
  EXPECT_THAT(load_error(no_file), HasSubstr("credentials.default_password_file"));

  CredentialsConfig no_user;
  no_user.default_password_file = write_file("password", std::string(password) + "\n");
  EXPECT_THAT(load_error(no_user), HasSubstr("credentials.default_user is not"));

  CredentialsConfig empty_line;
  empty_line.default_user = "probe";
  empty_line.default_password_file = write_file("password", "\n" + std::string(password));
  EXPECT_THAT(load_error(empty_line),
              AllOf(HasSubstr("password:1:"), HasSubstr("is empty"), Not(HasSubstr(password))));

  CredentialsConfig bad_template;
  bad_template.default_user = "probe-%{backend}";
  bad_template.default_password_file = no_user.default_password_file;
  EXPECT_THAT(load_error(bad_template),
              AllOf(HasSubstr("credentials.default_user"), HasSubstr("%{backend}")));
}

// --- master user, precedence, unknown backends ----------------------------------------

TEST_F(Credentials, MasterUserAppliesOnlyToAccountsWithoutOne) {
  auto config = with_test_accounts(
      "10.2.2.75:\n  username: u1\n  masteruser: own-master\n  password: m1\n"
      "10.2.2.76:\n  username: u2\n  password: m2\n");
  config.default_user = "probe-%{backend_host}";
  config.default_password_file = write_file("password", "m3\n");
  config.master_user = "poolwatch-master";
  const auto store = CredentialStore::load(config);
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("u1", "m1", "own-master"));
  EXPECT_EQ(store.account_for(ip2, "10.2.2.76"), account("u2", "m2", "poolwatch-master"));
  EXPECT_EQ(store.account_for(ip3, "10.2.2.77"),
            account("probe-10.2.2.77", "m3", "poolwatch-master"));
}

TEST_F(Credentials, TestAccountBeatsCredfileBeatsDefaultUser) {
  auto config = with_test_accounts("10.2.2.75:\n  username: per-backend\n  password: p1\n");
  config.credfile = write_file("credfile", "shared\np2\n");
  config.default_user = "probe-%{backend_ip}";
  config.default_password_file = write_file("password", "p3\n");
  const auto all = CredentialStore::load(config);
  EXPECT_EQ(all.account_for(ip1, "10.2.2.75"), account("per-backend", "p1"));
  EXPECT_EQ(all.account_for(ip2, "10.2.2.76"), account("shared", "p2"));
  EXPECT_EQ(all.account_count(), 2u);

  config.credfile.clear();
  const auto without_credfile = CredentialStore::load(config);
  EXPECT_EQ(without_credfile.account_for(ip1, "10.2.2.75"), account("per-backend", "p1"));
  EXPECT_EQ(without_credfile.account_for(ip2, "10.2.2.76"), account("probe-10.2.2.76", "p3"));
}

TEST_F(Credentials, ProbeWithoutAccountFollowsPollUnknownBackends) {
  CredentialsConfig config;
  EXPECT_TRUE(CredentialStore::load(config).probe_without_account());
  EXPECT_EQ(CredentialStore::load(config).account_for(ip1, "10.2.2.75"), std::nullopt);
  config.poll_unknown_backends = false;
  EXPECT_FALSE(CredentialStore::load(config).probe_without_account());
}

// --- file checks -----------------------------------------------------------------------

class Permissions : public Credentials, public testing::WithParamInterface<mode_t> {};

TEST_P(Permissions, GroupOrWorldAccessIsRefusedForEveryFile) {
  const mode_t mode = GetParam();
  const std::string mode_text = fmt::format("(mode {:04o}): chmod 600 it", mode);

  CredentialsConfig credfile;
  credfile.credfile = write_file("credfile", "probe\n" + std::string(password) + "\n", mode);
  EXPECT_THAT(load_error(credfile),
              AllOf(HasSubstr(credfile.credfile + " is readable by group/others"),
                    HasSubstr(mode_text), Not(HasSubstr(password))));

  CredentialsConfig accounts;
  accounts.test_accounts = write_file(
      "testaccounts.yml", "10.2.2.75:\n  username: u\n  password: " + std::string(password), mode);
  EXPECT_THAT(load_error(accounts), AllOf(HasSubstr(accounts.test_accounts), HasSubstr(mode_text)));

  CredentialsConfig default_user;
  default_user.default_user = "probe";
  default_user.default_password_file = write_file("password", password, mode);
  EXPECT_THAT(load_error(default_user),
              AllOf(HasSubstr(default_user.default_password_file), HasSubstr(mode_text)));
}

INSTANTIATE_TEST_SUITE_P(Credentials, Permissions, testing::Values(0604, 0644, 0664));

// Issue 13, item 13: a file root owns, in poolwatch's own group, may be read by that group
// (root:poolwatch 0640): the common way to give a service account a secret it can read but
// not change, which the man page promised and the code refused.
TEST_F(Credentials, RootOwnedInPoolwatchsOwnGroupMayBeGroupReadable) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to root needs root";
  for (const mode_t mode : {0640, 0440}) {
    CredentialsConfig config;
    config.credfile = write_file(fmt::format("credfile-{:o}", mode), "probe\npw\n", mode);
    ASSERT_EQ(::chown(config.credfile.c_str(), 0, ::getegid()), 0);
    EXPECT_EQ(CredentialStore::load(config).account_for(ip1, "x"), account("probe", "pw"))
        << std::oct << mode;
  }
}

// Group read shares the secret with every member of the group: only root's file in
// poolwatch's own group may allow it, and then only reading.
TEST_F(Credentials, GroupReadIsRefusedForAnyOtherOwnerOrGroup) {
  const bool root = ::geteuid() == 0;
  const gid_t own = ::getegid();
  const gid_t other_group = own == 65534 ? 65533 : 65534;
  struct Case {
    uid_t owner;
    gid_t group;
    mode_t mode;
    std::string expected;
  };
  std::vector<Case> cases{
      // Not root's: as the test's own user when it cannot give the file away.
      {root ? 65534u : ::geteuid(), own, 0640, "is readable by group "},
  };
  if (root) {
    cases.push_back({0, other_group, 0640, "is readable by group "});
    cases.push_back({0, own, 0660, "is writable by group/others (mode 0660)"});
    cases.push_back({0, own, 0644, "is readable by group/others (mode 0644)"});
  }
  for (const auto& c : cases) {
    CredentialsConfig config;
    config.credfile = write_file("credfile", "probe\n" + std::string(password) + "\n", c.mode);
    if (root) {
      ASSERT_EQ(::chown(config.credfile.c_str(), c.owner, c.group), 0);
    }
    EXPECT_THAT(load_error(config),
                AllOf(HasSubstr("credentials.credfile: " + config.credfile + " " + c.expected),
                      HasSubstr("chmod 600 it"), Not(HasSubstr(password))))
        << "owner " << c.owner << " group " << c.group << " mode " << std::oct << c.mode;
  }
}

TEST_F(Credentials, OwnerOnlyModesAreAccepted) {
  for (const mode_t mode : {0600, 0400}) {
    CredentialsConfig config;
    config.credfile = write_file(fmt::format("credfile-{:o}", mode), "probe\npw\n", mode);
    EXPECT_EQ(CredentialStore::load(config).account_for(ip1, "x"), account("probe", "pw"))
        << std::oct << mode;
  }
}

TEST_F(Credentials, GroupWritableIsRefusedToo) {
  CredentialsConfig config;
  config.credfile = write_file("credfile", "probe\npw\n", 0620);
  EXPECT_THAT(load_error(config), HasSubstr("is writable by group/others (mode 0620)"));
}

TEST_F(Credentials, MissingFileNamesKeyAndPath) {
  CredentialsConfig config;
  config.credfile = (dir_ / "does-not-exist").string();
  EXPECT_THAT(load_error(config),
              AllOf(HasSubstr("credentials.credfile: cannot open " + config.credfile),
                    HasSubstr("No such file")));
}

TEST_F(Credentials, DirectoriesAndFifosAreNotRegularFiles) {
  CredentialsConfig directory;
  directory.test_accounts = (dir_ / "subdir").string();
  ASSERT_EQ(::mkdir(directory.test_accounts.c_str(), 0700), 0);
  EXPECT_THAT(load_error(directory), HasSubstr(directory.test_accounts + " is not a regular file"));

  // Opening a FIFO without a writer would block; it must fail at once instead.
  CredentialsConfig fifo;
  fifo.credfile = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.credfile.c_str(), 0600), 0);
  EXPECT_THAT(load_error(fifo), HasSubstr(fifo.credfile + " is not a regular file"));
}

TEST_F(Credentials, OversizedFileIsRefused) {
  CredentialsConfig config;
  config.credfile = write_file("credfile", "probe\npw\n" + std::string(70000, '\n'));
  EXPECT_THAT(load_error(config), HasSubstr("is larger than"));
}

TEST_F(Credentials, UnreadableFileIsAClearError) {
  CredentialsConfig config;
  config.credfile = write_file("credfile", "probe\n" + std::string(password) + "\n");
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(config.credfile.c_str(), 0), 0);
    EXPECT_THAT(load_error(config),
                AllOf(HasSubstr("cannot open " + config.credfile), HasSubstr("Permission denied")));
    return;
  }
  // Root reads any file, so the load runs in a child that has become nobody.
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string message = "load() accepted the file";
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      message = "could not drop privileges";
    } else {
      try {
        CredentialStore::load(config);
      } catch (const ConfigError& e) {
        message = e.what();
      }
    }
    const auto written = ::write(pipe_fds[1], message.data(), message.size());
    ::_exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char chunk[512];
  for (ssize_t got; (got = ::read(pipe_fds[0], chunk, sizeof chunk)) > 0;) {
    message.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THAT(message, AllOf(HasSubstr("credentials.credfile: cannot open " + config.credfile),
                             HasSubstr("Permission denied")));
}

// --- secrets never leak ------------------------------------------------------------------

TEST_F(Credentials, NoErrorMessageContainsThePassword) {
  const std::string pw = password;
  const std::vector<std::string> broken_yaml = {
      "10.2.2.75:\n  username: u\n  password: \"" + pw + "\\q\"\n",  // bad escape after it
      "10.2.2.75:\n  username: u\n  password: " + pw + "\n  bogus: " + pw + "\n",
      "10.2.2.75:\n  username: u\n  password: " + pw + "\n  username: [" + pw + "\n",
      "10.2.2.75:\n  username: u\n  password: \"" + pw + "\\x00\"\n",
      pw + ":\n  username: u\n  password: p\n",  // a password pasted as the key is still a key
  };
  for (std::size_t i = 0; i + 1 < broken_yaml.size(); ++i) {
    const auto error = load_error(with_test_accounts(broken_yaml[i]));
    EXPECT_THAT(error, AllOf(HasSubstr("testaccounts.yml:"), Not(HasSubstr(pw)))) << broken_yaml[i];
  }
  // yaml-cpp appends the offending character of a bad escape, which would be part of the
  // password; only its fixed description may remain.
  EXPECT_THAT(load_error(with_test_accounts(broken_yaml.front())),
              AllOf(HasSubstr("testaccounts.yml:3: credentials.test_accounts: YAML syntax error: "
                              "unknown escape character"),
                    Not(HasSubstr("character: q"))));
  const auto key_error = load_error(with_test_accounts(broken_yaml.back()));
  EXPECT_THAT(key_error, HasSubstr("is not an IP address"));
}

// --- reload ------------------------------------------------------------------------------

TEST_F(Credentials, ReloadPicksUpChangedFiles) {
  CredentialsConfig config;
  config.credfile = write_file("credfile", "old-user\n" + std::string(password) + "\n");
  auto store = CredentialStore::load(config);
  write_file("credfile", "new-user\n" + std::string(other_password) + "\n");
  LogCapture log;
  EXPECT_TRUE(poolwatch::reload_credentials(store, config));
  EXPECT_EQ(store.account_for(ip1, "x"), account("new-user", other_password));
  EXPECT_THAT(log.text(), AllOf(HasSubstr("credentials reloaded"), Not(HasSubstr(password)),
                                Not(HasSubstr(other_password))));
}

TEST_F(Credentials, FailedReloadKeepsPreviousAccountsAndLogsWhyWithoutSecrets) {
  auto config =
      with_test_accounts("10.2.2.75:\n  username: u1\n  password: " + std::string(password) + "\n");
  auto store = CredentialStore::load(config);
  const std::vector<std::string> breakages = {
      "10.2.2.75:\n  username: u1\n  password: " + std::string(other_password) + "\n  x: [\n",
      "10.2.2.75:\n  username: u1\n",
  };
  for (const auto& broken : breakages) {
    write_file("testaccounts.yml", broken);
    LogCapture log;
    EXPECT_FALSE(poolwatch::reload_credentials(store, config));
    EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("u1", password));
    EXPECT_EQ(store.account_count(), 1u);
    EXPECT_THAT(log.text(), AllOf(HasSubstr("keeping the previous"), HasSubstr("testaccounts.yml:"),
                                  Not(HasSubstr(password)), Not(HasSubstr(other_password))));
  }
  ASSERT_EQ(::chmod(config.test_accounts.c_str(), 0644), 0);
  LogCapture log;
  EXPECT_FALSE(poolwatch::reload_credentials(store, config));
  EXPECT_THAT(log.text(), HasSubstr("mode 0644"));
  EXPECT_EQ(store.account_for(ip1, "10.2.2.75"), account("u1", password));
}

}  // namespace
