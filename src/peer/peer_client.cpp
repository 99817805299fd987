#include "poolwatch/peer/peer_client.hpp"

#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/peer/peer_exchange.hpp"

namespace poolwatch::peer {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

constexpr std::uint32_t kMaxReplyHeader = 16 * 1024;

std::string header_value(const http::response<http::string_body>& response, std::string_view name) {
  const auto value = response[boost::beast::string_view(name.data(), name.size())];
  return std::string(value.data(), value.size());
}

http::request<http::empty_body> signed_request(const tcp::endpoint& endpoint,
                                               const std::string& target,
                                               const SignedHeaders& signature) {
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, endpoint.address().to_string());
  request.set(http::field::user_agent, "poolwatch");
  request.set(std::string(kTimeHeader), signature.time);
  request.set(std::string(kNonceHeader), signature.nonce);
  request.set(std::string(kSignatureHeader), signature.signature);
  return request;
}

asio::awaitable<PeerFetchResult> fetch_dialogue(tcp::socket& socket, const tcp::endpoint& endpoint,
                                                const std::string& target,
                                                const std::string& secret) {
  PeerFetchResult result;
  auto [connect_ec] = co_await socket.async_connect(endpoint, use_tuple);
  if (connect_ec) {
    result.error = "connect: " + connect_ec.message();
    co_return result;
  }
  const SignedHeaders signature = sign_request(secret, target, unix_now(), random_nonce());
  const auto request = signed_request(endpoint, target, signature);
  auto [write_ec, written] = co_await http::async_write(socket, request, use_tuple);
  if (write_ec) {
    result.error = "send: " + write_ec.message();
    co_return result;
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxReplyHeader);
  parser.body_limit(kMaxReplyBytes);
  auto [read_ec, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
  if (read_ec) {
    result.error = "reply: " + read_ec.message();
    co_return result;
  }
  const auto& response = parser.get();
  if (response.result() != http::status::ok) {
    result.error = fmt::format("peer answered {}: {}", response.result_int(),
                               printable_excerpt(response.body(), 120));
    co_return result;
  }
  const SignedHeaders reply{header_value(response, kTimeHeader),
                            header_value(response, kNonceHeader),
                            header_value(response, kSignatureHeader)};
  if (auto problem = reply_problem(secret, signature.nonce, reply, response.body(), unix_now()))
    result.error = *problem;
  else
    result.body = parser.release().body();
  co_return result;
}

}  // namespace

asio::awaitable<PeerFetchResult> fetch_from_peer(tcp::endpoint endpoint,
                                                 std::optional<asio::ip::address> source,
                                                 std::string target, std::string secret,
                                                 std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  if (source) {
    boost::system::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (!ec) socket.bind(tcp::endpoint(*source, 0), ec);
    if (ec) {
      PeerFetchResult unbound;
      unbound.error = fmt::format("bind to {}: {}", source->to_string(), ec.message());
      co_return unbound;
    }
  }
  asio::steady_timer deadline(executor, timeout);
  auto outcome =
      co_await (fetch_dialogue(socket, endpoint, target, secret) || deadline.async_wait(use_tuple));
  if (outcome.index() == 1) {
    PeerFetchResult timed_out;
    timed_out.error = "no reply within the deadline";
    co_return timed_out;
  }
  co_return std::move(std::get<0>(outcome));
}

}  // namespace poolwatch::peer
