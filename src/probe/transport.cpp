#include "poolwatch/probe/transport.hpp"

#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <memory>
#include <tuple>

#include "poolwatch/common/asio_address.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/cert_expiry.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

// The resolver cannot be cancelled per operation, so the probe waits on a timer that the
// lookup's handler cancels; when the deadline cancels that wait instead, the lookup runs
// on and only its shared state outlives the probe.
struct ReverseLookup {
  explicit ReverseLookup(asio::any_io_executor executor) : resolver(executor), done(executor) {}
  tcp::resolver resolver;
  asio::steady_timer done;
  bool finished = false;
  std::optional<std::string> name;
};

awaitable<std::optional<std::string>> reverse_lookup(asio::any_io_executor executor,
                                                     asio::ip::address address) {
  auto lookup = std::make_shared<ReverseLookup>(executor);
  lookup->done.expires_at(asio::steady_timer::time_point::max());
  lookup->resolver.async_resolve(
      tcp::endpoint(address, 0),
      [lookup](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        lookup->finished = true;
        if (!ec && !results.empty()) lookup->name = results.begin()->host_name();
        lookup->done.cancel();
      });
  co_await lookup->done.async_wait(use_tuple);
  co_return lookup->finished ? lookup->name : std::nullopt;
}

// An errno that says this host is out of descriptors, buffers, ports or memory.
bool is_local_resource(const boost::system::error_code& ec) {
  return ec.category() == boost::system::system_category() && is_local_resource_error(ec.value());
}

}  // namespace

Transport::Transport(asio::any_io_executor executor, TlsContextCache* tls, tcp::endpoint peer,
                     std::string host_name, TransportLimits limits,
                     std::optional<asio::ip::address> source)
    : executor_(executor),
      tls_(tls),
      peer_(peer),
      source_(source),
      host_name_(std::move(host_name)),
      limits_(limits),
      session_key_{from_asio(peer.address()), peer.port()},
      socket_(executor),
      lines_(limits.max_line) {}

bool Transport::fail(FailureClass failure, std::string reason) {
  if (failure_ == FailureClass::none) {
    failure_ = failure;
    reason_ = secrets_.scrub(reason);
  }
  return false;
}

void Transport::override_failure(FailureClass failure, std::string reason) {
  failure_ = failure;
  reason_ = secrets_.scrub(reason);
}

void Transport::record(std::string line) {
  if (!transcript_) transcript_.emplace();
  transcript_->add(std::move(line));
}

void Transport::note(std::string text) {
  if (keep_transcript_) record("-- " + secrets_.scrub(text));
}

bool Transport::fail_io(const boost::system::error_code& ec) {
  namespace error = asio::error;
  if (is_local_resource(ec))
    return fail(FailureClass::local_resource,
                fmt::format("{} while waiting for {} (a limit of this host, not the backend)",
                            ec.message(), step_));
  if (ec == error::eof || ec == asio::ssl::error::stream_truncated)
    return fail(FailureClass::io_error, "connection closed by server while waiting for " + step_);
  if (ec == error::connection_reset || ec == error::broken_pipe)
    return fail(FailureClass::io_error, "connection reset by server while waiting for " + step_);
  if (ec == error::operation_aborted)
    return fail(FailureClass::timeout, "cancelled while waiting for " + step_);
  return fail(FailureClass::io_error, fmt::format("{} while waiting for {}", ec.message(), step_));
}

// probe.source_address: the socket is opened and bound before connect(). When that
// fails nothing has been sent and nothing is known of the backend: the fault is this
// host's setting or limit, like running out of descriptors.
bool Transport::bind_source() {
  if (!source_) return true;
  if (source_->is_v4() != peer_.address().is_v4())
    return fail(FailureClass::local_resource,
                fmt::format("cannot connect from probe.source_address {} (IPv{}) to an IPv{} "
                            "backend (a setting of this host, not the backend)",
                            source_->to_string(), source_->is_v4() ? 4 : 6,
                            peer_.address().is_v4() ? 4 : 6));
  boost::system::error_code ec;
  socket_.open(peer_.protocol(), ec);
  if (ec)
    return fail(FailureClass::local_resource,
                fmt::format("could not open a socket: {} (a limit of this host, not the backend)",
                            ec.message()));
  // The port is chosen at connect(), per destination, as without a bind: bind() with
  // port 0 would hold a port of its own for every probe and its TIME_WAIT. A kernel
  // without the option (before Linux 4.2) still binds, only with that cost.
  const int defer_port = 1;
  ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &defer_port,
               sizeof defer_port);
  socket_.bind(tcp::endpoint(*source_, 0), ec);
  if (ec)
    return fail(FailureClass::local_resource,
                fmt::format("could not bind to probe.source_address {}: {} (a setting or limit "
                            "of this host, not the backend)",
                            source_->to_string(), ec.message()));
  return true;
}

