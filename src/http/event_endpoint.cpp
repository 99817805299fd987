#include "poolwatch/http/event_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <unordered_set>

#include "poolwatch/common/asio_address.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/common/token_bucket.hpp"
#include "poolwatch/http/http_server.hpp"
#include "request_framing.hpp"
#include "socket_slot.hpp"

namespace poolwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

std::string_view to_string(PostResult r) {
  switch (r) {
    case PostResult::accepted:
      return "accepted";
    case PostResult::bad_json:
      return "bad_json";
    case PostResult::too_large:
      return "too_large";
    case PostResult::forbidden:
      return "forbidden";
    case PostResult::rate_limited:
      return "rate_limited";
    case PostResult::not_found:
      return "not_found";
    case PostResult::bad_request:
      return "bad_request";
  }
  return "bad_request";
}

struct EventEndpoint::State {
  State(asio::any_io_executor ex, EventEndpointSettings s, EventEndpointHandlers h)
      : executor(std::move(ex)),
        settings(std::move(s)),
        handlers(std::move(h)),
        acceptor(executor),
        bucket(settings.max_posts_per_second, settings.max_posts_per_second) {}

  void count(PostResult r) const {
    if (handlers.counted) handlers.counted(r);
  }

  asio::any_io_executor executor;
  EventEndpointSettings settings;
  EventEndpointHandlers handlers;
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  TokenBucket bucket;
  bool stopped = false;
  std::size_t active = 0;
  std::unordered_set<tcp::socket*> sockets;
};

