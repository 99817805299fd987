// PoolWatcher in-process against the fake director and fake IMAP backends: what the
// status page (GET /) is made of. A backend poolwatch took down and one an administrator
// took down are told apart, the hosts that need a look come first, and the director,
// the guard and the events are there.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "poolwatch/service/pool_watcher.hpp"
#include "poolwatch/service/spawn.hpp"
#include "support/child_process.hpp"
#include "support/daemon_harness.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;
using poolwatch::test::eventually;
using poolwatch::test::TempDir;
using poolwatch::testing::FakeDirector;
using poolwatch::testing::FakeMailServer;
namespace asio = boost::asio;

namespace daemon_status_page_test {

// Not the addresses of the other daemon tests, so all can run at once.
const auto kHealthy = make_ip_address("127.0.16.1");
const auto kDying = make_ip_address("127.0.16.2");
const auto kAdminDown = make_ip_address("127.0.16.3");
constexpr std::int64_t kAdminSince = 1700000000;
constexpr auto kGuard = 15s;

HostEntry admin_down_host() {
  auto host = poolwatch::test::pool_host(kAdminDown);
  host.down = true;
  host.last_updown_change = kAdminSince;
  return host;
}

class DaemonStatusPage : public ::testing::Test {
 protected:
  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
    admin_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kAdminDown, port_));
    watcher_ = std::make_unique<PoolWatcher>(
        io_.get_executor(), poolwatch::test::fast_daemon_config(director_, port_, dir_.path()),
        CredentialStore{});
    spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    asio::post(io_, [this] { watcher_->request_stop(); });
    thread_.join();
  }

  StatusPageView view() {
    return poolwatch::test::run_on_loop(
               io_, [this] { return watcher_->status_page_view(); }, kGuard)
        .value_or(StatusPageView{});
  }

  TempDir dir_;
  FakeDirector director_{{poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying),
                          admin_down_host()}};
  std::unique_ptr<FakeMailServer> healthy_, dying_, admin_;
  std::uint16_t port_ = 0;
  asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::thread thread_;
};

TEST_F(DaemonStatusPage, TellsWhoTookEachHostDownAndPutsThemFirst) {
  ASSERT_TRUE(eventually([&] { return view().events.size() >= 1; }, kGuard));
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(eventually([&] { return director_.host(kDying)->down.value_or(false); }, kGuard))
      << ::testing::PrintToString(director_.commands());
  StatusPageView v;
  ASSERT_TRUE(eventually(
      [&] {
        v = view();
        return v.rows.size() == 3 && v.rows[0].down_by == "poolwatch" &&
               v.rows[0].director_state == "D";
      },
      kGuard));
  EXPECT_EQ(v.rows[0].backend.address, "127.0.16.2");
  EXPECT_EQ(v.rows[0].backend.state, "down");
  EXPECT_GT(v.rows[0].down_since_unix, kAdminSince);
  ASSERT_FALSE(v.rows[0].backend.checks.empty());
  EXPECT_NE(v.rows[0].backend.checks[0].last_reason.find("refused"), std::string::npos)
      << v.rows[0].backend.checks[0].last_reason;
  EXPECT_EQ(v.rows[1].backend.address, "127.0.16.3");
  EXPECT_EQ(v.rows[1].down_by, "administrator");
  EXPECT_EQ(v.rows[1].down_since_unix, kAdminSince);
  EXPECT_EQ(v.rows[1].backend.state, "up");  // healthy, and left down: not poolwatch's
  EXPECT_EQ(v.rows[2].backend.address, "127.0.16.1");
  EXPECT_EQ(v.rows[2].director_state, "U");
  EXPECT_EQ(v.rows[2].down_by, "");
  EXPECT_EQ(v.rows[2].vhosts, 100u);
  EXPECT_EQ(v.rows_not_shown, 0u);

  EXPECT_TRUE(v.director_connected);
  EXPECT_GT(v.last_host_list_unix, 0);
  EXPECT_EQ(v.last_host_list_error, "");
  EXPECT_FALSE(v.guard_blocking);
  EXPECT_NE(v.guard_text.find("max_down_percent"), std::string::npos) << v.guard_text;
  ASSERT_FALSE(v.events.empty());
  const bool host_down_listed =
      std::any_of(v.events.begin(), v.events.end(), [](const PageEventView& e) {
        return e.kind == "action" && e.backend == "127.0.16.2" && e.what == "HOST-DOWN ok";
      });
  EXPECT_TRUE(host_down_listed);
  EXPECT_GE(v.events.front().unix_ms, v.events.back().unix_ms);  // newest first
  const auto html = render_status_page(v);
  EXPECT_NE(html.find("data-backend=\"127.0.16.2\" data-state=\"down\""), std::string::npos);
}

// GET / of 100 000 hosts looked at every host in one step of the loop (10-20 ms); the
// page's writer now looks at hosts_per_slice hosts a slice and makes the page in the last.
TEST_F(DaemonStatusPage, ChoosesItsRowsAFewHostsASlice) {
  ASSERT_TRUE(eventually([&] { return view().rows.size() == 3; }, kGuard));
  const auto made = poolwatch::test::run_on_loop(
      io_,
      [this] {
        auto writer = watcher_->page_body(1);
        std::string body;
        std::vector<std::size_t> unfinished;  // the body's size after each slice but the last
        while (!writer(body)) unfinished.push_back(body.size());
        return std::pair(unfinished, body);
      },
      kGuard);
  ASSERT_TRUE(made);
  const auto& [unfinished, html] = *made;
  EXPECT_EQ(unfinished, (std::vector<std::size_t>{0, 0}));  // hosts 1 and 2 of 3: no page yet
  for (const char* address : {"127.0.16.1", "127.0.16.2", "127.0.16.3"})
    EXPECT_NE(html.find(std::string("data-backend=\"") + address + "\""), std::string::npos)
        << address;
}

}  // namespace daemon_status_page_test
