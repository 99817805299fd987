// PoolWatcher in-process against TLS fakes, one serving a certificate that expires in 10
// days: the expiry reaches /metrics, /status and the page, and the log warns once about
// that backend only, however often it is probed (issue 16).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <thread>

#include "poolwatch/service/pool_watcher.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/exposition_checker.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"
#include "support/log_capture.hpp"
#include "support/test_certs.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;

namespace poolwatch {
namespace daemon_cert_expiry_test {

using poolwatch::test::eventually;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

class DaemonCertExpiry : public ::testing::Test {
 protected:
  static inline const auto kSoon = make_ip_address("127.0.24.1");
  static inline const auto kLater = make_ip_address("127.0.24.2");
  static constexpr auto kGuard = 15s;  // a failure guard only

  void SetUp() override {
    auto soon = poolwatch::test::fake_backend_at(kSoon, 0);
    soon.tls = TlsMode::implicit;
    soon.short_lived_certificate = true;
    soon_ = std::make_unique<FakeMailServer>(soon);
    auto later = poolwatch::test::fake_backend_at(kLater, soon_->port());
    later.tls = TlsMode::implicit;
    later_ = std::make_unique<FakeMailServer>(later);
  }

  void TearDown() override {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { watcher_->request_stop(); });
    thread_.join();
  }

  void start() {
    auto c = poolwatch::test::fast_daemon_config(director_, soon_->port(), dir_.path());
    // The fakes' certificate names 127.0.0.1 only; the expiry is read all the same.
    c.probe.ports = {PortSpec{Protocol::imap, soon_->port(), TlsMode::implicit}};
    c.probe.tls.verify_peer = false;
    watcher_ = std::make_unique<PoolWatcher>(io_.get_executor(), std::move(c), CredentialStore{});
    spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
    thread_ = std::thread([this] { io_.run(); });
  }

  template <typename F>
  auto on_loop(F f) -> std::optional<decltype(f())> {
    return poolwatch::test::run_on_loop(io_, f, kGuard);
  }

  poolwatch::test::TempDir dir_;
  FakeDirector director_{{poolwatch::test::pool_host(kSoon), poolwatch::test::pool_host(kLater)}};
  std::unique_ptr<FakeMailServer> soon_, later_;
  boost::asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::thread thread_;
};

TEST_F(DaemonCertExpiry, ExportsShowsAndWarnsOnceAboutTheShortLivedCertificate) {
  poolwatch::test::LogCapture log;  // before the watcher's thread exists
  const auto& certs = poolwatch::testing::test_certificates();
  start();
  // Several probes of each, so a warning per probe would show.
  ASSERT_TRUE(eventually(
      [&] { return soon_->tls_handshakes() >= 4 && later_->tls_handshakes() >= 4; }, kGuard));

  const auto text = on_loop([this] { return watcher_->metrics().render(); });
  ASSERT_TRUE(text);
  const auto p = poolwatch::test::check_exposition(*text);
  ASSERT_TRUE(p.ok()) << p.error_text();
  const std::string name = "poolwatch_tls_earliest_cert_expiry_seconds";
  EXPECT_EQ(p.value(name, {{"backend", "127.0.24.1"}}),
            static_cast<double>(certs.soon_not_after_unix));
  EXPECT_EQ(p.value(name, {{"backend", "127.0.24.2"}}), static_cast<double>(certs.not_after_unix));

  const auto status = on_loop([this] { return watcher_->status(); });
  ASSERT_TRUE(status);
  ASSERT_EQ(status->size(), 2u);
  for (const auto& b : *status)
    EXPECT_EQ(b.cert_expiry_unix,
              b.address == "127.0.24.1" ? certs.soon_not_after_unix : certs.not_after_unix);
  const auto page = on_loop([this] { return render_status_page(watcher_->status_page_view()); });
  ASSERT_TRUE(page);
  // 10 and 30 days from when the certificates were made: 9 or 10, 29 or 30 days by now.
  const auto soon_date = utc_text(certs.soon_not_after_unix);
  EXPECT_EQ(occurrences(*page, ">EXPIRES SOON</span> cert expires in "), 1u) << *page;
  EXPECT_EQ(occurrences(*page, " days (" + soon_date + ")"), 1u) << *page;
  EXPECT_EQ(occurrences(*page, " days (" + utc_text(certs.not_after_unix) + ")"), 1u) << *page;

  TearDown();  // the watcher's thread is joined: the log is complete
  const auto logged = log.text();
  const auto warning =
      "backend 127.0.24.1: the TLS certificate of imap:" + std::to_string(soon_->port()) +
      "/tls expires in ";
  EXPECT_EQ(occurrences(logged, warning), 1u) << logged;
  EXPECT_EQ(occurrences(logged, " days (" + soon_date + ")"), 1u) << logged;
  EXPECT_EQ(occurrences(logged, "backend 127.0.24.2: the TLS certificate"), 0u) << logged;
}

}  // namespace daemon_cert_expiry_test
}  // namespace poolwatch
