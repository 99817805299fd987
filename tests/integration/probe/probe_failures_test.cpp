// Transport-level failures, deadlines, TLS verification and the fail_count idiom.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::HasSubstr;
namespace asio = boost::asio;

namespace {

// One plain IMAP probe of 127.0.0.1:`port`, run to its end.
std::optional<ProbeOutcome> probe_local_port(asio::io_context& io, ProbeRunner& runner,
                                             std::uint16_t port) {
  std::optional<ProbeOutcome> outcome;
  asio::co_spawn(
      io,
      runner.run({make_ip_address("127.0.0.1"), "", {Protocol::imap, port, TlsMode::plain}},
                 std::nullopt, Seconds{5}),
      [&outcome](std::exception_ptr, ProbeOutcome o) { outcome = std::move(o); });
  io.restart();
  io.run();
  return outcome;
}

}  // namespace

TEST(ProbeFailures, ConnectRefused) {
  std::uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = acceptor.local_endpoint().port();
  }
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), ProbeConfig{});
  const auto outcome = probe_local_port(io, runner, closed_port);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->failure, FailureClass::connect_refused);
  EXPECT_THAT(outcome->reason, HasSubstr("refused"));
}

TEST(ProbeFailures, EndlessLineIsProtocolErrorNotUnboundedBuffering) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::endless_line));
  auto config = probe_config_for(server);
  config.max_line = 1024;
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("longer than 1024 bytes"));
}

TEST(ProbeFailures, ByteCapPerDialogue) {
  FakeMailServer server(fake_options(Protocol::imap));
  auto config = probe_config_for(server);
  config.max_bytes = 20;  // the greeting alone is longer
  const auto outcome = probe_once(server, config, fake_account());
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("more than 20 bytes"));
}

TEST(ProbeFailures, SlowDripTimesOutWaitingForGreeting) {
  for (auto protocol : {Protocol::imap, Protocol::pop3, Protocol::lmtp}) {
    FakeMailServer server(fake_options(protocol, FakeBehaviour::slow_drip));
    const auto outcome = probe_once(server, probe_config_for(server), fake_account(), Seconds{0.5});
    EXPECT_EQ(outcome.failure, FailureClass::timeout);
    EXPECT_THAT(outcome.reason, HasSubstr("timeout after 0.5 s waiting for greeting"));
  }
}

TEST(ProbeFailures, NeverAnsweringServerTimesOut) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  const auto outcome = probe_once(server, probe_config_for(server), fake_account(), Seconds{0.3});
  EXPECT_EQ(outcome.failure, FailureClass::timeout);
  EXPECT_THAT(outcome.reason, HasSubstr("greeting"));
}

TEST(ProbeFailures, NeverAnsweringTlsServerTimesOutInHandshake) {
  FakeMailServer server(
      fake_options(Protocol::imap, FakeBehaviour::never_answer, TlsMode::implicit));
  const auto outcome = probe_once(server, probe_config_for(server), fake_account(), Seconds{0.3});
  EXPECT_EQ(outcome.failure, FailureClass::timeout);
  EXPECT_THAT(outcome.reason, HasSubstr("TLS handshake"));
}

TEST(ProbeFailures, WrongCertificateNameIsTlsVerify) {
  for (auto tls : {TlsMode::implicit, TlsMode::starttls}) {
    auto options = fake_options(Protocol::imap, FakeBehaviour::normal, tls);
    options.wrong_certificate = true;
    FakeMailServer server(options);
    const auto outcome = probe_once(server, probe_config_for(server), fake_account());
    EXPECT_EQ(outcome.failure, FailureClass::tls_verify) << outcome.reason;
    EXPECT_THAT(outcome.reason, HasSubstr("127.0.0.1"));
    // No login was attempted over the unverified connection.
    EXPECT_EQ(server.received().size(), tls == TlsMode::starttls ? 1u : 0u);
  }
}

TEST(ProbeFailures, UntrustedCaIsTlsVerifyAndNoVerifyAcceptsIt) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit));
  auto config = probe_config_for(server);
  config.tls.ca_file.clear();
  config.tls.ca_dir = "/nonexistent-ca-dir";  // trust nothing
  EXPECT_EQ(probe_once(server, config, fake_account()).failure, FailureClass::tls_verify);
  config.tls.verify_peer = false;
  EXPECT_TRUE(probe_once(server, config, fake_account()).ok());
}

TEST(ProbeFailures, HostnameVerificationWithTemplateAndPtr) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit));
  auto config = probe_config_for(server);
  config.tls.verify_name = VerifyName::hostname;
  config.tls.name_template = "%{backend_host}.test";  // probe_once names the host "backend1"
  EXPECT_TRUE(probe_once(server, config, fake_account()).ok());
  config.tls.name_template = "%{backend_host}.elsewhere";
  const auto wrong = probe_once(server, config, fake_account());
  EXPECT_EQ(wrong.failure, FailureClass::tls_verify);
  EXPECT_THAT(wrong.reason, HasSubstr("backend1.elsewhere"));
  // 127.0.0.1 reverse-resolves to localhost, which the certificate names.
  config.tls.verify_name = VerifyName::ptr;
  const auto ptr = probe_once(server, config, fake_account());
  EXPECT_TRUE(ptr.ok()) << ptr.reason;
}

