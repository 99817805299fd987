// HTTP requests as the daemon's listener reads them (http/http_server.cpp): the bytes of
// a client, cut into reads wherever the fuzzer chooses, go through Beast's
// request_parser with the server's limits (the header limit, a read buffer of that plus
// 4 KiB), and the server's decisions are checked: an over-long header is a 431, a parse
// error a 400, a body is never read and ends the connection. A request for the ring's
// peer exchange then meets its signature check, which must refuse what the fuzzer
// writes (it cannot sign). The routing itself lives in the server's coroutine file and
// is covered by its unit and integration tests.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/peer/peer_exchange.hpp"

namespace {

namespace http = boost::beast::http;
using boost::system::error_code;
using Request = http::request<http::empty_body>;

// The same count as the server's header_bytes(): Beast's own limit does not trip for
// many small fields arriving in one read.
std::size_t header_bytes(const Request& req) {
  std::size_t n = req.method_string().size() + req.target().size() + 12;
  for (const auto& field : req) n += field.name_string().size() + field.value().size() + 4;
  return n;
}

// http::async_read_header's loop, over the fuzzer's reads instead of a socket.
error_code read_header(FuzzedDataProvider& input, boost::beast::flat_buffer& buffer,
                       http::request_parser<http::empty_body>& parser) {
  while (!parser.is_header_done()) {
    if (input.remaining_bytes() == 0) return http::error::end_of_stream;
    if (buffer.size() >= buffer.max_size()) return http::error::buffer_overflow;
    const auto room = buffer.max_size() - buffer.size();
    const auto read = input.ConsumeIntegralInRange<std::size_t>(1, 2048);
    const auto bytes = input.ConsumeBytes<char>(std::min(read, room));
    const auto n = boost::asio::buffer_copy(buffer.prepare(bytes.size()),
                                            boost::asio::buffer(bytes.data(), bytes.size()));
    buffer.commit(n);
    error_code ec;
    const auto used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) continue;
    if (ec) return ec;
  }
  return {};
}

void check_ring_request(const Request& req) {
  const auto header = [&req](std::string_view name) {
    const auto value = req[boost::beast::string_view(name.data(), name.size())];
    return std::string(value.data(), value.size());
  };
  poolwatch::peer::SignedHeaders signed_headers{header(poolwatch::peer::kTimeHeader),
                                                header(poolwatch::peer::kNonceHeader),
                                                header(poolwatch::peer::kSignatureHeader)};
  poolwatch::peer::ReplayGuard replay(std::chrono::seconds(30), 16);
  const auto target = std::string_view(req.target().data(), req.target().size());
  FUZZ_CHECK(poolwatch::peer::request_problem("fuzz-ring-secret-0123456789abcdef0123", replay,
                                              target, signed_headers, 1795392863));
  FUZZ_CHECK(replay.size() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const poolwatch::HttpLimits limits;
  boost::beast::flat_buffer buffer(limits.header_limit + 4096);
  // Keep-alive: requests follow each other on one connection until one ends it.
  for (int request = 0; request < 8; ++request) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    const auto ec = read_header(input, buffer, parser);
    FUZZ_CHECK(buffer.size() <= limits.header_limit + 4096);
    if (ec == http::error::end_of_stream) return 0;
    if (ec) return 0;  // 431 or 400, then the connection closes
    const auto& req = parser.get();
    if (header_bytes(req) > limits.header_limit) return 0;  // 431
    FUZZ_CHECK(req.target().size() <= limits.header_limit);
    const bool has_body = !parser.is_done();
    auto target = std::string_view(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (target.starts_with("/ring/") && req.method() == http::verb::get && !has_body) {
      check_ring_request(req);
    }
    if (!req.keep_alive() || has_body) return 0;
  }
  return 0;
}
