#include "poolwatch/http/http_server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <unordered_set>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/http/metrics.hpp"
#include "request_framing.hpp"
#include "sliced_response.hpp"
#include "socket_slot.hpp"

namespace poolwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

// The size of a request's start line and fields as they came over the wire, roughly.
std::size_t header_bytes(const http::request<http::empty_body>& req) {
  std::size_t n = req.method_string().size() + req.target().size() + 12;
  for (const auto& field : req) n += field.name_string().size() + field.value().size() + 4;
  return n;
}

// Bytes read from a client after its reply, so closing does not reset the connection
// before the client has read the reply (a close with unread input sends RST).
constexpr std::size_t kDrainLimit = 64 * 1024;
constexpr std::string_view kBusyReply =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
    "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n";

struct LogException {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (e) spdlog::error("http: {} failed: {}", what, exception_message(e));
  }
};

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<tcp::endpoint> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs []
  }
  auto port_number = parse_port(port);
  if (!port_number) return std::nullopt;
  if (host == "localhost") return tcp::endpoint(asio::ip::address_v4::loopback(), *port_number);
  error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, *port_number);
}

struct HttpServer::State {
  State(asio::any_io_executor ex, HttpConfig c, HttpHandlers h, HttpLimits l)
      : executor(std::move(ex)),
        config(std::move(c)),
        handlers(std::move(h)),
        limits(l),
        acceptor(executor) {}

  void close_all() {
    stopped = true;
    error_code ignored;
    acceptor.close(ignored);
    for (auto* socket : sockets) socket->close(ignored);
  }

  asio::any_io_executor executor;
  HttpConfig config;
  HttpHandlers handlers;
  HttpLimits limits;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::atomic<bool> ready{false};
  bool stopped = false;
  std::size_t active = 0;
  std::size_t refusing = 0;
  std::unordered_set<tcp::socket*> sockets;
};

