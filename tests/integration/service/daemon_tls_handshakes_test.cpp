// PoolWatcher in-process against a TLS fake that resumes sessions: /metrics counts the
// probes' handshakes by whether they resumed (issue 15), so an operator can see that
// resumption works, and the same with probe.tls.session_resumption off.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/exposition_checker.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;

namespace poolwatch {
namespace daemon_tls_handshakes_test {

using poolwatch::test::eventually;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;

struct Handshakes {
  double full = 0;
  double resumed = 0;
};

class DaemonTlsHandshakes : public ::testing::Test {
 protected:
  static inline const auto kBackend = make_ip_address("127.0.25.1");
  static constexpr auto kGuard = 15s;  // a failure guard only
  static constexpr const char* kName = "poolwatch_tls_handshakes_total";

  void SetUp() override {
    auto options = poolwatch::test::fake_backend_at(kBackend, 0);
    options.tls = TlsMode::implicit;
    server_ = std::make_unique<FakeMailServer>(options);
  }

  void TearDown() override {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { watcher_->request_stop(); });
    thread_.join();
  }

  void start(bool resumption) {
    auto c = poolwatch::test::fast_daemon_config(director_, server_->port(), dir_.path());
    c.probe.ports = {PortSpec{Protocol::imap, server_->port(), TlsMode::implicit}};
    c.probe.tls.verify_peer = false;
    c.probe.tls.session_resumption = resumption;
    watcher_ = std::make_unique<PoolWatcher>(io_.get_executor(), std::move(c), CredentialStore{});
    spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
    thread_ = std::thread([this] { io_.run(); });
  }

  // The two series as /metrics shows them; nullopt when the exposition is broken or a
  // series is missing.
  std::optional<Handshakes> exported() {
    const auto text = poolwatch::test::run_on_loop(
        io_, [this] { return watcher_->metrics().render(); }, kGuard);
    if (!text) return std::nullopt;
    const auto p = poolwatch::test::check_exposition(*text);
    EXPECT_TRUE(p.ok()) << p.error_text();
    const auto full = p.value(kName, {{"resumed", "false"}});
    const auto resumed = p.value(kName, {{"resumed", "true"}});
    if (!full || !resumed) return std::nullopt;
    return Handshakes{*full, *resumed};
  }

  poolwatch::test::TempDir dir_;
  FakeDirector director_{{poolwatch::test::pool_host(kBackend)}};
  std::unique_ptr<FakeMailServer> server_;
  boost::asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::thread thread_;
};

TEST_F(DaemonTlsHandshakes, CountsTheResumedHandshakesOfRepeatedProbes) {
  start(true);
  // Only the first probe of the one port pays a full handshake; the later ones resume.
  std::optional<Handshakes> seen;
  ASSERT_TRUE(eventually(
      [&] {
        seen = exported();
        return seen && seen->resumed >= 3;
      },
      kGuard))
      << "resumed: " << (seen ? seen->resumed : -1);
  EXPECT_EQ(seen->full, 1);
  // What the daemon counts, the server saw: it never counts more resumptions than were.
  EXPECT_LE(seen->resumed, static_cast<double>(server_->tls_resumed()));
}

TEST_F(DaemonTlsHandshakes, CountsOnlyFullHandshakesWithResumptionOff) {
  start(false);
  std::optional<Handshakes> seen;
  ASSERT_TRUE(eventually(
      [&] {
        seen = exported();
        return seen && seen->full >= 3;
      },
      kGuard))
      << "full: " << (seen ? seen->full : -1);
  EXPECT_EQ(seen->resumed, 0);
  EXPECT_EQ(server_->tls_resumed(), 0u);
}

}  // namespace daemon_tls_handshakes_test
}  // namespace poolwatch
