#pragma once
// Internal to http_server.cpp: sending a body that a BodyWriter makes a slice at a time
// (/metrics, /status and the page), with the event loop running between slices.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>

#include "poolwatch/http/body_writer.hpp"

namespace poolwatch::http_detail {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A body up to this size is made whole and sent with its length, so a writer that throws
// is still a 500. A larger one goes out as it is made, in chunks of about this size: the
// /metrics of 100 000 backends is 90 MB, which held in one string cost that much memory
// per scrape and stalled the loop for 50 ms each time the string grew.
constexpr std::size_t kWholeBodyLimit = 64 * 1024;

struct SliceLoop {
  boost::asio::any_io_executor executor;
  const bool& stopped;                // the server stopped: give up between slices
  std::chrono::milliseconds timeout;  // for each write to the client
};

enum class Sliced {
  whole,  // the whole body (or a 500) is in the response, to be sent as any other
  sent,   // sent in chunks; the connection can take another request if keep-alive
  cut,    // the server stopped, the client is gone or a writer failed midway: close now
};

// Makes the body of `res` with `writer`; for HEAD (head_only) only counts its length.
// `keep_alive` is what the response says; an HTTP/1.0 client's streamed body ends with
// the connection, so it is cleared then.
boost::asio::awaitable<Sliced> send_sliced(const SliceLoop& loop,
                                           boost::asio::ip::tcp::socket& socket,
                                           boost::asio::steady_timer& timer, Response& res,
                                           const BodyWriter& writer, bool head_only,
                                           bool& keep_alive);

}  // namespace poolwatch::http_detail