namespace {

using State = HttpServer::State;
using http_detail::Response;

Response text_response(http::status status, unsigned version, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8") {
  Response res{status, version};
  res.set(http::field::server, "poolwatch");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

// A 200 whose body `pending` writes in slices (write_body_in_slices); a callback that
// throws is a 500, not a crash.
Response from_handler(const std::function<BodyWriter()>& handler, unsigned version,
                      std::string_view content_type, BodyWriter& pending) {
  try {
    pending = handler();
    return text_response(http::status::ok, version, std::string(), content_type);
  } catch (const std::exception& e) {
    spdlog::error("http: handler failed: {}", e.what());
  }
  return text_response(http::status::internal_server_error, version, "internal error\n");
}

// A ring handler's reply; one that throws is a 500, not a crash.
Response from_ring_handler(const State& state, const http::request<http::empty_body>& req) {
  const auto version = req.version();
  const HttpRequestView view{
      std::string_view(req.target().data(), req.target().size()), [&req](std::string_view name) {
        const auto value = req[boost::beast::string_view(name.data(), name.size())];
        return std::string_view(value.data(), value.size());
      }};
  try {
    HttpReply reply = state.handlers.ring(view);
    auto res = text_response(static_cast<http::status>(reply.status), version,
                             std::move(reply.body), reply.content_type);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    return res;
  } catch (const std::exception& e) {
    spdlog::error("http: ring handler failed: {}", e.what());
  }
  return text_response(http::status::internal_server_error, version, "internal error\n");
}

// The status page: besides escaping every value, the browser is told to run no script
// and load nothing, so a reason that slipped through could still do nothing.
Response page_response(const State& state, unsigned version, BodyWriter& pending) {
  auto res = from_handler(state.handlers.page, version, "text/html; charset=utf-8", pending);
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

// The response to a request; for /, /metrics and /status its body is left to `pending`.
Response route(const State& state, const http::request<http::empty_body>& req, bool has_body,
               BodyWriter& pending) {
  auto target = std::string_view(req.target());
  target = target.substr(0, target.find('?'));
  const auto version = req.version();
  bool known = target == "/healthz" || target == "/readyz" ||
               (target == "/" && state.handlers.page) ||
               (target == "/metrics" && state.handlers.metrics) ||
               (target == "/status" && state.handlers.status) ||
               (target.starts_with("/ring/") && state.handlers.ring);
  if (!known) return text_response(http::status::not_found, version, "not found\n");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(http::status::method_not_allowed, version, "method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  if (has_body)
    return text_response(http::status::payload_too_large, version, "request body not accepted\n");
  if (target == "/healthz") return text_response(http::status::ok, version, "ok\n");
  if (target == "/readyz") {
    return state.ready ? text_response(http::status::ok, version, "ready\n")
                       : text_response(http::status::service_unavailable, version, "not ready\n");
  }
  if (target == "/metrics")
    return from_handler(state.handlers.metrics, version, metrics::kExpositionContentType, pending);
  if (target.starts_with("/ring/")) return from_ring_handler(state, req);
  if (target == "/") return page_response(state, version, pending);
  return from_handler(state.handlers.status, version, "application/json", pending);
}

// Stops sending, then reads (and discards) what the client still sends for a moment.
asio::awaitable<void> drain_and_close(tcp::socket& socket, asio::steady_timer& timer,
                                      std::chrono::milliseconds grace) {
  error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    timer.expires_after(grace);
    std::array<char, 4096> scratch{};
    std::size_t drained = 0;
    while (drained < kDrainLimit) {
      auto result = co_await (socket.async_read_some(asio::buffer(scratch), use_tuple) ||
                              timer.async_wait(use_tuple));
      if (result.index() == 1) break;
      auto [read_ec, n] = std::get<0>(result);
      if (read_ec) break;
      drained += n;
    }
  }
  socket.close(ec);
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

asio::awaitable<void> serve_connection(std::shared_ptr<State> state, tcp::socket socket) {
  http_detail::SocketSlot slot(state->active, state->sockets, socket);
  if (state->stopped) co_return;
  const auto timeout = state->limits.request_timeout;
  asio::steady_timer timer(state->executor);
  // Bounded so a client cannot make the buffer grow; the parser's header limit trips
  // first.
  boost::beast::flat_buffer buffer(state->limits.header_limit + 4096);
  bool close_gracefully = false;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state->limits.header_limit));
    timer.expires_after(timeout);
    auto read = co_await (http::async_read_header(socket, buffer, parser, use_tuple) ||
                          timer.async_wait(use_tuple));
    if (read.index() == 1) {
      spdlog::debug("http: closing a connection idle or slow for {} ms", timeout.count());
      break;
    }
    auto [ec, n] = std::get<0>(read);
    if (ec == http::error::end_of_stream || (ec && !is_parse_error(ec))) break;
    Response res;
    bool keep_alive = false;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      res = text_response(http::status::request_header_fields_too_large, 11,
                          "request header too large\n");
    } else if (ec) {
      res = text_response(http::status::bad_request, 11, "bad request\n");
    } else if (header_bytes(parser.get()) > state->limits.header_limit) {
      // Beast's own limit did not trip for many small fields in one read; count them.
      res = text_response(http::status::request_header_fields_too_large, 11,
                          "request header too large\n");
    } else if (http_detail::framing_is_ambiguous(parser)) {
      res = text_response(http::status::bad_request, 11, "bad request: body framing\n");
    } else {
      const auto& req = parser.get();
      // A body is never read; the connection cannot be reused after one.
      bool has_body = !parser.is_done();
      BodyWriter pending;
      res = route(*state, req, has_body, pending);
      keep_alive = req.keep_alive() && !has_body;
      const bool head_only = req.method() == http::verb::head;
      if (pending) {
        const http_detail::SliceLoop loop{state->executor, state->stopped, timeout};
        const auto sliced = co_await http_detail::send_sliced(loop, socket, timer, res, pending,
                                                              head_only, keep_alive);
        if (sliced == http_detail::Sliced::cut) break;
        if (sliced == http_detail::Sliced::sent) {
          if (keep_alive) continue;
          close_gracefully = true;
          break;
        }
        timer.expires_after(timeout);  // the deadline is for the client's part, not ours
      }
      if (head_only && !pending) {
        res.prepare_payload();
        res.body().clear();  // Content-Length still tells the size of a GET
      }
    }
    res.keep_alive(keep_alive);
    if (res.body().size() > 0 || !res.has_content_length()) res.prepare_payload();
    auto write =
        co_await (http::async_write(socket, res, use_tuple) || timer.async_wait(use_tuple));
    if (write.index() == 1 || std::get<0>(std::get<0>(write))) break;
    if (!keep_alive) {
      close_gracefully = true;
      break;
    }
  }
  if (close_gracefully && !state->stopped)
    co_await drain_and_close(socket, timer, std::min<std::chrono::milliseconds>(timeout, 1s));
  error_code ignored;
  socket.close(ignored);
}

