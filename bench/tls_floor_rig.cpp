#include "tls_floor_rig.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "support/fake_mail_server.hpp"
#include "support/test_certs.hpp"

namespace poolwatch::bench {

namespace {

// The quiet close poolwatch's transport makes: no close_notify, which also keeps the
// session resumable (OpenSSL drops the session of a connection freed unshut).
void quiet_close(SSL* ssl, int fd) {
  SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void watch(int epoll_fd, int op, int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_fd, op, fd, &ev);
}

// What a nonblocking SSL call that returned `result` waits for: EPOLLIN, EPOLLOUT, or 0
// when the connection failed.
std::uint32_t wanted_events(SSL* ssl, int result) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
      return EPOLLIN;
    case SSL_ERROR_WANT_WRITE:
      return EPOLLOUT;
    default:
      ERR_clear_error();
      return 0;
  }
}

bool ssl_send(SSL* ssl, std::string_view text) {
  // A few hundred bytes on a fresh connection: written whole at once, or failed.
  return text.empty() || SSL_write(ssl, text.data(), static_cast<int>(text.size())) > 0;
}

// One connection of a fake TLS backend.
struct ServedConnection {
  ServedConnection(SSL* s, const testing::FakeMailServerOptions& options)
      : ssl(s), responder(options) {}
  ~ServedConnection() { SSL_free(ssl); }
  ServedConnection(const ServedConnection&) = delete;
  ServedConnection& operator=(const ServedConnection&) = delete;
  SSL* ssl;
  testing::FakeResponder responder;
  std::string in;
  bool open = false;               // handshake done
  std::uint32_t events = EPOLLIN;  // what epoll waits for
};

struct TlsBackends {
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  SSL_CTX* ctx = nullptr;
  ChildCounters* counters = nullptr;
  std::vector<testing::FakeMailServerOptions> options;         // per entry of `ports`
  std::vector<int> listener_port;                              // by fd: index, or -1
  std::vector<std::unique_ptr<ServedConnection>> connections;  // by fd

  void grow_to(int fd) {
    if (static_cast<std::size_t>(fd) >= listener_port.size()) {
      listener_port.resize(static_cast<std::size_t>(fd) + 1, -1);
      connections.resize(static_cast<std::size_t>(fd) + 1);
    }
  }

  void close_connection(int fd) {
    quiet_close(connections[fd]->ssl, fd);
    connections[fd].reset();
  }

  void accept_all(int listener) {
    const auto& opts = options[static_cast<std::size_t>(listener_port[listener])];
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      ++counters->accepted;
      grow_to(fd);
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      SSL_set_accept_state(ssl);
      connections[fd] = std::make_unique<ServedConnection>(ssl, opts);
      watch(epoll_fd, EPOLL_CTL_ADD, fd, EPOLLIN);
    }
  }

  // Returns false when the connection waits for epoll or was closed.
  bool advance_handshake(int fd, ServedConnection& c) {
    const int r = SSL_accept(c.ssl);
    if (r != 1) {
      const auto events = wanted_events(c.ssl, r);
      if (events == 0) {
        close_connection(fd);
      } else if (events != c.events) {
        c.events = events;
        watch(epoll_fd, EPOLL_CTL_MOD, fd, events);
      }
      return false;
    }
    c.open = true;
    ++counters->handshakes;
    if (SSL_session_reused(c.ssl)) ++counters->resumed;
    if (c.events != EPOLLIN) watch(epoll_fd, EPOLL_CTL_MOD, fd, c.events = EPOLLIN);
    if (ssl_send(c.ssl, c.responder.greeting())) return true;
    close_connection(fd);
    return false;
  }

  void serve(int fd) {
    auto& c = *connections[fd];
    if (!c.open && !advance_handshake(fd, c)) return;
    for (;;) {
      char buffer[2048];
      const int got = SSL_read(c.ssl, buffer, sizeof buffer);
      if (got <= 0) {
        if (wanted_events(c.ssl, got) != EPOLLIN) close_connection(fd);
        return;
      }
      c.in.append(buffer, static_cast<std::size_t>(got));
      for (auto end = c.in.find('\n'); end != std::string::npos; end = c.in.find('\n')) {
        std::string line = c.in.substr(0, end);
        c.in.erase(0, end + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto reply = c.responder.reply_to(line);
        if (!ssl_send(c.ssl, reply.text) || reply.then == testing::FakeReply::Then::close)
          return close_connection(fd);
      }
      if (c.in.size() > kMaxBuffered) return close_connection(fd);
    }
  }
};

SSL_CTX* server_context() {
  const auto& certs = testing::test_certificates();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, certs.server_cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, certs.server_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load the test certificate " + certs.server_cert_file);
  // Tickets and the server's session cache are OpenSSL's defaults, as in Dovecot.
  static constexpr unsigned char session_context[] = "probe-floor";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  return ctx;
}

[[noreturn]] void serve_tls_hosts(std::size_t first, std::size_t last,
                                  const std::vector<BackendPort>& ports, int stop_fd,
                                  ChildCounters& counters) {
  // OpenSSL writes with write(): a client gone (poolwatch stopped mid-probe) must not
  // kill the child with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  TlsBackends backends;
  backends.counters = &counters;
  for (const auto& port : ports) {
    backends.options.push_back(testing::fake_options(port.protocol));
    backends.options.back().tls = TlsMode::implicit;
  }
  try {
    backends.ctx = server_context();
    for (std::size_t h = first; h < last; ++h)
      for (std::size_t p = 0; p < ports.size(); ++p) {
        const int fd = listen_socket(backend_address(h), ports[p].port);
        backends.grow_to(fd);
        backends.listener_port[fd] = static_cast<int>(p);
        watch(backends.epoll_fd, EPOLL_CTL_ADD, fd, EPOLLIN);
      }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake TLS backends: %s\n", e.what());
    ::_exit(1);
  }
  watch(backends.epoll_fd, EPOLL_CTL_ADD, stop_fd, EPOLLIN);
  backends.grow_to(stop_fd);
  for (;;) {
    epoll_event events[256];
    const int n = ::epoll_wait(backends.epoll_fd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd) ::_exit(0);
      if (backends.listener_port[fd] >= 0)
        backends.accept_all(fd);
      else if (backends.connections[fd])
        backends.serve(fd);
    }
  }
}

}  // namespace

ServeHosts tls_serve_hosts() {
  return &serve_tls_hosts;
}

}  // namespace poolwatch::bench