// socket() runs out of descriptors (EMFILE) and connect() of local ports
// (EADDRNOTAVAIL) on this host: a backend must not be taken down for that.
bool Transport::fail_connect(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted)
    return fail(FailureClass::connect_timeout, "connect cancelled");
  if (is_local_resource(ec))
    return fail(
        FailureClass::local_resource,
        fmt::format("could not connect: {} (a limit of this host, not the backend)", ec.message()));
  return fail(FailureClass::connect_refused, "connect failed: " + ec.message());
}

// Every backend speaks first (a greeting), so the probe does not wait for the connect to
// finish: the first read waits, and the greeting, or the refusal, wakes it. That is one
// wake-up of the loop per probe fewer than Asio's async_connect (which waits for
// writable, then polls and reads SO_ERROR), the floor's own way. A TLS handshake or a
// write, where the client speaks first, waits for the connect in await_connected().
bool Transport::connect() {
  if (failed()) return false;
  step_ = "connect";
  if (!bind_source()) return false;
  boost::system::error_code ec;
  if (!socket_.is_open()) socket_.open(peer_.protocol(), ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (ec) return fail_connect(ec);
  if (::connect(socket_.native_handle(), peer_.data(), static_cast<socklen_t>(peer_.size())) == 0) {
    connected_ = true;
    return true;
  }
  const int error = errno;
  if (error != EINPROGRESS)
    return fail_connect(boost::system::error_code(error, asio::error::get_system_category()));
  connect_pending_ = true;
  return true;
}

awaitable<bool> Transport::await_connected() {
  if (failed()) co_return false;
  if (!connect_pending_) co_return true;
  auto [ec] = co_await socket_.async_wait(tcp::socket::wait_write, use_tuple);
  if (!ec) {
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_ERROR, &error, &size) != 0)
      error = errno;
    if (error != 0) ec = boost::system::error_code(error, asio::error::get_system_category());
  }
  if (ec) co_return fail_connect(ec);
  note_connected();
  co_return true;
}

void Transport::note_connected() {
  connect_pending_ = false;
  connected_ = true;
}

bool Transport::connected() const {
  if (!connect_pending_) return connected_;
  // Nothing read yet: the kernel knows whether the handshake finished.
  boost::system::error_code ec;
  socket_.remote_endpoint(ec);
  return !ec;
}

// What a read on a socket whose connect had not finished reports when the connect
// failed: the SYN refused or unanswered, the route gone, or a limit of this host.
bool Transport::is_connect_failure(const boost::system::error_code& ec) {
  namespace error = asio::error;
  return ec == error::connection_refused || ec == error::host_unreachable ||
         ec == error::network_unreachable || ec == error::timed_out || is_local_resource(ec);
}

awaitable<std::optional<std::string>> Transport::tls_verify_name() {
  if (tls_->config().verify_name != VerifyName::ptr)
    co_return tls_->expected_name(from_asio(peer_.address()), host_name_);
  step_ = "reverse DNS lookup";
  auto name = co_await reverse_lookup(executor_, peer_.address());
  if (!name || IpAddress::parse(*name).has_value()) {
    fail(FailureClass::tls_verify,
         fmt::format("no PTR name for {} to verify the certificate against",
                     peer_.address().to_string()));
    co_return std::nullopt;
  }
  co_return name;
}

awaitable<bool> Transport::start_tls() {
  if (failed()) co_return false;
  if (!tls_) co_return fail(FailureClass::local_resource, "no TLS context for this probe");
  if (lines_.buffered() > 0)
    co_return fail(FailureClass::protocol_error,
                   "server sent data before the TLS handshake (possible command injection)");
  const bool connected = co_await await_connected();
  if (!connected) co_return false;
  const auto verify_name = co_await tls_verify_name();
  if (!verify_name) co_return false;
  step_ = "TLS handshake";
  tls_stream_.emplace(std::move(socket_), tls_->context());
  SSL* ssl = tls_stream_->native_handle();
  tls_->prepare(ssl, &session_key_, *verify_name);
  auto [ec] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (ec) {
    tls_->forget(session_key_);
    const long verify_result = SSL_get_verify_result(ssl);
    if (tls_->config().verify_peer && verify_result != X509_V_OK)
      co_return fail(FailureClass::tls_verify,
                     fmt::format("certificate verification failed: {} (expected name \"{}\")",
                                 X509_verify_cert_error_string(verify_result), *verify_name));
    if (ec == asio::error::operation_aborted) co_return fail_io(ec);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      co_return fail(FailureClass::tls_handshake, "connection closed during the TLS handshake");
    co_return fail(FailureClass::tls_handshake, "TLS handshake failed: " + ec.message());
  }
  // The next write may follow the handshake's last flight before anything is read.
  disable_nagle();
  tls_->note_handshake(ssl);
  cert_not_after_ = earliest_cert_expiry(ssl);
  note(fmt::format("TLS established: {}{}", SSL_get_version(ssl),
                   SSL_session_reused(ssl) ? ", session resumed" : ""));
  co_return true;
}

