// TLS session resumption against real Dovecot 2.3 backends (issue 15): one ProbeRunner
// probes a backend's IMAP 993 and POP3 995 twice each over implicit TLS. Dovecot keeps
// its sessions and ticket keys in each login process, so the second probe resumes only
// when the connections meet the same process: with the login services in Dovecot's
// high-performance mode (one long-lived process), not with its default of a new
// process per connection.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "poolwatch/probe/probe_runner.hpp"
#include "support/dovecot_lab.hpp"

using namespace poolwatch;
using poolwatch::test::DovecotLab;
namespace asio = boost::asio;

namespace poolwatch {
namespace tls_resumption_e2e_test {

class TlsResumption : public ::testing::Test {
 protected:
  static inline const std::string kBackend = "127.0.1.1";

  static ProbeConfig config(const DovecotLab& lab) {
    ProbeConfig config;
    config.login = false;  // the greeting is enough: resumption is the handshake's
    config.tls.verify_peer = true;
    config.tls.ca_file = lab.ca_file();
    config.tls.verify_name = VerifyName::ip;
    return config;  // session_resumption is on by default
  }

  // One probe with `runner`, run to its end on io_.
  ProbeOutcome probe(ProbeRunner& runner, Protocol protocol, std::uint16_t port) {
    std::optional<ProbeOutcome> outcome;
    std::exception_ptr error;
    ProbeTarget target{make_ip_address(kBackend), kBackend,
                       PortSpec{protocol, port, TlsMode::implicit}};
    asio::co_spawn(io_, runner.run(std::move(target), std::nullopt, Seconds(10)),
                   [&](std::exception_ptr e, ProbeOutcome value) {
                     error = e;
                     if (!e) outcome = std::move(value);
                   });
    io_.restart();
    io_.run();
    if (error) std::rethrow_exception(error);
    return std::move(*outcome);
  }

  // Two probes of each of IMAP 993 and POP3 995 with one runner; every one must pass.
  void probe_each_port_twice(ProbeRunner& runner) {
    for (const auto& [protocol, port] : {std::pair{Protocol::imap, std::uint16_t{993}},
                                         std::pair{Protocol::pop3, std::uint16_t{995}}})
      for (int i = 0; i < 2; ++i) {
        const auto outcome = probe(runner, protocol, port);
        EXPECT_TRUE(outcome.ok()) << port << ": " << outcome.reason;
      }
  }

  asio::io_context io_;
};

TEST_F(TlsResumption, SecondProbeResumesWithOneLongLivedLoginProcess) {
  const auto lab = DovecotLab::start({.backends = 1, .reused_login_processes = true});
  ProbeRunner runner(io_.get_executor(), config(*lab));
  probe_each_port_twice(runner);
  // The first probe of each port pays the full handshake, the second resumes.
  EXPECT_EQ(runner.tls().full_handshakes(), 2u);
  EXPECT_EQ(runner.tls().resumed_handshakes(), 2u);
}

// Dovecot's default (service_count = 1): every connection has a fresh login process,
// with fresh ticket keys and an empty session cache, so nothing resumes although
// poolwatch offers the session every time. What the metric shows an operator of such
// backends is resumed="true" staying at 0.
TEST_F(TlsResumption, NothingResumesWithALoginProcessPerConnection) {
  const auto lab = DovecotLab::start({.backends = 1});
  ProbeRunner runner(io_.get_executor(), config(*lab));
  probe_each_port_twice(runner);
  EXPECT_EQ(runner.tls().full_handshakes(), 4u);
  EXPECT_EQ(runner.tls().resumed_handshakes(), 0u);
  // The sessions were offered: each port's ticket is cached.
  EXPECT_EQ(runner.tls().cached_sessions(), 2u);
}

}  // namespace tls_resumption_e2e_test
}  // namespace poolwatch
