// The network half of the fake backends: accept loop, optional TLS, exchanges with the
// scripted failures (close at reply n, RST, drip, endless line, silence).

#include "support/fake_mail_server.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <exception>
#include <optional>
#include <tuple>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/line_buffer.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "support/test_certs.hpp"

namespace poolwatch::testing {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {}

struct FakeMailServer::Impl {
  explicit Impl(const FakeMailServerOptions& o) : options(o), acceptor(io) {}
  const FakeMailServerOptions& options;
  asio::ssl::context tls{asio::ssl::context::tls_server};  // outlives io: sessions use it
  asio::io_context io;
  tcp::acceptor acceptor;
  mutable std::mutex mutex;
  std::vector<std::string> received;
  std::size_t connections = 0;
  std::string last_peer_address;
  std::size_t handshakes = 0;
  std::size_t resumed = 0;
};

namespace {

class FakeSession {
 public:
  FakeSession(FakeMailServer::Impl& server, tcp::socket socket)
      : server_(server),
        options_(server.options),
        socket_(std::move(socket)),
        responder_(options_) {}

  awaitable<void> run() {
    if (options_.behaviour == FakeBehaviour::never_answer) {
      // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
      for (;;) {
        const auto line = co_await read_line();
        if (!line) co_return;
      }
    }
    bool ok = true;
    if (options_.tls == TlsMode::implicit) ok = co_await handshake();
    if (!ok) co_return;
    if (options_.behaviour == FakeBehaviour::endless_line) {
      const std::string chunk(4096, 'x');
      for (;;) {
        const bool sent = co_await send(chunk);
        if (!sent) co_return;
      }
    }
    const auto greeting = responder_.greeting();
    ok = co_await exchange(greeting);
    if (!ok) co_return;
    for (;;) {
      const auto line = co_await read_line();
      if (!line) co_return;
      {
        std::lock_guard lock(server_.mutex);
        server_.received.push_back(*line);
      }
      if (options_.behaviour == FakeBehaviour::reset_mid_dialogue) {
        reset();
        co_return;
      }
      const auto reply = responder_.reply_to(*line);
      if (!reply.text.empty()) ok = co_await exchange(reply.text);
      if (ok && reply.then == FakeReply::Then::start_tls) ok = co_await handshake();
      if (!ok) co_return;
      if (reply.then == FakeReply::Then::close) {
        close();
        co_return;
      }
    }
  }

 private:
  awaitable<bool> handshake() {
    tls_.emplace(std::move(socket_), server_.tls);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) co_return false;
    std::lock_guard lock(server_.mutex);
    ++server_.handshakes;
    if (SSL_session_reused(tls_->native_handle())) ++server_.resumed;
    co_return true;
  }

  awaitable<bool> send(std::string_view text) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_)
      std::tie(ec, n) = co_await asio::async_write(*tls_, asio::buffer(text), use_tuple);
    else
      std::tie(ec, n) = co_await asio::async_write(socket_, asio::buffer(text), use_tuple);
    co_return !ec;
  }

  // One reply of the dialogue (the greeting is number 1).
  awaitable<bool> exchange(std::string_view text) {
    if (++exchanges_ == options_.close_at_exchange) {
      close();
      co_return false;
    }
    if (options_.behaviour != FakeBehaviour::slow_drip) co_return co_await send(text);
    asio::steady_timer timer(socket().get_executor());
    for (char c : text) {
      const bool sent = co_await send(std::string_view(&c, 1));
      if (!sent) co_return false;
      timer.expires_after(options_.drip_interval);
      co_await timer.async_wait(use_tuple);
    }
    co_return true;
  }

  awaitable<std::optional<std::string>> read_line() {
    for (;;) {
      if (auto line = lines_.next_line()) co_return line;
      boost::system::error_code ec;
      std::size_t n = 0;
      if (tls_)
        std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(buffer_), use_tuple);
      else
        std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(buffer_), use_tuple);
      if (ec || lines_.feed({buffer_.data(), n}) != LineBuffer::Status::ok) co_return std::nullopt;
    }
  }

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }

  void close() {
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  void reset() {
    boost::system::error_code ignored;
    socket().set_option(asio::socket_base::linger(true, 0), ignored);
    socket().close(ignored);
  }

  FakeMailServer::Impl& server_;
  const FakeMailServerOptions& options_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  FakeResponder responder_;
  LineBuffer lines_{65536};
  std::array<char, 4096> buffer_{};
  int exchanges_ = 0;
};

awaitable<void> serve(FakeMailServer::Impl& server, tcp::socket socket) {
  FakeSession session(server, std::move(socket));
  co_await session.run();
}

void log_mail_server_failure(std::exception_ptr error) {
  if (error) std::fprintf(stderr, "fake mail server: %s\n", exception_message(error).c_str());
}

awaitable<void> accept_loop(FakeMailServer::Impl& server) {
  for (;;) {
    auto [ec, socket] = co_await server.acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !server.acceptor.is_open()) co_return;
    if (ec) continue;
    boost::system::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    {
      std::lock_guard lock(server.mutex);
      ++server.connections;
      server.last_peer_address = peer_ec ? std::string() : peer.address().to_string();
    }
    asio::co_spawn(server.io, serve(server, std::move(socket)), &log_mail_server_failure);
  }
}

}  // namespace