// Over the connection cap: a fixed 503 instead of silence, so clients can tell "busy"
// from "down".
asio::awaitable<void> refuse_connection(std::shared_ptr<State> state, tcp::socket socket) {
  http_detail::SocketSlot slot(state->refusing, state->sockets, socket);
  if (state->stopped) co_return;
  asio::steady_timer timer(state->executor);
  auto grace = std::min<std::chrono::milliseconds>(state->limits.request_timeout, 1s);
  timer.expires_after(grace);
  auto write = co_await (asio::async_write(socket, asio::buffer(kBusyReply), use_tuple) ||
                         timer.async_wait(use_tuple));
  if (write.index() == 0 && !std::get<0>(std::get<0>(write)))
    co_await drain_and_close(socket, timer, grace);
  error_code ignored;
  socket.close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
  asio::steady_timer backoff(state->executor);
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(use_tuple);
    if (state->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // E.g. out of file descriptors: wait instead of spinning on the error.
      spdlog::warn("http: accept failed: {}", ec.message());
      backoff.expires_after(100ms);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (state->active < state->limits.max_connections) {
      ++state->active;
      asio::co_spawn(state->executor, serve_connection(state, std::move(socket)),
                     LogException{"connection"});
    } else if (state->refusing < state->limits.max_refusing) {
      ++state->refusing;
      asio::co_spawn(state->executor, refuse_connection(state, std::move(socket)),
                     LogException{"refusal"});
    } else {
      error_code ignored;
      socket.close(ignored);
    }
  }
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, HttpConfig config, HttpHandlers handlers,
                       HttpLimits limits)
    : state_(std::make_shared<State>(std::move(executor), std::move(config), std::move(handlers),
                                     limits)) {}

HttpServer::~HttpServer() {
  stop();
}

error_code open_listener(tcp::acceptor& acceptor, const tcp::endpoint& endpoint,
                         tcp::endpoint& bound) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec && ::fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC) != 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound = acceptor.local_endpoint(ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

error_code HttpServer::start() {
  if (!state_->config.enabled) return {};
  if (state_->acceptor.is_open()) return asio::error::already_open;
  auto endpoint = parse_listen_address(state_->config.listen);
  if (!endpoint) return std::make_error_code(std::errc::invalid_argument);
  if (const auto ec = open_listener(state_->acceptor, *endpoint, state_->bound)) return ec;
  spdlog::info("http: listening on {}:{}", state_->bound.address().to_string(),
               state_->bound.port());
  asio::co_spawn(state_->executor, accept_loop(state_), LogException{"accept loop"});
  return {};
}

void HttpServer::stop() {
  // A plain function object (not a coroutine), so capturing is safe here.
  asio::dispatch(state_->executor, [state = state_] { state->close_all(); });
}

tcp::endpoint HttpServer::local_endpoint() const {
  return state_->bound;
}

void HttpServer::set_ready(bool ready) {
  state_->ready = ready;
}

bool HttpServer::ready() const {
  return state_->ready;
}

std::size_t HttpServer::active_connections() const {
  return state_->active;
}

std::size_t HttpServer::refusing_connections() const {
  return state_->refusing;
}

}  // namespace poolwatch