awaitable<std::optional<std::string>> Transport::read_line() {
  if (failed()) co_return std::nullopt;
  for (;;) {
    if (auto line = lines_.next_line()) {
      // Scrubbed before the cut, which could split a secret.
      if (keep_transcript_) record("S: " + printable_excerpt(secrets_.scrub(*line), 1000));
      wrote_last_ = false;
      co_return line;
    }
    if (bytes_read_ >= limits_.max_bytes) {
      fail(FailureClass::protocol_error,
           fmt::format("server sent more than {} bytes while waiting for {}", limits_.max_bytes,
                       step_));
      co_return std::nullopt;
    }
    const auto buffer = asio::buffer(
        read_buffer_.data(), std::min(read_buffer_.size(), limits_.max_bytes - bytes_read_));
    // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_stream_)
      std::tie(ec, n) = co_await tls_stream_->async_read_some(buffer, use_tuple);
    else
      std::tie(ec, n) = co_await socket_.async_read_some(buffer, use_tuple);
    bytes_read_ += n;
    if (n > 0 && connect_pending_) note_connected();
    if (n > 0 && lines_.feed({read_buffer_.data(), n}) == LineBuffer::Status::line_too_long) {
      fail(FailureClass::protocol_error,
           fmt::format("line longer than {} bytes while waiting for {}", limits_.max_line, step_));
      co_return std::nullopt;
    }
    // Lines that arrived together with an EOF are still delivered first.
    if (ec && !lines_.has_line()) {
      if (connect_pending_ && is_connect_failure(ec))
        fail_connect(ec);
      else
        fail_io(ec);
      co_return std::nullopt;
    }
  }
}

awaitable<bool> Transport::write_line(std::string_view line) {
  return write_line(line, line);
}

awaitable<bool> Transport::write_line(std::string_view line, std::string_view shown) {
  if (failed()) co_return false;
  if (keep_transcript_) record("C: " + secrets_.scrub(shown));
  if (connect_pending_) {
    const bool connected = co_await await_connected();
    if (!connected) co_return false;
  }
  if (wrote_last_) disable_nagle();
  wrote_last_ = true;
  std::string wire;
  wire.reserve(line.size() + 2);
  wire.append(line).append("\r\n");
  boost::system::error_code ec;
  std::size_t n = 0;
  if (tls_stream_) {
    std::tie(ec, n) = co_await asio::async_write(*tls_stream_, asio::buffer(wire), use_tuple);
  } else {
    // A command is a few bytes into an empty send buffer: the non-blocking socket takes it
    // at once, without an operation that completes on a later turn of the loop.
    n = socket_.write_some(asio::buffer(wire), ec);
    if (ec == asio::error::would_block) ec = {};
    if (!ec && n < wire.size()) {
      const auto rest = asio::buffer(wire) + n;
      std::tie(ec, std::ignore) = co_await asio::async_write(socket_, rest, use_tuple);
    }
  }
  if (ec) co_return fail_io(ec);
  co_return true;
}

// Nagle holds a small segment back only while earlier data is unacknowledged: after a
// reply has been read, everything sent before it is acknowledged. A probe mostly sends
// one command and reads its reply, so TCP_NODELAY is set only when it writes twice in a
// row (a deep check's message and its end) or after a TLS handshake, where the delayed
// ACK would otherwise cost up to 40 ms; other probes save the syscall.
void Transport::disable_nagle() {
  if (nagle_off_) return;
  nagle_off_ = true;
  boost::system::error_code ignored;
  auto& socket = tls_stream_ ? tls_stream_->next_layer() : socket_;
  socket.set_option(tcp::no_delay(true), ignored);
}

void Transport::close() {
  boost::system::error_code ignored;
  // OpenSSL invalidates the session of a connection freed without a shutdown; the
  // dialogue has ended (LOGOUT/QUIT), so mark it closed to keep the session resumable.
  if (tls_stream_ && failure_ != FailureClass::tls_handshake &&
      failure_ != FailureClass::tls_verify)
    SSL_set_shutdown(tls_stream_->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  // close() alone ends the connection as shutdown() would: the dialogue is over.
  auto& socket = tls_stream_ ? tls_stream_->next_layer() : socket_;
  socket.close(ignored);
}

}  // namespace poolwatch