FakeMailServer::FakeMailServer(FakeMailServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  if (!options_.mailbox) options_.mailbox = std::make_shared<FakeMailbox>();
  if (options_.tls != TlsMode::plain) {
    const auto& certs = test_certificates();
    const bool wrong = options_.wrong_certificate;
    const bool soon = options_.short_lived_certificate;
    impl_->tls.use_certificate_chain_file(wrong  ? certs.wrong_cert_file
                                          : soon ? certs.soon_cert_file
                                                 : certs.server_cert_file);
    impl_->tls.use_private_key_file(wrong  ? certs.wrong_key_file
                                    : soon ? certs.soon_key_file
                                           : certs.server_key_file,
                                    asio::ssl::context::pem);
    static constexpr unsigned char session_context[] = "poolwatch-fake";
    SSL_CTX_set_session_id_context(impl_->tls.native_handle(), session_context,
                                   sizeof session_context - 1);
  }
  auto& acceptor = impl_->acceptor;
  const tcp::endpoint endpoint(asio::ip::make_address(options_.address), options_.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, accept_loop(*impl_), &log_mail_server_failure);
  thread_ = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeMailServer::~FakeMailServer() {
  impl_->io.stop();
  thread_.join();
}

std::vector<std::string> FakeMailServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

std::size_t FakeMailServer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections;
}

std::string FakeMailServer::last_peer_address() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_peer_address;
}

std::size_t FakeMailServer::tls_handshakes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->handshakes;
}

std::size_t FakeMailServer::tls_resumed() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->resumed;
}

std::string subject_of(std::string_view message) {
  constexpr std::string_view subject = "subject:";
  while (!message.empty()) {
    const auto end = message.find("\r\n");
    const auto line = message.substr(0, end);
    if (line.empty()) break;  // end of the header
    std::string lower(line.substr(0, std::min(line.size(), subject.size())));
    for (auto& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (lower == subject) {
      auto value = line.substr(subject.size());
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    if (end == std::string_view::npos) break;
    message.remove_prefix(end + 2);
  }
  return {};
}

std::uint32_t FakeMailbox::add(std::string text) {
  std::lock_guard lock(mutex_);
  messages_.push_back({next_uid_, std::move(text), false});
  return next_uid_++;
}

std::vector<FakeMailbox::Message> FakeMailbox::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::size_t FakeMailbox::size() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

std::vector<std::uint32_t> FakeMailbox::search_subject(std::string_view needle) const {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  };
  const auto wanted = lower(needle);
  std::lock_guard lock(mutex_);
  std::vector<std::uint32_t> uids;
  for (const auto& message : messages_)
    if (lower(subject_of(message.text)).find(wanted) != std::string::npos)
      uids.push_back(message.uid);
  return uids;
}

void FakeMailbox::flag_deleted(const std::vector<std::uint32_t>& uids) {
  std::lock_guard lock(mutex_);
  for (auto& message : messages_)
    if (std::find(uids.begin(), uids.end(), message.uid) != uids.end()) message.deleted = true;
}

void FakeMailbox::expunge(const std::optional<std::vector<std::uint32_t>>& uids) {
  std::lock_guard lock(mutex_);
  std::erase_if(messages_, [&uids](const Message& message) {
    return message.deleted &&
           (!uids || std::find(uids->begin(), uids->end(), message.uid) != uids->end());
  });
}

void FakeMailbox::remove(const std::vector<std::uint32_t>& uids) {
  std::lock_guard lock(mutex_);
  std::erase_if(messages_, [&uids](const Message& message) {
    return std::find(uids.begin(), uids.end(), message.uid) != uids.end();
  });
}

std::size_t FakeMailbox::probe_messages() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(messages_.begin(), messages_.end(), [](const Message& message) {
        return subject_of(message.text).starts_with("poolwatch-probe");
      }));
}

ProbeConfig probe_config_for(const FakeMailServer& server) {
  ProbeConfig config;
  config.ports = {{server.options().protocol, server.port(), server.options().tls}};
  config.tls.verify_peer = true;
  config.tls.ca_file = test_certificates().ca_file;
  config.tls.verify_name = VerifyName::ip;
  return config;
}

Account fake_account() {
  return Account{"probe", Secret("probepass"), ""};
}

FakeMailServerOptions fake_options(Protocol protocol, FakeBehaviour behaviour, TlsMode tls) {
  FakeMailServerOptions options;
  options.protocol = protocol;
  options.tls = tls;
  options.behaviour = behaviour;
  return options;
}

bool transcript_mentions(const ProbeOutcome& outcome, std::string_view text) {
  return std::any_of(outcome.transcript.begin(), outcome.transcript.end(),
                     [&](const auto& line) { return line.find(text) != std::string::npos; });
}

ProbeOutcome probe_server(const FakeMailServer& server, const std::optional<Account>& account,
                          Seconds timeout) {
  return probe_once(server, probe_config_for(server), account, timeout);
}

ProbeOutcome probe_once(const FakeMailServer& server, const ProbeConfig& config,
                        const std::optional<Account>& account, Seconds timeout) {
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), config);
  const ProbeTarget target{make_ip_address("127.0.0.1"),
                           "backend1",
                           {server.options().protocol, server.port(), server.options().tls}};
  std::optional<ProbeOutcome> result;
  asio::co_spawn(io, runner.run(target, account, timeout),
                 [&result](std::exception_ptr error, ProbeOutcome outcome) {
                   if (error) std::rethrow_exception(error);
                   result = std::move(outcome);
                 });
  io.run();
  return result.value();
}

}  // namespace poolwatch::testing
