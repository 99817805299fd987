// PoolWatcher in-process with a director socket path that asio cannot even make an
// endpoint of: the scan throws, and that must be said in the log, never leave the
// daemon running silently not ready (issue 13, item 5). The config is built here, not
// loaded: load-time validation of the path is another check, and this one is about the
// loop never losing an exception, whatever throws.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <sstream>

#include "poolwatch/config/credentials.hpp"
#include "poolwatch/service/pool_watcher.hpp"

using namespace std::chrono_literals;
using namespace poolwatch;

namespace {

class DaemonScanError : public ::testing::Test {
 protected:
  void SetUp() override {
    // The io_context runs on this thread only, so the stream is never read while written.
    previous_logger_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(log_);
    auto capture = std::make_shared<spdlog::logger>("scan-error", sink);
    capture->set_level(spdlog::level::info);
    spdlog::set_default_logger(capture);
  }
  void TearDown() override { spdlog::set_default_logger(previous_logger_); }

  static Config config() {
    Config c;
    // Longer than sockaddr_un's 108 bytes: asio's endpoint constructor throws.
    c.director.socket = "/run/dovecot/" + std::string(200, 'x') + "/director-admin";
    c.director.connect_timeout = Seconds(1);
    c.probe.ports = {PortSpec{Protocol::imap, 143, TlsMode::plain}};
    c.probe.login = false;
    c.health.interval = Seconds(0.2);
    c.http.enabled = false;
    return c;
  }

  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(DaemonScanError, AnExceptionInTheScanIsLoggedAndAStopStillEndsTheLoop) {
  boost::asio::io_context io(1);
  PoolWatcher watcher(io.get_executor(), config(), CredentialStore{});
  bool ended = false;
  std::exception_ptr escaped;
  boost::asio::co_spawn(io, watcher.run(), [&](std::exception_ptr e) {
    ended = true;
    escaped = e;
  });
  io.run_for(1500ms);  // several 0.2 s intervals
  const auto log = log_.str();
  EXPECT_NE(log.find("scan failed by an unexpected error"), std::string::npos) << log;
  EXPECT_NE(log.find("name too long"), std::string::npos) << "the log line does not say what threw";
  EXPECT_FALSE(ended) << "the loop gave up after one failed scan";
  EXPECT_FALSE(watcher.ready());

  boost::asio::post(io, [&] { watcher.request_stop(); });
  io.restart();
  io.run_for(5s);
  EXPECT_TRUE(ended) << "a stop did not end the loop";
  EXPECT_FALSE(escaped) << "the exception escaped run()";
}

}  // namespace
