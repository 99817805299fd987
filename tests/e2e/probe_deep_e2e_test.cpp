// The destructive deep checks against a real Dovecot 2.3 backend: IMAP APPEND+EXPUNGE,
// LMTP delivery followed by POP3 DELE. The probe account's INBOX must end as it started,
// and mail that is not a probe message must survive.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fstream>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/dovecot_lab.hpp"

using namespace poolwatch;
using poolwatch::test::DovecotLab;
namespace asio = boost::asio;

namespace {

constexpr const char* backend = "127.0.1.1";
constexpr const char* user = "probe-127.0.1.1";

class RealDovecotDeepChecks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lab_ = DovecotLab::start({.backends = 1, .fast_auth_failures = true});
  }
  static void TearDownTestSuite() { lab_.reset(); }

  void SetUp() override {
    // Each test starts from an empty INBOX.
    const auto [code, out] = doveadm(fmt::format("expunge -u {} mailbox INBOX all", user));
    ASSERT_EQ(code, 0) << out;
    ASSERT_EQ(messages(), 0);
  }

  static std::pair<int, std::string> doveadm(const std::string& arguments) {
    return DovecotLab::run(
        fmt::format("doveadm -c {}/etc/backend1.conf {}", lab_->dir(), arguments));
  }

  static int messages() {
    const auto [code, out] = doveadm(fmt::format("mailbox status -u {} messages INBOX", user));
    EXPECT_EQ(code, 0) << out;
    const auto at = out.find("messages=");
    if (code != 0 || at == std::string::npos) return -1;
    return std::stoi(out.substr(at + 9));
  }

  static int messages_with_subject(const std::string& subject) {
    const auto [code, out] =
        doveadm(fmt::format("search -u {} mailbox INBOX subject \"{}\"", user, subject));
    EXPECT_EQ(code, 0) << out;
    return static_cast<int>(std::count(out.begin(), out.end(), '\n'));
  }

  // A message that is not a probe message, saved straight into the INBOX.
  static void save_other_mail() {
    const auto path = fmt::format("{}/other-mail-{}.eml", lab_->dir(), getpid());
    {
      std::ofstream file(path, std::ios::binary);
      file << "From: <alice@example.org>\r\nTo: <" << user
           << ">\r\nSubject: quarterly report\r\n\r\nhello\r\n";
    }
    const auto [code, out] = doveadm(fmt::format("save -u {} -m INBOX < {}", user, path));
    ASSERT_EQ(code, 0) << out;
    std::remove(path.c_str());
  }

  ProbeOutcome probe(Protocol protocol, std::uint16_t port) {
    ProbeConfig config;
    config.imap_append_expunge = true;
    config.pop3_dele = true;
    config.lmtp_deliver = true;
    ProbeRunner runner(io_.get_executor(), config);
    ProbeTarget target{make_ip_address(backend), backend, PortSpec{protocol, port, TlsMode::plain}};
    std::optional<ProbeOutcome> result;
    asio::co_spawn(io_, runner.run(target, Account{user, Secret("probepass"), ""}, Seconds(10)),
                   [&result](std::exception_ptr error, ProbeOutcome outcome) {
                     if (error) std::rethrow_exception(error);
                     result = std::move(outcome);
                   });
    io_.restart();
    io_.run();
    return std::move(result.value());
  }

  static std::string transcript(const ProbeOutcome& outcome) {
    std::string text;
    for (const auto& line : outcome.transcript) text += line + "\n";
    return text;
  }

  asio::io_context io_;
  static std::unique_ptr<DovecotLab> lab_;
};

std::unique_ptr<DovecotLab> RealDovecotDeepChecks::lab_;

}  // namespace

TEST_F(RealDovecotDeepChecks, ImapAppendExpungeThreeTimesLeavesTheInboxEmpty) {
  for (int i = 0; i < 3; ++i) {
    const auto outcome = probe(Protocol::imap, 143);
    ASSERT_TRUE(outcome.ok()) << outcome.reason << "\n" << transcript(outcome);
  }
  EXPECT_EQ(messages(), 0);
}

TEST_F(RealDovecotDeepChecks, LmtpDeliveryThenPop3DeleKeepsOtherMail) {
  save_other_mail();
  ASSERT_EQ(messages(), 1);
  const auto delivered = probe(Protocol::lmtp, 24);
  ASSERT_TRUE(delivered.ok()) << delivered.reason << "\n" << transcript(delivered);
  EXPECT_EQ(messages(), 2);
  EXPECT_EQ(messages_with_subject("poolwatch-probe"), 1);
  const auto cleaned = probe(Protocol::pop3, 110);
  ASSERT_TRUE(cleaned.ok()) << cleaned.reason << "\n" << transcript(cleaned);
  EXPECT_EQ(messages(), 1);
  EXPECT_EQ(messages_with_subject("quarterly report"), 1);
  EXPECT_EQ(messages_with_subject("poolwatch-probe"), 0);
}

TEST_F(RealDovecotDeepChecks, ImapCleanupRemovesDeliveredProbeMessagesAndKeepsOtherMail) {
  save_other_mail();
  const auto delivered = probe(Protocol::lmtp, 24);
  ASSERT_TRUE(delivered.ok()) << delivered.reason;
  ASSERT_EQ(messages(), 2);
  const auto cleaned = probe(Protocol::imap, 143);
  ASSERT_TRUE(cleaned.ok()) << cleaned.reason << "\n" << transcript(cleaned);
  EXPECT_EQ(messages(), 1);
  EXPECT_EQ(messages_with_subject("quarterly report"), 1);
}
