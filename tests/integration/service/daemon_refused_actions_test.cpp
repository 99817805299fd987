// PoolWatcher in-process against the fake director when the director refuses or loses
// one of its commands: a failed HOST-DOWN must not be followed by its flush and is sent
// again on a later scan; a failed HOST-UP is retried until the host is up.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>

#include "poolwatch/health/state_file.hpp"
#include "poolwatch/service/pool_watcher.hpp"
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
using Fault = FakeDirector::Fault;
using Direction = FakeDirector::Event::Direction;
using Lines = std::vector<std::string>;
namespace asio = boost::asio;

namespace {

std::string answered(const std::string& command, const std::string& reply) {
  return command + " -> " + reply;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class DaemonRefusedActions : public ::testing::Test {
 protected:
  static inline const auto kHealthy = make_ip_address("127.0.3.11");
  static inline const auto kDying = make_ip_address("127.0.3.12");
  static inline const std::string kDown = "HOST-DOWN\t127.0.3.12";
  static inline const std::string kResetUsers = "HOST-RESET-USERS\t127.0.3.12";
  static inline const std::string kUp = "HOST-UP\t127.0.3.12";
  static inline const std::string kSkippedFlush =
      "director: HOST-RESET-USERS 127.0.3.12 skipped: its HOST-DOWN failed";

  void SetUp() override {
    healthy_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kHealthy, 0));
    port_ = healthy_->port();
    revive_backend();
    // Before the watcher's thread exists, so no logging call races the swap.
    previous_logger_ = spdlog::default_logger();
    auto sinks = previous_logger_->sinks();
    sinks.push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    auto capture = std::make_shared<spdlog::logger>("refused-actions", sinks.begin(), sinks.end());
    capture->set_level(spdlog::level::info);
    spdlog::set_default_logger(capture);
  }

  void TearDown() override {
    stop();
    spdlog::set_default_logger(previous_logger_);
  }

  void revive_backend() {
    dying_ = std::make_unique<FakeMailServer>(poolwatch::test::fake_backend_at(kDying, port_));
  }

  Config config() const {
    auto c = poolwatch::test::fast_daemon_config(director_, port_, dir_.path());
    c.event_log = dir_.path() + "/events.jsonl";
    return c;
  }

  void start(Config c) { watcher_.start(std::move(c)); }
  void stop() { watcher_.stop(); }

  // Every command the director got, each but HOST-LIST with the reply it sent on that
  // connection before the next request ("(no reply)" if none). A run of HOST-LISTs is
  // one entry: how many scans fit between two actions is timing.
  Lines exchanges() const {
    const auto transcript = director_.transcript();
    Lines out;
    for (std::size_t i = 0; i < transcript.size(); ++i) {
      const auto& event = transcript[i];
      if (event.direction != Direction::received || event.line.starts_with("VERSION\t")) continue;
      if (event.line == "HOST-LIST") {
        if (out.empty() || out.back() != "HOST-LIST") out.push_back("HOST-LIST");
        continue;
      }
      std::string reply = "(no reply)";
      for (std::size_t j = i + 1; j < transcript.size(); ++j) {
        if (transcript[j].connection != event.connection) continue;
        if (transcript[j].direction == Direction::sent) reply = transcript[j].line;
        break;
      }
      out.push_back(answered(event.line, reply));
    }
    return out;
  }

  // Waits until `command` was received and then at least `scans` more HOST-LISTs: the
  // later scans had every chance to send something they should not.
  bool wait_scans_after(const std::string& command, std::size_t scans) {
    return eventually(
        [&] {
          const auto commands = director_.commands();
          const auto at = std::find(commands.rbegin(), commands.rend(), command);
          if (at == commands.rend()) return false;
          return static_cast<std::size_t>(std::count(commands.rbegin(), at, "HOST-LIST")) >= scans;
        },
        20s);
  }

  // (action, result) of every action event in the event log.
  std::vector<std::pair<std::string, std::string>> logged_actions() const {
    std::ifstream in(config().event_log);
    std::vector<std::pair<std::string, std::string>> out;
    for (std::string line; std::getline(in, line);) {
      const auto event = nlohmann::json::parse(line);
      if (event.at("event") != "action") continue;
      EXPECT_EQ(event.at("backend"), kDying.to_string()) << line;
      out.emplace_back(event.at("action").get<std::string>(),
                       event.at("result").get<std::string>());
    }
    return out;
  }

