#pragma once
// A deliberately dumb HTTP/1.1 client for the server's framing tests: it sends the bytes
// it is given, exactly, and reports what came back and whether the server closed the
// connection, so a request the server splits in two shows as a second reply.

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace poolwatch::testing {

struct RawHttpReply {
  std::string error;                          // connect or write failure; empty otherwise
  unsigned status = 0;                        // 0 when no whole reply header came
  std::map<std::string, std::string> fields;  // the first reply's, names upper-cased
  std::string body;                           // by its Content-Length
  std::string after_reply;                    // bytes after the first reply
  bool closed = false;                        // the server closed within the guard
};

// Connects, writes `request`, then reads until the server closes the connection or
// nothing arrives for `guard`.
RawHttpReply raw_http_exchange(const boost::asio::ip::tcp::endpoint& server,
                               std::string_view request, std::chrono::milliseconds guard);

}  // namespace poolwatch::testing
