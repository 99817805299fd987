// GET / serves the status page as HTML, with headers that forbid every script and
// external load, and only when the daemon gave the server a page handler.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "poolwatch/http/http_server.hpp"
#include "poolwatch/http/status_page.hpp"
#include "support/raw_http_client.hpp"

namespace poolwatch {
namespace status_page_route_test {

using namespace std::chrono_literals;
using testing::raw_http_exchange;

class StatusPageRoute : public ::testing::Test {
 protected:
  void start(bool with_page) {
    HttpConfig config;
    config.listen = "127.0.0.1:0";
    HttpHandlers handlers;
    handlers.metrics = [] { return whole_body("# metrics\n"); };
    if (with_page) {
      handlers.page = [] {
        StatusPageView view;
        PoolRowView row;
        row.backend.address = "10.0.0.1";
        row.backend.state = "down";
        row.backend.reason = "<script>x</script>";
        view.rows.push_back(row);
        return whole_body(render_status_page(view));
      };
    }
    server_ = std::make_unique<HttpServer>(io_.get_executor(), config, handlers);
    ASSERT_FALSE(server_->start());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  testing::RawHttpReply get(const std::string& target) {
    return raw_http_exchange(server_->local_endpoint(),
                             "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                             5s);
  }

  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(StatusPageRoute, ServesHtmlThatMayRunNoScript) {
  start(true);
  const auto reply = get("/?refresh=1");
  ASSERT_EQ(reply.status, 200u) << reply.error;
  EXPECT_EQ(reply.fields.at("CONTENT-TYPE"), "text/html; charset=utf-8");
  const auto csp = reply.fields.at("CONTENT-SECURITY-POLICY");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos) << csp;
  EXPECT_EQ(reply.fields.at("X-CONTENT-TYPE-OPTIONS"), "nosniff");
  EXPECT_TRUE(reply.body.starts_with("<!DOCTYPE html>")) << reply.body;
  EXPECT_NE(reply.body.find("data-backend=\"10.0.0.1\""), std::string::npos);
  EXPECT_NE(reply.body.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(get("/metrics").body, "# metrics\n");  // the other routes are unchanged
}

TEST_F(StatusPageRoute, NotFoundWithoutAPageHandler) {
  start(false);
  EXPECT_EQ(get("/").status, 404u);
}

}  // namespace status_page_route_test
}  // namespace poolwatch
