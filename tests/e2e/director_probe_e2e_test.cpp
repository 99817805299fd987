// DirectorClient and ProbeRunner in-process against a real Dovecot director and real
// Dovecot backends (imapd, pop3d, lmtpd): every protocol over plain, TLS and STARTTLS.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <sstream>

#include "poolwatch/director/director_client.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "support/dovecot_lab.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using poolwatch::test::DovecotLab;
namespace asio = boost::asio;

namespace {

template <typename T>
T run_sync(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result = std::move(value);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

class RealDovecot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
  }
  static void TearDownTestSuite() { lab_.reset(); }

  ProbeOutcome probe(Protocol protocol, std::uint16_t port, TlsMode tls,
                     std::optional<Account> account, const std::string& backend = "127.0.1.1") {
    return probe_with(config(), protocol, port, tls, std::move(account), backend);
  }

  static ProbeConfig config() {
    ProbeConfig config;
    config.tls.verify_peer = true;
    config.tls.ca_file = lab_->ca_file();
    config.tls.verify_name = VerifyName::ip;
    return config;
  }

  ProbeOutcome probe_with(const ProbeConfig& config, Protocol protocol, std::uint16_t port,
                          TlsMode tls, std::optional<Account> account,
                          const std::string& backend = "127.0.1.1") {
    ProbeRunner runner(io_.get_executor(), config);
    ProbeTarget target{make_ip_address(backend), backend, PortSpec{protocol, port, tls}};
    return run_sync(io_, runner.run(target, std::move(account), Seconds(10)));
  }

  static Account probe_user(const std::string& backend = "127.0.1.1") {
    return Account{"probe-" + backend, Secret("probepass"), ""};
  }

  asio::io_context io_;
  static std::unique_ptr<DovecotLab> lab_;
};

std::unique_ptr<DovecotLab> RealDovecot::lab_;

TEST_F(RealDovecot, HostListMatchesDoveadmDirectorStatus) {
  DirectorConfig config;
  config.socket = lab_->admin_socket();
  DirectorClient client(io_.get_executor(), config);
  const auto result = run_sync(io_, client.host_list());
  ASSERT_TRUE(result.pool) << result.error;
  const auto status = lab_->director_status();
  ASSERT_EQ(result.pool->hosts.size(), lab_->backend_addresses().size());
  for (const auto& host : result.pool->hosts) {
    EXPECT_NE(status.find(host.address.to_string()), std::string::npos) << status;
    EXPECT_EQ(host.vhost_count, 100u);
    ASSERT_TRUE(host.down.has_value());  // 2.3 sends the six-field form
  }
  run_sync(io_, [](DirectorClient& c) -> asio::awaitable<int> {
    co_await c.shutdown(100ms);
    co_return 0;
  }(client));
}

TEST_F(RealDovecot, HostDownIsVisibleInDoveadmAndHostUpUndoesIt) {
  DirectorConfig config;
  config.socket = lab_->admin_socket();
  DirectorClient client(io_.get_executor(), config);
  const auto address = make_ip_address("127.0.1.2");
  auto reply = run_sync(io_, client.host_down(address));
  ASSERT_TRUE(reply.ok()) << reply.text;
  EXPECT_NE(lab_->director_status().find("down"), std::string::npos) << lab_->director_status();
  reply = run_sync(io_, client.host_up(address));
  ASSERT_TRUE(reply.ok()) << reply.text;
  EXPECT_EQ(lab_->director_status().find("down"), std::string::npos) << lab_->director_status();
  reply = run_sync(io_, client.host_down(make_ip_address("127.0.9.9")));
  EXPECT_EQ(reply.status, DirectorReplyStatus::not_found);
}

struct Case {
  Protocol protocol;
  std::uint16_t port;
  TlsMode tls;
};

TEST_F(RealDovecot, EveryProtocolPlainTlsAndStarttlsLogsIn) {
  const Case cases[] = {
      {Protocol::imap, 143, TlsMode::plain},    {Protocol::imap, 993, TlsMode::implicit},
      {Protocol::imap, 143, TlsMode::starttls}, {Protocol::pop3, 110, TlsMode::plain},
      {Protocol::pop3, 995, TlsMode::implicit}, {Protocol::pop3, 110, TlsMode::starttls},
      {Protocol::lmtp, 24, TlsMode::plain},     {Protocol::lmtp, 24, TlsMode::starttls},
  };
  for (const auto& c : cases) {
    const auto outcome = probe(c.protocol, c.port, c.tls, probe_user());
    EXPECT_TRUE(outcome.ok()) << to_string(c.protocol) << ":" << c.port << "/" << to_string(c.tls)
                              << ": " << outcome.reason;
  }
}

TEST_F(RealDovecot, MasterUserLogsInOnBehalfOfTheProbeUser) {
  const auto outcome =
      probe(Protocol::imap, 143, TlsMode::plain, Account{"probe", Secret("masterpass"), "master"});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
}

TEST_F(RealDovecot, WrongPasswordIsAuthRejected) {
  for (auto protocol : {Protocol::imap, Protocol::pop3}) {
    const auto outcome = probe(protocol, protocol == Protocol::imap ? 143 : 110, TlsMode::plain,
                               Account{"probe-127.0.1.1", Secret("wrong"), ""});
    EXPECT_EQ(outcome.failure, FailureClass::auth_rejected) << outcome.reason;
    EXPECT_EQ(outcome.reason.find("wrong"), std::string::npos);
  }
}

TEST_F(RealDovecot, PerBackendUserOnlyWorksOnItsBackend) {
  EXPECT_TRUE(
      probe(Protocol::imap, 143, TlsMode::plain, probe_user("127.0.1.2"), "127.0.1.2").ok());
  EXPECT_EQ(
      probe(Protocol::imap, 143, TlsMode::plain, probe_user("127.0.1.2"), "127.0.1.1").failure,
      FailureClass::auth_rejected);
}

TEST_F(RealDovecot, LmtpRcptOfAnUnknownUserFails) {
  const auto outcome = probe(Protocol::lmtp, 24, TlsMode::plain, Account{"nosuch", Secret(), ""});
  EXPECT_FALSE(outcome.ok());
  EXPECT_NE(outcome.reason.find("nosuch"), std::string::npos) << outcome.reason;
}

TEST_F(RealDovecot, LmtpFromAndToAsPoolmonGaveThem) {
  auto with_envelope = config();
  with_envelope.lmtp_from = "monitor@example.test";
  with_envelope.lmtp_to = "probe-%{backend_host}";
  for (const std::string backend : {"127.0.1.1", "127.0.1.2"}) {
    const auto outcome =
        probe_with(with_envelope, Protocol::lmtp, 24, TlsMode::plain, std::nullopt, backend);
    EXPECT_TRUE(outcome.ok()) << backend << ": " << outcome.reason;
  }
  with_envelope.lmtp_to = "probe-127.0.1.2";  // exists on backend 2 only
  const auto outcome =
      probe_with(with_envelope, Protocol::lmtp, 24, TlsMode::plain, std::nullopt, "127.0.1.1");
  EXPECT_EQ(outcome.failure, FailureClass::auth_rejected) << outcome.reason;
}

TEST_F(RealDovecot, StoppedBackendIsConnectRefused) {
  lab_->fault(3, "stop");
  const auto outcome = probe(Protocol::imap, 143, TlsMode::plain, std::nullopt, "127.0.1.3");
  lab_->fault(3, "start");
  EXPECT_EQ(outcome.failure, FailureClass::connect_refused) << outcome.reason;
}

}  // namespace
