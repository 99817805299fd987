// Transport::write_line hands a command to the non-blocking socket at once and waits
// only for what the kernel did not take: a line longer than the send buffer still
// arrives whole, in order, behind a peer that starts reading late.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <string>

#include "poolwatch/probe/transport.hpp"
#include "support/run_awaitable.hpp"

using namespace poolwatch;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace transport_write_test {

// Accepts one connection, lets the writer fill the socket's buffers, then reads to EOF.
asio::awaitable<std::string> read_late(tcp::acceptor& acceptor) {
  auto peer = co_await acceptor.async_accept(asio::use_awaitable);
  asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(200));
  co_await pause.async_wait(asio::use_awaitable);
  std::string received;
  auto into = asio::dynamic_buffer(received);
  const auto [ec, n] = co_await asio::async_read(peer, into, asio::as_tuple(asio::use_awaitable));
  // The writer closes after the line: anything but EOF spoils the comparison.
  if (ec != asio::error::eof) received += "\n[read ended by " + ec.message() + "]";
  co_return received;
}

asio::awaitable<bool> write_then_close(Transport& transport, const std::string& line) {
  bool ok = transport.connect();
  if (ok) ok = co_await transport.await_connected();
  if (ok) ok = co_await transport.write_line(line);
  transport.close();
  co_return ok;
}

TEST(TransportWrite, ALineLongerThanTheSendBufferArrivesWhole) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Transport transport(io.get_executor(), nullptr, acceptor.local_endpoint(), "backend1",
                      TransportLimits{});
  // 16 MiB: far more than loopback's send and receive buffers hold before the peer reads.
  std::string line(16 << 20, 'x');
  for (std::size_t i = 0; i < line.size(); i += 4096) line[i] = static_cast<char>('a' + i % 26);
  auto reading = asio::co_spawn(io, read_late(acceptor), asio::use_future);
  const bool wrote = poolwatch::testing::run_awaitable(io, write_then_close(transport, line));
  EXPECT_TRUE(wrote) << transport.reason();
  io.restart();
  io.run_for(std::chrono::seconds(30));
  ASSERT_EQ(reading.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  const auto received = reading.get();
  EXPECT_EQ(received.size(), line.size() + 2);
  EXPECT_TRUE(received == line + "\r\n");
}

}  // namespace transport_write_test
