#pragma once
// The daemon's small HTTP endpoint on the shared io_context: GET /metrics, /healthz,
// /readyz, /status and / (the status page). It must never stall the loop the probes run
// on, so every connection has a deadline, the number of connections is capped and request
// sizes are bounded.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "poolwatch/config/config.hpp"
#include "poolwatch/http/body_writer.hpp"

namespace poolwatch {

// A request as a handler that checks it itself sees it (the ring's peer exchange).
struct HttpRequestView {
  std::string_view target;
  std::function<std::string_view(std::string_view name)> header;  // "" when absent
};

struct HttpReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpHandlers {
  std::function<BodyWriter()> metrics;  // body of GET /metrics (text format 0.0.4)
  std::function<BodyWriter()> status;   // body of GET /status (JSON); unset: 404
  std::function<BodyWriter()> page;     // body of GET / (the HTML status page); unset: 404
  // GET under /ring/: the ring's peer exchange, which authenticates each request; unset: 404.
  std::function<HttpReply(const HttpRequestView&)> ring;
};

struct HttpLimits {
  std::size_t max_connections = 64;  // served at once; more are answered 503
  std::size_t max_refusing = 256;    // 503s being sent at once; beyond, plainly closed
  std::chrono::milliseconds request_timeout{10000};  // to read a request and write the reply
  std::size_t header_limit = 8192;                   // request line + headers; more gets 431
};

// "127.0.0.1:9167", "[::1]:9167" or "localhost:9167" (loopback); nullopt when the
// text is not an IP literal (or localhost) with a port.
std::optional<boost::asio::ip::tcp::endpoint> parse_listen_address(std::string_view text);

// Opens, binds and listens on `endpoint`, close-on-exec (Asio leaves its sockets
// inheritable, and a hook's lingering child would keep the port); `bound` gets the
// address really bound (port 0 picks one). On an error the acceptor is closed again.
boost::system::error_code open_listener(boost::asio::ip::tcp::acceptor& acceptor,
                                        const boost::asio::ip::tcp::endpoint& endpoint,
                                        boost::asio::ip::tcp::endpoint& bound);

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, HttpConfig config, HttpHandlers handlers,
             HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. An error (bad listen address, address in use) comes
  // back as an error_code for the caller to report at startup. A disabled config
  // returns success and listens on nothing.
  boost::system::error_code start();
  // Closes the listener and every open connection. Safe to call from any thread and
  // more than once; the work happens on the server's executor.
  void stop();

  // The bound address (port 0 in the config becomes the real port); unspecified
  // before start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // /readyz answers 200 only while ready; thread-safe.
  void set_ready(bool ready);
  bool ready() const;

  // Connections being served now (excluding ones being refused); loop thread only.
  std::size_t active_connections() const;
  // Connections over the cap being answered 503; loop thread only.
  std::size_t refusing_connections() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace poolwatch
