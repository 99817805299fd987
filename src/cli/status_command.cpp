#include "poolwatch/cli/status_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <ctime>
#include <ostream>
#include <sstream>
#include <thread>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/http/status_page.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::uint64_t kMaxBody = 16 * 1024 * 1024;

// A peer's text for the terminal: whole, every control byte replaced.
std::string printable_excerpt_all(std::string_view text) {
  return printable_excerpt(text, std::string_view::npos, false);
}

std::string latency(double ms) {
  return ms > 0 ? fmt::format("{:.1f} ms", ms) : "-";
}

asio::awaitable<HttpFetchResult> get_dialogue(tcp::socket& socket, StatusUrl url) {
  HttpFetchResult result;
  auto [connect_ec] = co_await socket.async_connect(url.endpoint, use_tuple);
  if (connect_ec) {
    result.error = fmt::format("cannot connect: {}", connect_ec.message());
    co_return result;
  }
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "poolwatch-status");
  req.keep_alive(false);
  auto [write_ec, written] = co_await http::async_write(socket, req, use_tuple);
  if (write_ec) {
    result.error = fmt::format("cannot send the request: {}", write_ec.message());
    co_return result;
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  auto [read_ec, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
  if (read_ec) {
    result.error = fmt::format("bad answer: {}", read_ec.message());
    co_return result;
  }
  result.status = parser.get().result_int();
  result.body = std::move(parser.get().body());
  co_return result;
}

asio::awaitable<HttpFetchResult> get_with_deadline(StatusUrl url,
                                                   std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  asio::steady_timer timer(executor);
  timer.expires_after(timeout);
  auto outcome = co_await (get_dialogue(socket, url) || timer.async_wait(use_tuple));
  if (outcome.index() == 1) {
    HttpFetchResult result;
    result.error = fmt::format("no answer within {} ms", timeout.count());
    co_return result;
  }
  co_return std::get<0>(std::move(outcome));
}

}  // namespace

std::string render_status_table(const std::vector<BackendStatusView>& backends,
                                std::int64_t now_unix) {
  using Row = std::array<std::string, 6>;
  std::vector<Row> rows{{"BACKEND", "STATE", "LAST OUTCOME", "LATENCY", "SINCE", "REASON"}};
  for (const auto& b : backends) {
    rows.push_back({printable_excerpt_all(b.address), printable_excerpt_all(b.state),
                    printable_excerpt_all(b.last_outcome), latency(b.last_latency_ms),
                    age_text(b.since_unix, now_unix), printable_excerpt_all(b.reason)});
    for (const auto& c : b.checks) {
      auto failures = c.consecutive_failures > 0
                          ? fmt::format("{} consecutive failures", c.consecutive_failures)
                          : std::string();
      rows.push_back({"  " + printable_excerpt_all(c.name), printable_excerpt_all(c.state),
                      printable_excerpt_all(c.last_outcome), latency(c.last_latency_ms), "",
                      failures});
    }
    // The earliest expiry of the backend's TLS checks, flagged inside the log's warning
    // window: with verify_peer off (the default) an expired certificate still shakes hands.
    if (b.cert_expiry_unix) {
      const bool soon = days_until(*b.cert_expiry_unix, now_unix) < kCertExpiryWarnDays;
      rows.push_back(
          {"  certificate", "", "", "", "",
           (soon ? "EXPIRES SOON: " : "") + cert_expiry_text(*b.cert_expiry_unix, now_unix)});
    }
    if (b.ring) {
      const auto votes = fmt::format("{} down, {} up of {} (quorum {})", b.ring->votes_down,
                                     b.ring->votes_up, b.ring->voters, b.ring->quorum);
      const auto overruled =
          b.ring->overruled == "no" ? std::string() : printable_excerpt_all(b.ring->overruled);
      rows.push_back({"  ring", printable_excerpt_all(b.ring->verdict), votes, "", "", overruled});
    }
  }
  std::array<std::size_t, 6> width{};
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (backends.empty()) out += "(no backends)\n";
  return out;
}

std::string render_ring_summary(const RingStatusView& ring) {
  std::string out = fmt::format(
      "ring: role {} ({}); self {}, actor {}; {} of {} directors' instances answering, quorum {}, "
      "{} down(s) held by the ring\n",
      printable_excerpt_all(ring.role), printable_excerpt_all(ring.reason),
      ring.self.empty() ? "unknown" : printable_excerpt_all(ring.self),
      ring.actor.empty() ? "none" : printable_excerpt_all(ring.actor), ring.answering, ring.listed,
      ring.quorum, ring.owned);
  for (const auto& peer : ring.peers) {
    out += fmt::format(
        "  peer {}: {}{}{}{}\n", printable_excerpt_all(peer.id),
        peer.answering ? "answering" : "not answering",
        peer.role.empty() ? "" : fmt::format(", {}", printable_excerpt_all(peer.role)),
        peer.age_ms < 0
            ? ""
            : fmt::format(", last report {:.1f} s ago", static_cast<double>(peer.age_ms) / 1000),
        peer.problem.empty() ? ""
                             : fmt::format(", problem: {}", printable_excerpt_all(peer.problem)));
  }
  return out;
}

