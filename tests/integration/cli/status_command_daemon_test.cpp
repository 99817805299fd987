#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <sstream>
#include <thread>

#include "poolwatch/cli/status_command.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/http/http_server.hpp"

namespace poolwatch {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Answers one connection with fixed bytes (after reading the request head), then
// closes; with `hold` it answers nothing and keeps the connection open until stopped.
struct ScriptedPeer {
  std::string reply;
  bool hold = false;
};

asio::awaitable<void> serve_scripted(tcp::acceptor& acceptor, ScriptedPeer script) {
  auto [accept_ec, socket] = co_await acceptor.async_accept(use_tuple);
  if (accept_ec) co_return;
  std::string head;
  auto [read_ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(head, 8192),
                                                      "\r\n\r\n", use_tuple);
  if (read_ec) co_return;
  if (script.hold) {
    char byte = 0;
    co_await socket.async_read_some(asio::buffer(&byte, 1),
                                    use_tuple);  // until the client gives up
    co_return;
  }
  co_await asio::async_write(socket, asio::buffer(script.reply), use_tuple);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

CommandResult run_against(ScriptedPeer script, std::chrono::milliseconds timeout = 10s) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(context, serve_scripted(acceptor, script), asio::detached);
  std::thread server([&] { context.run(); });
  StatusCommandOptions options;
  options.url = fmt::format("http://127.0.0.1:{}/status", acceptor.local_endpoint().port());
  options.timeout = timeout;
  std::ostringstream out, err;
  CommandResult result;
  result.code = run_status_command(options, out, err);
  result.out = out.str();
  result.err = err.str();
  server.join();  // the peer's coroutine ends when the client closes
  return result;
}

std::string ok_reply(std::string_view body) {
  return fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      body.size(), body);
}

const char* kAllUp = R"({"backends":[{"address":"10.0.0.1","state":"up"}]})";
const char* kOneDown =
    R"({"backends":[{"address":"10.0.0.1","state":"up"},{"address":"10.0.0.2","state":"down"}]})";

TEST(StatusCommand, ExitCodeFollowsBackendStates) {
  auto up = run_against({ok_reply(kAllUp)});
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_NE(up.out.find("10.0.0.1"), std::string::npos);
  EXPECT_NE(up.out.find("BACKEND"), std::string::npos);
  auto down = run_against({ok_reply(kOneDown)});
  EXPECT_EQ(down.code, 1) << down.err;
}

TEST(StatusCommand, JsonFlagPrintsTheDocument) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(context, serve_scripted(acceptor, {ok_reply(kOneDown)}), asio::detached);
  std::thread server([&] { context.run(); });
  StatusCommandOptions options;
  options.url = fmt::format("http://127.0.0.1:{}/status", acceptor.local_endpoint().port());
  options.json = true;
  std::ostringstream out, err;
  EXPECT_EQ(run_status_command(options, out, err), 1);
  server.join();
  EXPECT_EQ(out.str(), std::string(kOneDown) + "\n");
}

// Serves one connection, then closes the listener: a later round finds nobody there.
asio::awaitable<void> serve_once_then_close(tcp::acceptor& acceptor, ScriptedPeer script) {
  auto serving = serve_scripted(acceptor, std::move(script));  // g++ 12: a named local
  co_await std::move(serving);
  acceptor.close();
}

TEST(StatusCommand, WatchRedrawsEachRoundAndShowsAnUnreachableDaemonOnScreen) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(context, serve_once_then_close(acceptor, {ok_reply(kOneDown)}), asio::detached);
  std::thread server([&] { context.run(); });
  StatusCommandOptions options;
  options.url = fmt::format("http://127.0.0.1:{}/status", acceptor.local_endpoint().port());
  options.watch = true;
  options.watch_interval = 100ms;
  options.watch_rounds = 2;
  std::ostringstream out, err;
  const int code = run_status_command(options, out, err);
  server.join();
  const auto screen = out.str();
  const auto second = screen.rfind("\x1b[H\x1b[2J");
  ASSERT_NE(second, std::string::npos) << screen;
  EXPECT_EQ(screen.find("\x1b[H\x1b[2J"), 0u) << screen;
  EXPECT_NE(second, 0u) << "one round drawn, not two: " << screen;
  const auto first_frame = screen.substr(0, second);
  EXPECT_NE(first_frame.find("10.0.0.2"), std::string::npos) << first_frame;
  EXPECT_NE(first_frame.find("every 0.1 s"), std::string::npos) << first_frame;
  EXPECT_NE(screen.substr(second).find("cannot connect"), std::string::npos) << screen;
  EXPECT_EQ(code, 2);  // the last round's
  EXPECT_EQ(err.str(), "");
}

TEST(StatusCommand, EveryTruncationOfTheReplyIsUnreachable) {
  // The fail_count idiom: cut the reply after n bytes, for every n until it is whole.
  auto full = ok_reply(kAllUp);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto result = run_against({full.substr(0, n)});
    EXPECT_EQ(result.code, 2) << "cut at " << n;
    EXPECT_FALSE(result.err.empty());
  }
  EXPECT_EQ(run_against({full}).code, 0);
}

TEST(StatusCommand, BadAnswersAreExitCode2) {
  EXPECT_EQ(run_against({"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"}).code,
            2);
  EXPECT_EQ(run_against({"this is not HTTP\r\n\r\n"}).code, 2);
  EXPECT_EQ(run_against({ok_reply("{not json")}).code, 2);
  EXPECT_EQ(run_against({ok_reply(R"({"backends":[{"state":"up"}]})")}).code, 2);
}

TEST(StatusCommand, SilentDaemonTimesOut) {
  ScriptedPeer silent;
  silent.hold = true;
  auto result = run_against(silent, 200ms);
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find("no answer"), std::string::npos) << result.err;
}

TEST(StatusCommand, NothingListeningIsExitCode2) {
  asio::io_context context;
  tcp::acceptor probe(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = probe.local_endpoint().port();
  probe.close();  // the port is now (almost certainly) closed
  StatusCommandOptions options;
  options.url = fmt::format("http://127.0.0.1:{}/status", port);
  std::ostringstream out, err;
  EXPECT_EQ(run_status_command(options, out, err), 2);
  EXPECT_NE(err.str().find("cannot connect"), std::string::npos) << err.str();
}

TEST(StatusCommand, AgainstTheRealServer) {
  asio::io_context context;
  HttpConfig config;
  config.listen = "127.0.0.1:0";
  BackendStatusView b;
  b.address = "10.0.0.7";
  b.state = "down";
  b.reason = "auth_temporary";
  HttpHandlers handlers;
  handlers.status = [b] { return whole_body(to_json({b})); };
  HttpServer server(context.get_executor(), config, handlers);
  ASSERT_FALSE(server.start());
  std::thread loop([&] { context.run(); });
  StatusCommandOptions options;
  options.http.listen = fmt::format("127.0.0.1:{}", server.local_endpoint().port());
  std::ostringstream out, err;
  EXPECT_EQ(run_status_command(options, out, err), 1) << err.str();  // default URL from listen
  EXPECT_NE(out.str().find("auth_temporary"), std::string::npos) << out.str();
  server.stop();
  loop.join();
}

}  // namespace
}  // namespace poolwatch
