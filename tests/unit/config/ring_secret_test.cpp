// ring.secret_file: read like the password files, at least 32 bytes, and never echoed.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "poolwatch/config/credentials.hpp"
#include "support/child_process.hpp"

using poolwatch::ConfigError;
using poolwatch::load_ring_secret;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class RingSecret : public ::testing::Test {
 protected:
  // 44 bytes, as `head -c 32 /dev/urandom | base64` makes.
  const std::string secret = "q2V7Yb0QkTn3m4Xw9sLc1PzR8hJd6GfA5eUoKiN+Tb0=";
  // 31 bytes: one short.
  const std::string short_secret = "Xq7-short-ring-secret-012345678";

  // The what() of the ConfigError load_ring_secret must throw; "" fails the test.
  static std::string error_of(const std::string& path) {
    try {
      load_ring_secret(path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "load_ring_secret accepted " << path;
    return {};
  }

  poolwatch::test::TempDir dir;
};

TEST_F(RingSecret, TheFirstLineWithoutItsLineEndIsTheSecret) {
  EXPECT_EQ(load_ring_secret(dir.write("lf", secret + "\n")), secret);
  EXPECT_EQ(load_ring_secret(dir.write("crlf", secret + "\r\nsecond line\n")), secret);
  EXPECT_EQ(load_ring_secret(dir.write("no-lf", secret, 0400)), secret);
  const std::string exactly_32(32, 'k');
  EXPECT_EQ(load_ring_secret(dir.write("32", exactly_32 + "\n")), exactly_32);
}

TEST_F(RingSecret, ShorterThan32BytesIsRefusedWithoutShowingIt) {
  ASSERT_EQ(short_secret.size(), 31u);
  const auto path = dir.write("short", short_secret + "\n" + secret + "\n");
  EXPECT_EQ(error_of(path),
            path +
                ":1: ring.secret_file: the secret (line 1) is 31 bytes; it must be at least 32 "
                "bytes; e.g. `head -c 32 /dev/urandom | base64 > " +
                path + "`");
  EXPECT_THAT(error_of(path), AllOf(Not(HasSubstr(short_secret)), Not(HasSubstr(secret))));
  const auto empty = dir.write("empty", "");
  EXPECT_THAT(error_of(empty), HasSubstr(empty + ":1: ring.secret_file: the secret (line 1) is "
                                                 "empty; it must be at least 32 bytes"));
  EXPECT_THAT(error_of(dir.write("blank-first", "\n" + secret + "\n")), HasSubstr("is empty"));
}

TEST_F(RingSecret, GroupOrWorldAccessIsRefused) {
  for (const unsigned mode : {0644u, 0604u, 0620u}) {
    const auto path = dir.write(fmt::format("mode-{:o}", mode), secret + "\n", mode);
    EXPECT_THAT(error_of(path),
                AllOf(HasSubstr("ring.secret_file: " + path),
                      HasSubstr(fmt::format("by group/others (mode {:04o}): chmod 600 it", mode)),
                      Not(HasSubstr(secret))));
  }
}

// The password files' rule (issue 13, item 13): root:poolwatch 0640 is accepted, a group
// read is refused for any other owner or group.
TEST_F(RingSecret, GroupReadOnlyForRootsFileInPoolwatchsOwnGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file away needs root";
  const auto shared = dir.write("shared", secret + "\n", 0640);
  ASSERT_EQ(::chown(shared.c_str(), 0, ::getegid()), 0);
  EXPECT_EQ(load_ring_secret(shared), secret);
  const auto not_roots = dir.write("not-roots", secret + "\n", 0640);
  ASSERT_EQ(::chown(not_roots.c_str(), 65534, ::getegid()), 0);
  EXPECT_THAT(error_of(not_roots),
              AllOf(HasSubstr("ring.secret_file: " + not_roots + " is readable by group "),
                    Not(HasSubstr(secret))));
  const auto other_group = dir.write("other-group", secret + "\n", 0640);
  ASSERT_EQ(::chown(other_group.c_str(), 0, ::getegid() == 65534 ? 65533 : 65534), 0);
  EXPECT_THAT(error_of(other_group), HasSubstr(" is readable by group "));
}

TEST_F(RingSecret, MissingFileOrNoPathNamesTheKey) {
  const auto path = dir.path() + "/does-not-exist";
  EXPECT_THAT(error_of(path),
              AllOf(HasSubstr("ring.secret_file: cannot open " + path), HasSubstr("No such file")));
  EXPECT_EQ(error_of(""), "ring.secret_file: is empty");
  EXPECT_THAT(error_of(dir.path()), HasSubstr(dir.path() + " is not a regular file"));
}

TEST_F(RingSecret, NoErrorMessageContainsTheSecret) {
  const std::vector<std::string> refused = {
      dir.write("world", secret + "\n", 0644),
      dir.write("big", secret + "\n" + std::string(70000, '#')),
      dir.write("short", secret.substr(0, 20) + "\n" + secret + "\n"),
  };
  for (const auto& path : refused) {
    const auto message = error_of(path);
    EXPECT_THAT(message, AllOf(HasSubstr("ring.secret_file"), Not(HasSubstr(secret)),
                               Not(HasSubstr(secret.substr(0, 20)))))
        << path;
  }
}