namespace {

using EndpointState = EventEndpoint::State;
using Reply = http::response<http::empty_body>;

Reply empty_reply(http::status status, bool keep_alive) {
  Reply res{status, 11};
  res.set(http::field::server, "poolwatch");
  if (status == http::status::too_many_requests) res.set(http::field::retry_after, "1");
  res.keep_alive(keep_alive);
  res.content_length(0);
  return res;
}

struct Step {
  Reply res;
  bool keep_alive = false;
};

// After the header: what to answer without reading the body, if anything.
std::optional<Step> refuse_before_body(EndpointState& state,
                                       const http::request_parser<http::empty_body>& parser) {
  const auto& req = parser.get();
  auto target = std::string_view(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  PostResult result = PostResult::bad_request;
  http::status status = http::status::ok;
  if (http_detail::framing_is_ambiguous(parser)) {
    status = http::status::bad_request;
  } else if (target != state.settings.path) {
    status = http::status::not_found;
    result = PostResult::not_found;
  } else if (req.method() != http::verb::post) {
    status = http::status::method_not_allowed;
  } else if (parser.content_length() && *parser.content_length() > state.settings.max_body) {
    status = http::status::payload_too_large;
    result = PostResult::too_large;
  } else if (!state.bucket.try_take(std::chrono::steady_clock::now())) {
    status = http::status::too_many_requests;
    result = PostResult::rate_limited;
  } else {
    return std::nullopt;
  }
  state.count(result);
  // The body was not read: the connection cannot carry another request.
  return Step{empty_reply(status, false), false};
}

asio::awaitable<std::optional<Step>> read_and_post(EndpointState& state, tcp::socket& socket,
                                                   boost::beast::flat_buffer& buffer,
                                                   asio::steady_timer& timer) {
  http::request_parser<http::empty_body> header_parser;
  header_parser.header_limit(static_cast<std::uint32_t>(state.settings.header_limit));
  auto head = co_await (http::async_read_header(socket, buffer, header_parser, use_tuple) ||
                        timer.async_wait(use_tuple));
  if (head.index() == 1) co_return std::nullopt;
  const auto [head_ec, head_n] = std::get<0>(head);
  if (head_ec == http::error::end_of_stream) co_return std::nullopt;
  if (head_ec) {
    state.count(PostResult::bad_request);
    co_return Step{empty_reply(http::status::bad_request, false), false};
  }
  if (auto refused = refuse_before_body(state, header_parser)) co_return refused;
  http::request_parser<http::string_body> parser(std::move(header_parser));
  parser.body_limit(state.settings.max_body);
  auto body =
      co_await (http::async_read(socket, buffer, parser, use_tuple) || timer.async_wait(use_tuple));
  if (body.index() == 1) co_return std::nullopt;
  const auto [body_ec, body_n] = std::get<0>(body);
  if (body_ec == http::error::body_limit) {
    state.count(PostResult::too_large);
    co_return Step{empty_reply(http::status::payload_too_large, false), false};
  }
  if (body_ec) co_return std::nullopt;
  const bool keep_alive = parser.get().keep_alive();
  const bool accepted = state.handlers.post(parser.get().body());
  state.count(accepted ? PostResult::accepted : PostResult::bad_json);
  co_return Step{empty_reply(accepted ? http::status::ok : http::status::bad_request, keep_alive),
                 keep_alive};
}

asio::awaitable<void> serve_poster(std::shared_ptr<EndpointState> state, tcp::socket socket) {
  http_detail::SocketSlot slot(state->active, state->sockets, socket);
  asio::steady_timer timer(state->executor);
  boost::beast::flat_buffer buffer(state->settings.header_limit + 4096);
  while (!state->stopped) {
    timer.expires_after(state->settings.request_timeout);
    auto step = co_await read_and_post(*state, socket, buffer, timer);
    if (!step || state->stopped) break;
    auto write =
        co_await (http::async_write(socket, step->res, use_tuple) || timer.async_wait(use_tuple));
    if (write.index() == 1 || std::get<0>(std::get<0>(write)) || !step->keep_alive) break;
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// A source outside the allow-list is closed before a byte is read: it learns nothing,
// and costs one accept.
bool admit(EndpointState& state, tcp::socket& socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (!ec && state.handlers.allowed(from_asio(remote.address()))) return true;
  if (!ec)
    spdlog::debug("passive: refused a connection from {}",
                  printable_excerpt(remote.address().to_string()));
  state.count(PostResult::forbidden);
  socket.close(ec);
  return false;
}

struct LogEndpointException {
  const char* what;
  void operator()(std::exception_ptr e) const {
    if (e) spdlog::error("passive: {} failed: {}", what, exception_message(e));
  }
};

asio::awaitable<void> accept_posters(std::shared_ptr<EndpointState> state) {
  asio::steady_timer backoff(state->executor);
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(use_tuple);
    if (state->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("passive: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (!admit(*state, socket)) continue;
    if (state->active >= state->settings.max_connections) {
      state->count(PostResult::rate_limited);
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++state->active;
    asio::co_spawn(state->executor, serve_poster(state, std::move(socket)),
                   LogEndpointException{"connection"});
  }
}

}  // namespace

EventEndpoint::EventEndpoint(asio::any_io_executor executor, EventEndpointSettings settings,
                             EventEndpointHandlers handlers)
    : state_(
          std::make_shared<State>(std::move(executor), std::move(settings), std::move(handlers))) {}

EventEndpoint::~EventEndpoint() {
  stop();
}

error_code EventEndpoint::start() {
  const auto endpoint = parse_listen_address(state_->settings.listen);
  if (!endpoint) return std::make_error_code(std::errc::invalid_argument);
  if (const auto ec = open_listener(state_->acceptor, *endpoint, state_->bound)) return ec;
  spdlog::info("passive: accepting the director's events on {}:{}{}",
               state_->bound.address().to_string(), state_->bound.port(), state_->settings.path);
  asio::co_spawn(state_->executor, accept_posters(state_), LogEndpointException{"accept loop"});
  return {};
}

void EventEndpoint::stop() {
  // A plain function object (not a coroutine), so capturing is safe here.
  asio::dispatch(state_->executor, [state = state_] {
    state->stopped = true;
    error_code ignored;
    state->acceptor.close(ignored);
    for (auto* socket : state->sockets) socket->close(ignored);
  });
}

tcp::endpoint EventEndpoint::local_endpoint() const {
  return state_->bound;
}

std::size_t EventEndpoint::active_connections() const {
  return state_->active;
}

}  // namespace poolwatch