  std::string state_file() const {
    std::ifstream in(dir_.path() + "/state");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Call only once the watcher's thread is joined.
  std::string log() const { return log_.str(); }

  TempDir dir_;
  FakeDirector director_{
      {poolwatch::test::pool_host(kHealthy), poolwatch::test::pool_host(kDying)}};
  std::unique_ptr<FakeMailServer> healthy_, dying_;
  std::uint16_t port_ = 0;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  poolwatch::test::WatcherThread watcher_;  // last: stopped before the fakes go
};

// --- 1. HOST-DOWN answered with a refusal ---

struct Refusal {
  std::string reply;
  std::string logged_result;  // the event log's result for it
  std::size_t connections;    // "Ring sync timed out" makes the client reconnect
};

void PrintTo(const Refusal& r, std::ostream* os) {
  *os << r.reply;
}

class RefusedDown : public DaemonRefusedActions, public ::testing::WithParamInterface<Refusal> {};

TEST_P(RefusedDown, FlushIsSkippedAndTheDownSentAgainNextScan) {
  const auto& refusal = GetParam();
  director_.fail_next("HOST-DOWN", Fault::reply_with(refusal.reply));
  start(config());
  dying_.reset();  // connection refused from now on
  ASSERT_TRUE(wait_scans_after(kResetUsers, 2)) << ::testing::PrintToString(exchanges());
  stop();

  EXPECT_EQ(exchanges(), (Lines{"HOST-LIST", answered(kDown, refusal.reply), "HOST-LIST",
                                answered(kDown, "OK"), answered(kResetUsers, "OK"), "HOST-LIST"}));
  EXPECT_EQ(director_.pending_faults(), 0u);
  EXPECT_EQ(director_.connections_accepted(), refusal.connections);
  EXPECT_TRUE(director_.host(kDying)->down.value_or(false));
  EXPECT_FALSE(director_.host(kHealthy)->down.value_or(false));
  EXPECT_NE(state_file().find(kDying.to_string()), std::string::npos) << state_file();
  using Logged = std::pair<std::string, std::string>;
  EXPECT_EQ(logged_actions(), (std::vector<Logged>{{"HOST-DOWN", refusal.logged_result},
                                                   {"HOST-DOWN", "ok"},
                                                   {"HOST-RESET-USERS", "ok"}}));
  EXPECT_EQ(count_of(log(), kSkippedFlush), 1u) << log();
  EXPECT_EQ(count_of(log(), "director: HOST-DOWN 127.0.3.12 failed (" + refusal.logged_result), 1u)
      << log();
}

INSTANTIATE_TEST_SUITE_P(
    Replies, RefusedDown,
    ::testing::Values(Refusal{"FAIL", "error", 1}, Refusal{"NOTFOUND", "not_found", 1},
                      Refusal{"TRYAGAIN", "try_again", 1},
                      Refusal{"host is already being updated - try again later", "error", 1},
                      // Counted as applied (it may have reached the ring), so the flush
                      // still waits for the HOST-DOWN the next scan sends again.
                      Refusal{"Ring sync timed out", "ring_sync_timeout", 2}));

// --- 2. The connection is lost on HOST-DOWN ---

struct LostDown {
  const char* name;
  Fault fault;
  std::string seen_reply;  // what exchanges() shows for the lost HOST-DOWN
};

void PrintTo(const LostDown& l, std::ostream* os) {
  *os << l.name;
}

class LostDownTest : public DaemonRefusedActions, public ::testing::WithParamInterface<LostDown> {};

TEST_P(LostDownTest, TheDaemonReconnectsAndFlushesOnceAfterTheDown) {
  director_.fail_next("HOST-DOWN", GetParam().fault);
  auto c = config();
  c.director.command_timeout = Seconds{0.5};  // for the HOST-DOWN that is never answered
  start(c);
  dying_.reset();
  ASSERT_TRUE(wait_scans_after(kResetUsers, 2)) << ::testing::PrintToString(exchanges());
  stop();

  EXPECT_EQ(exchanges(), (Lines{"HOST-LIST", answered(kDown, GetParam().seen_reply), "HOST-LIST",
                                answered(kDown, "OK"), answered(kResetUsers, "OK"), "HOST-LIST"}));
  EXPECT_EQ(director_.pending_faults(), 0u);
  EXPECT_EQ(director_.connections_accepted(), 2u);
  EXPECT_EQ(director_.pipelined_lines(), 0u);
  EXPECT_TRUE(director_.host(kDying)->down.value_or(false));
  using Logged = std::pair<std::string, std::string>;
  EXPECT_EQ(logged_actions(),
            (std::vector<Logged>{
                {"HOST-DOWN", "no_reply"}, {"HOST-DOWN", "ok"}, {"HOST-RESET-USERS", "ok"}}));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, LostDownTest,
    ::testing::Values(LostDown{"closed", Fault::close_connection(), "(no reply)"},
                      LostDown{"never_answered", Fault::ignore(), "(no reply)"},
                      LostDown{"endless_line", Fault::endless_line(), "<endless line>"}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

// --- 3. HOST-UP refused ---

struct RefusedUpCase {
  const char* name;
  Fault fault;
  std::string seen_reply;
  std::string logged_result;
};

void PrintTo(const RefusedUpCase& r, std::ostream* os) {
  *os << r.name;
}

class RefusedUp : public DaemonRefusedActions,
                  public ::testing::WithParamInterface<RefusedUpCase> {};

TEST_P(RefusedUp, RetriedOnALaterScanUntilTheHostIsUp) {
  director_.fail_next("HOST-UP", GetParam().fault);
  start(config());
  dying_.reset();
  ASSERT_TRUE(wait_scans_after(kResetUsers, 1)) << ::testing::PrintToString(exchanges());
  EXPECT_EQ(director_.pending_faults(), 1u);  // the scans so far left it alone
  revive_backend();
  ASSERT_TRUE(wait_scans_after(kUp, 2)) << ::testing::PrintToString(exchanges());
  stop();

  const auto& c = GetParam();
  EXPECT_EQ(exchanges(),
            (Lines{"HOST-LIST", answered(kDown, "OK"), answered(kResetUsers, "OK"), "HOST-LIST",
                   answered(kUp, c.seen_reply), "HOST-LIST", answered(kUp, "OK"), "HOST-LIST"}));
  EXPECT_EQ(director_.pending_faults(), 0u);
  EXPECT_FALSE(director_.host(kDying)->down.value_or(true));
  EXPECT_EQ(state_file().find(kDying.to_string()), std::string::npos) << state_file();
  using Logged = std::pair<std::string, std::string>;
  EXPECT_EQ(logged_actions(), (std::vector<Logged>{{"HOST-DOWN", "ok"},
                                                   {"HOST-RESET-USERS", "ok"},
                                                   {"HOST-UP", c.logged_result},
                                                   {"HOST-UP", "ok"}}));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, RefusedUp,
    ::testing::Values(RefusedUpCase{"fail", Fault::reply_with("FAIL"), "FAIL", "error"},
                      RefusedUpCase{"try_again", Fault::reply_with("TRYAGAIN"), "TRYAGAIN",
                                    "try_again"},
                      RefusedUpCase{"ring_sync_timeout", Fault::reply_with("Ring sync timed out"),
                                    "Ring sync timed out", "ring_sync_timeout"},
                      RefusedUpCase{"closed", Fault::close_connection(), "(no reply)", "no_reply"}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

// --- A refused flush ---

// After an accepted HOST-DOWN the host is down in the director and owned, so only the
// planner's record of the unanswered flush makes the next scan send it again; without
// it the host's users would stay pinned to the dead backend.
TEST_F(DaemonRefusedActions, RefusedFlushIsSentAgainNextScan) {
  director_.fail_next("HOST-RESET-USERS", Fault::reply_with("FAIL"));
  start(config());
  dying_.reset();
  ASSERT_TRUE(wait_scans_after(kDown, 1)) << ::testing::PrintToString(exchanges());
  const auto flushed = [&] {
    const auto seen = exchanges();
    return std::count(seen.begin(), seen.end(), answered(kResetUsers, "OK")) == 1;
  };
  ASSERT_TRUE(eventually(flushed, 5s)) << ::testing::PrintToString(exchanges());
  ASSERT_TRUE(wait_scans_after(kResetUsers, 1));
  stop();
  EXPECT_EQ(exchanges(), (Lines{"HOST-LIST", answered(kDown, "OK"), answered(kResetUsers, "FAIL"),
                                "HOST-LIST", answered(kResetUsers, "OK"), "HOST-LIST"}));
}

// The flush a restart interrupted is not lost: the state file marks it pending, and the
// restarted daemon sends it although the host is already down and owned.
TEST_F(DaemonRefusedActions, FlushStillRefusedAtARestartIsSentAfterIt) {
  for (int i = 0; i < 5; ++i) director_.fail_next("HOST-RESET-USERS", Fault::reply_with("FAIL"));
  start(config());
  dying_.reset();
  ASSERT_TRUE(eventually([&] { return director_.pending_faults() <= 3; }, 20s))
      << ::testing::PrintToString(exchanges());
  stop();
  director_.clear_faults();
  const auto saved = parse_state(state_file());
  ASSERT_EQ(saved.error, "");
  ASSERT_EQ(saved.hosts.size(), 1u);
  EXPECT_EQ(saved.hosts[0].address, kDying);
  EXPECT_TRUE(saved.hosts[0].flush_pending);
  const auto before_restart = exchanges().size();

  start(config());
  // Not wait_scans_after(kResetUsers, ...) alone: the refused ones before the restart,
  // with a scan after them, would satisfy it at once.
  const auto flushed = [&] {
    const auto seen = exchanges();
    return std::count(seen.begin(), seen.end(), answered(kResetUsers, "OK")) == 1;
  };
  ASSERT_TRUE(eventually(flushed, 20s)) << ::testing::PrintToString(exchanges());
  ASSERT_TRUE(wait_scans_after(kResetUsers, 1)) << ::testing::PrintToString(exchanges());
  stop();
  const auto seen = exchanges();
  ASSERT_GT(seen.size(), before_restart);
  const Lines after(seen.begin() + static_cast<std::ptrdiff_t>(before_restart), seen.end());
  // The restart's first HOST-LIST may merge with the last one before it.
  EXPECT_EQ(after.front() == "HOST-LIST" ? Lines(after.begin() + 1, after.end()) : after,
            (Lines{answered(kResetUsers, "OK"), "HOST-LIST"}));
  EXPECT_EQ(std::count(seen.begin(), seen.end(), answered(kDown, "OK")), 1);
  EXPECT_TRUE(director_.host(kDying)->down.value_or(false));
  const auto done = parse_state(state_file());
  ASSERT_EQ(done.hosts.size(), 1u);
  EXPECT_FALSE(done.hosts[0].flush_pending);
}

}  // namespace
