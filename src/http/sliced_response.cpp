#include "sliced_response.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <string>

#include "poolwatch/common/asio_tokens.hpp"

namespace poolwatch::http_detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace asio::experimental::awaitable_operators;

namespace {

Response internal_error(unsigned version) {
  Response res{http::status::internal_server_error, version};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = "internal error\n";
  res.prepare_payload();
  return res;
}

// Runs the writer once; false (and logged) when it threw.
bool next_slice(const BodyWriter& writer, std::string& body, bool& complete) {
  try {
    complete = writer(body);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("http: handler failed: {}", e.what());
  }
  return false;
}

// Writes `buffers` within the loop's timeout; false when the client is gone or too slow.
template <typename Buffers>
asio::awaitable<bool> write_within(const SliceLoop& loop, asio::ip::tcp::socket& socket,
                                   asio::steady_timer& timer, Buffers buffers) {
  timer.expires_after(loop.timeout);
  auto write =
      co_await (asio::async_write(socket, buffers, use_tuple) || timer.async_wait(use_tuple));
  co_return write.index() == 0 && !std::get<0>(std::get<0>(write));
}

// The head, then every slice as it comes, in chunks (HTTP/1.0: plain, ended by the close).
asio::awaitable<Sliced> stream(const SliceLoop& loop, asio::ip::tcp::socket& socket,
                               asio::steady_timer& timer, Response& res, const BodyWriter& writer,
                               bool& keep_alive) {
  const bool chunked = res.version() >= 11;
  if (!chunked) keep_alive = false;
  http::response<http::empty_body> head{std::move(res.base())};
  head.keep_alive(keep_alive);
  head.erase(http::field::content_length);  // of the empty body the handler's reply began with
  if (chunked) head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  timer.expires_after(loop.timeout);
  auto wrote_head = co_await (http::async_write_header(socket, serializer, use_tuple) ||
                              timer.async_wait(use_tuple));
  if (wrote_head.index() == 1 || std::get<0>(std::get<0>(wrote_head))) co_return Sliced::cut;
  std::string& body = res.body();
  for (bool complete = false;;) {
    if (!complete && body.size() < kWholeBodyLimit) {
      if (!next_slice(writer, body, complete)) co_return Sliced::cut;  // the client sees it cut
      if (!complete) co_await asio::post(loop.executor, asio::use_awaitable);
      if (loop.stopped) co_return Sliced::cut;
      continue;
    }
    // Named, not temporaries in the co_await: g++ 12 miscompiles those.
    bool wrote = true;
    if (!body.empty() && chunked) {
      const auto chunk = http::make_chunk(asio::buffer(body));
      wrote = co_await write_within(loop, socket, timer, chunk);
    } else if (!body.empty()) {
      const auto plain = asio::buffer(body);
      wrote = co_await write_within(loop, socket, timer, plain);
    }
    if (!wrote) co_return Sliced::cut;
    body.clear();
    if (!complete) continue;
    if (chunked) {
      const auto last = http::make_chunk_last();
      const bool ended = co_await write_within(loop, socket, timer, last);
      if (!ended) co_return Sliced::cut;
    }
    co_return Sliced::sent;
  }
}

// HEAD: the length of the body a GET would get, made and thrown away a slice at a time.
asio::awaitable<Sliced> measure(const SliceLoop& loop, Response& res, const BodyWriter& writer) {
  std::size_t length = 0;
  std::string slice;
  for (bool complete = false; !complete;) {
    if (!next_slice(writer, slice, complete)) {
      res = internal_error(res.version());
      res.body().clear();  // a HEAD: the length only
      co_return Sliced::whole;
    }
    length += slice.size();
    slice.clear();
    if (complete) break;
    co_await asio::post(loop.executor, asio::use_awaitable);
    if (loop.stopped) co_return Sliced::cut;
  }
  res.content_length(length);
  co_return Sliced::whole;
}

}  // namespace

asio::awaitable<Sliced> send_sliced(const SliceLoop& loop, asio::ip::tcp::socket& socket,
                                    asio::steady_timer& timer, Response& res,
                                    const BodyWriter& writer, bool head_only, bool& keep_alive) {
  if (head_only) {
    const auto measured = co_await measure(loop, res, writer);
    co_return measured;
  }
  for (;;) {
    bool complete = false;
    if (!next_slice(writer, res.body(), complete)) {
      res = internal_error(res.version());
      co_return Sliced::whole;
    }
    if (complete) co_return Sliced::whole;
    if (res.body().size() >= kWholeBodyLimit) {
      const auto streamed = co_await stream(loop, socket, timer, res, writer, keep_alive);
      co_return streamed;
    }
    co_await asio::post(loop.executor, asio::use_awaitable);
    if (loop.stopped) co_return Sliced::cut;
  }
}

}  // namespace poolwatch::http_detail