std::optional<StatusUrl> parse_status_url(std::string_view url, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<StatusUrl> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return fail("only http:// URLs are supported");
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  StatusUrl parsed;
  parsed.target = slash == std::string_view::npos ? "/status" : std::string(rest.substr(slash));
  parsed.host = std::string(authority);
  // Reuse the listen-address parser; a URL without a port means port 80.
  std::string with_port(authority);
  bool has_port = authority.starts_with("[") ? authority.find("]:") != std::string_view::npos
                                             : authority.find(':') != std::string_view::npos;
  if (!has_port) with_port += ":80";
  auto endpoint = parse_listen_address(with_port);
  if (!endpoint)
    return fail(fmt::format("'{}' is not an IP address with an optional port", authority));
  parsed.endpoint = *endpoint;
  return parsed;
}

bool status_endpoint_allowed(const tcp::endpoint& endpoint, const HttpConfig& http_config) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  if (address.is_loopback()) return true;
  auto listen = parse_listen_address(http_config.listen);
  return listen && !listen->address().is_unspecified() && listen->address() == address;
}

std::string default_status_url(const HttpConfig& http_config) {
  auto listen = parse_listen_address(http_config.listen);
  if (!listen) return "http://127.0.0.1:9167/status";
  auto address = listen->address();
  if (address.is_unspecified())
    address = address.is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                              : asio::ip::address(asio::ip::address_v4::loopback());
  auto host = address.is_v6() ? fmt::format("[{}]", address.to_string()) : address.to_string();
  return fmt::format("http://{}:{}/status", host, listen->port());
}

HttpFetchResult http_get(const StatusUrl& url, std::chrono::milliseconds timeout) {
  asio::io_context context;
  HttpFetchResult result;
  asio::co_spawn(context, get_with_deadline(url, timeout),
                 [&result](std::exception_ptr e, HttpFetchResult r) {
                   if (e)
                     result.error = exception_message(e);
                   else
                     result = std::move(r);
                 });
  context.run();
  return result;
}

namespace {

// Homes the cursor and clears the terminal (ANSI), so that each round redraws in place.
constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

int status_once(const StatusCommandOptions& options, std::ostream& out, std::ostream& err) {
  auto url_text = options.url.empty() ? default_status_url(options.http) : options.url;
  std::string error;
  auto url = parse_status_url(url_text, &error);
  if (!url) {
    err << "poolwatch status: " << url_text << ": " << error << "\n";
    return 2;
  }
  if (!status_endpoint_allowed(url->endpoint, options.http)) {
    err << "poolwatch status: " << url_text
        << ": only loopback or the configured listen address may be asked\n";
    return 2;
  }
  auto fetched = http_get(*url, options.timeout);
  if (!fetched.error.empty()) {
    err << "poolwatch status: " << url_text << ": " << fetched.error << "\n";
    return 2;
  }
  if (fetched.status != 200) {
    err << "poolwatch status: " << url_text << ": HTTP " << fetched.status << "\n";
    return 2;
  }
  auto backends = parse_status_json(fetched.body, &error);
  if (!backends) {
    err << "poolwatch status: " << url_text << ": unreadable answer: " << error << "\n";
    return 2;
  }
  if (options.json) {
    out << fetched.body;
    if (fetched.body.empty() || fetched.body.back() != '\n') out << "\n";
  } else {
    if (auto ring = parse_ring_status(fetched.body, &error)) out << render_ring_summary(*ring);
    out << render_status_table(*backends, static_cast<std::int64_t>(std::time(nullptr)));
  }
  return status_exit_code(*backends);
}

// A round's errors are drawn on the screen with its table: on stderr they would
// scroll away under the next redraw.
int watch_status(const StatusCommandOptions& options, std::ostream& out) {
  int code = 2;
  for (std::uint64_t round = 0; options.watch_rounds == 0 || round < options.watch_rounds;
       ++round) {
    if (round > 0) std::this_thread::sleep_for(options.watch_interval);
    std::ostringstream frame;
    code = status_once(options, frame, frame);
    out << kClearScreen
        << fmt::format("poolwatch status every {:.1f} s, {} (Ctrl-C stops)\n\n",
                       static_cast<double>(options.watch_interval.count()) / 1000,
                       utc_text(static_cast<std::int64_t>(std::time(nullptr))))
        << frame.str();
    out.flush();
  }
  return code;
}

}  // namespace

int run_status_command(const StatusCommandOptions& options, std::ostream& out, std::ostream& err) {
  return options.watch ? watch_status(options, out) : status_once(options, out, err);
}

}  // namespace poolwatch
