#pragma once
// The probe's side of one connection to a backend: TCP connect, implicit TLS or a
// STARTTLS upgrade of the same socket, capped line reads, writes, and the transcript.
// The first failure is kept with its class and a human reason; every operation after
// it returns false/nullopt, so a dialogue is a straight sequence of
// `if (!co_await ...) co_return;`.

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/line_buffer.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/probe_outcome.hpp"
#include "poolwatch/probe/secret_scrubber.hpp"
#include "poolwatch/probe/tls_context.hpp"
#include "poolwatch/probe/transcript.hpp"

namespace poolwatch {

struct TransportLimits {
  std::size_t max_line = 8192;      // per line
  std::size_t max_bytes = 1 << 20;  // read in the whole dialogue
};

class Transport {
 public:
  // `source`: the local address to connect from (probe.source_address); none: the
  // kernel's choice.
  // `tls`: the TLS context of start_tls(); null for a plain dialogue.
  Transport(boost::asio::any_io_executor executor, TlsContextCache* tls,
            boost::asio::ip::tcp::endpoint peer, std::string host_name, TransportLimits limits,
            std::optional<boost::asio::ip::address> source = std::nullopt);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Opens the socket and starts the connect; the first read (or await_connected())
  // finishes it. A refusal is reported by that read as connect_refused.
  bool connect();
  // Waits until a started connect has finished (a TLS handshake or a write needs it).
  boost::asio::awaitable<bool> await_connected();
  // TLS handshake on the connected socket: right after connect() for implicit TLS, or
  // after the server accepted STARTTLS/STLS. Fails if the server already sent bytes
  // past that reply (they would be injected plaintext).
  boost::asio::awaitable<bool> start_tls();
  // The next line without CRLF, or nullopt after a failure (closed, reset, overlong
  // line, too many bytes).
  boost::asio::awaitable<std::optional<std::string>> read_line();
  // Sends line + CRLF; the transcript shows `shown` instead when given (masked secrets).
  boost::asio::awaitable<bool> write_line(std::string_view line);
  boost::asio::awaitable<bool> write_line(std::string_view line, std::string_view shown);
  void close();

  // Records the failure unless one is recorded already; always returns false.
  bool fail(FailureClass failure, std::string reason);
  // Replaces any recorded failure (the deadline wins over what its cancellation caused).
  void override_failure(FailureClass failure, std::string reason);
  bool failed() const { return failure_ != FailureClass::none; }
  FailureClass failure() const { return failure_; }
  const std::string& reason() const { return reason_; }

  // What the dialogue is waiting for, used in reasons: "greeting", "LOGIN reply".
  void set_step(std::string_view step) { step_.assign(step); }
  // "<verb> reply", made in place: a command's step costs no allocation.
  void set_reply_step(std::string_view verb) { step_.assign(verb).append(" reply"); }
  const std::string& step() const { return step_; }
  // The TCP handshake has finished (read by the kernel while nothing was read yet).
  bool connected() const;
  bool tls_active() const { return tls_stream_.has_value(); }
  // The earliest notAfter of the backend's chain once a TLS handshake has finished.
  std::optional<std::int64_t> cert_not_after() const { return cert_not_after_; }

  // What the dialogue will send as a secret: scrubbed from every transcript line and
  // failure reason from now on, whatever the backend sends back.
  void set_secrets(SecretScrubber secrets) { secrets_ = std::move(secrets); }
  void note(std::string text);  // a transcript line that is neither sent nor received
  std::vector<std::string> transcript_lines() const {
    return transcript_ ? transcript_->lines() : std::vector<std::string>{};
  }
  // Off: no transcript is kept (each line costs a scrub, an excerpt and allocations);
  // the reason of a failure is made all the same.
  void keep_transcript(bool on) { keep_transcript_ = on; }

 private:
  boost::asio::awaitable<std::optional<std::string>> tls_verify_name();
  bool fail_io(const boost::system::error_code& ec);
  bool fail_connect(const boost::system::error_code& ec);
  static bool is_connect_failure(const boost::system::error_code& ec);
  void note_connected();
  bool bind_source();
  void record(std::string line);  // to the transcript, when one is kept
  void disable_nagle();

  boost::asio::any_io_executor executor_;
  TlsContextCache* tls_;
  boost::asio::ip::tcp::endpoint peer_;
  std::optional<boost::asio::ip::address> source_;
  std::string host_name_;
  TransportLimits limits_;
  TlsSessionKey session_key_;  // must outlive tls_stream_ (OpenSSL holds a pointer)
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_stream_;
  LineBuffer lines_;
  std::size_t bytes_read_ = 0;
  // Not zeroed: only what a read filled is used, and clearing 4 KiB cost every probe some
  // 550 instructions (1 % of its user-space work) and 64 cache lines.
  std::array<char, 4096> read_buffer_;
  bool connected_ = false;
  bool connect_pending_ = false;  // connect() returned EINPROGRESS, nothing read since
  bool wrote_last_ = false;       // no line read since the last write
  bool nagle_off_ = false;
  std::optional<std::int64_t> cert_not_after_;
  FailureClass failure_ = FailureClass::none;
  std::string reason_;
  std::string step_ = "connect";
  SecretScrubber secrets_;
  // Made at its first line: an empty one allocates (its deque), and the daemon keeps none.
  std::optional<Transcript> transcript_;
  bool keep_transcript_ = true;
};

}  // namespace poolwatch