TEST(ProbeFailures, PlainClientAgainstTlsPortIsHandshakeOrProtocolFailure) {
  FakeMailServer server(fake_options(Protocol::imap));
  ProbeConfig config = probe_config_for(server);
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), config);
  std::optional<ProbeOutcome> outcome;
  // Speaking TLS to a plaintext IMAP port: the greeting is not a TLS record.
  asio::co_spawn(
      io,
      runner.run(
          {make_ip_address("127.0.0.1"), "", {Protocol::imap, server.port(), TlsMode::implicit}},
          std::nullopt, Seconds{5}),
      [&outcome](std::exception_ptr, ProbeOutcome o) { outcome = std::move(o); });
  io.run();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->failure, FailureClass::tls_handshake) << outcome->reason;
}

// The fail_count idiom: the fake closes instead of sending reply n; every n before the
// full dialogue must fail cleanly, and the dialogue must succeed once n is past its end.
TEST(ProbeFailures, EveryExchangeCanFailCleanly) {
  struct Case {
    Protocol protocol;
    TlsMode tls;
    int exchanges;  // replies in the full dialogue, greeting included
  };
  // IMAP: greeting STARTTLS CAPABILITY LOGIN LIST SELECT LOGOUT; POP3: greeting STLS USER
  // PASS STAT QUIT; LMTP: greeting LHLO STARTTLS LHLO MAIL RCPT RSET QUIT.
  for (const auto& c :
       {Case{Protocol::imap, TlsMode::starttls, 7}, Case{Protocol::imap, TlsMode::implicit, 5},
        Case{Protocol::pop3, TlsMode::starttls, 6}, Case{Protocol::lmtp, TlsMode::starttls, 8},
        Case{Protocol::lmtp, TlsMode::plain, 6}}) {
    int succeeded_at = 0;
    for (int n = 1; n <= 20 && succeeded_at == 0; ++n) {
      auto options = fake_options(c.protocol, FakeBehaviour::normal, c.tls);
      options.close_at_exchange = n;
      FakeMailServer server(options);
      auto config = probe_config_for(server);
      config.imap_list = config.imap_select = config.pop3_stat = true;
      const auto outcome = probe_once(server, config, fake_account());
      if (outcome.ok()) {
        succeeded_at = n;
      } else {
        EXPECT_EQ(outcome.failure, FailureClass::io_error)
            << to_string(c.protocol) << " n=" << n << ": " << outcome.reason;
        EXPECT_THAT(outcome.reason, HasSubstr("closed by server while waiting for"));
      }
    }
    EXPECT_EQ(succeeded_at, c.exchanges + 1) << to_string(c.protocol) << "/" << to_string(c.tls);
  }
}

namespace {

// While alive, this process can open no descriptor: the soft RLIMIT_NOFILE is lowered
// and every number under it taken, so socket() fails with EMFILE as it does for a
// daemon at its limit. Both are given back on destruction.
class DescriptorsUsedUp {
 public:
  DescriptorsUsedUp() {
    const int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (spare < 0 || ::getrlimit(RLIMIT_NOFILE, &saved_) != 0) return;
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, static_cast<rlim_t>(spare) + 64);
    if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) return;
    lowered_ = true;
    taken_.push_back(spare);
    for (int fd; (fd = ::fcntl(spare, F_DUPFD_CLOEXEC, 0)) >= 0;) taken_.push_back(fd);
    exhausted_ = errno == EMFILE;
  }
  ~DescriptorsUsedUp() {
    for (const int fd : taken_) ::close(fd);
    if (lowered_) ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorsUsedUp(const DescriptorsUsedUp&) = delete;
  DescriptorsUsedUp& operator=(const DescriptorsUsedUp&) = delete;
  bool exhausted() const { return exhausted_; }

 private:
  rlimit saved_{};
  bool lowered_ = false;
  bool exhausted_ = false;
  std::vector<int> taken_;
};

}  // namespace

// The same probe before and while the descriptors are used up: the backend's fault, then
// a local one. No other thread runs meanwhile (no fake server's): one that freed a
// descriptor after the others were taken would hand it to the probe, as most likely a pipe of
// UBSan's on a fake server's thread starting up did in a shuffled sanitizer run.
TEST(ProbeFailures, OutOfDescriptorsIsLocalResourceNotTheBackendsFault) {
  asio::io_context io;
  // Bound and never listening: the port is refused and stays ours.
  asio::ip::tcp::socket unused(io);
  unused.open(asio::ip::tcp::v4());
  unused.bind({asio::ip::make_address("127.0.0.1"), 0});
  const auto port = unused.local_endpoint().port();
  ProbeRunner runner(io.get_executor(), ProbeConfig{});
  const auto before = probe_local_port(io, runner, port);
  ASSERT_TRUE(before);
  ASSERT_EQ(before->failure, FailureClass::connect_refused) << before->reason;

  std::optional<ProbeOutcome> outcome;
  {
    DescriptorsUsedUp used_up;
    ASSERT_TRUE(used_up.exhausted());
    outcome = probe_local_port(io, runner, port);
  }
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->failure, FailureClass::local_resource) << outcome->reason;
  EXPECT_FALSE(outcome->ran());
  EXPECT_THAT(outcome->reason, HasSubstr("Too many open files"));
}
