// The TLS floor of bench/probe_floor --tls (tls_floor_rig.hpp): one epoll thread,
// OpenSSL on nonblocking sockets, a session per target, nothing else.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>

#include "tls_floor_rig.hpp"

namespace poolwatch::bench {

namespace {

struct TlsProbe {
  ~TlsProbe() { SSL_free(ssl); }
  SSL* ssl = nullptr;
  std::size_t target = 0;
  ScriptProgress progress;
  bool connected = false;
  bool open = false;                // handshake done
  std::uint32_t events = EPOLLOUT;  // what epoll waits for: the connect first
};

class TlsFloor final : public PacedFloor {
 public:
  explicit TlsFloor(bool resumption) : resumption_(resumption) {
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_ALL | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // poolwatch's default
    if (resumption_) {
      // As TlsContextCache: sessions kept per target here, TLS 1.3 tickets included.
      SSL_CTX_set_session_cache_mode(ctx_,
                                     SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_set_ex_data(ctx_, 0, this);
      SSL_CTX_sess_set_new_cb(ctx_, &TlsFloor::on_new_session);
    } else {
      SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
    }
  }
  ~TlsFloor() override {
    probes_.clear();
    for (auto* session : sessions_) SSL_SESSION_free(session);
    SSL_CTX_free(ctx_);
    ::close(epoll_fd_);
  }
  TlsFloor(const TlsFloor&) = delete;
  TlsFloor& operator=(const TlsFloor&) = delete;

  std::vector<sockaddr_in> targets;               // every address x port
  std::vector<const std::vector<Step>*> scripts;  // by target
  FloorFigures figures;

  void start(std::size_t i) override {
    if (sessions_.size() < targets.size()) sessions_.resize(targets.size(), nullptr);
    const std::size_t target = i % targets.size();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const auto& sa = targets[target];
    if (fd < 0 || (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
                   errno != EINPROGRESS)) {
      if (fd >= 0) ::close(fd);
      ++figures.failed;
      return;
    }
    if (static_cast<std::size_t>(fd) >= probes_.size()) probes_.resize(fd + 1);
    auto probe = std::make_unique<TlsProbe>();
    probe->ssl = SSL_new(ctx_);
    probe->target = target;
    probe->progress.script = scripts[target];
    SSL_set_fd(probe->ssl, fd);
    SSL_set_connect_state(probe->ssl);
    SSL_set_ex_data(probe->ssl, 0, probe.get());
    if (resumption_ && sessions_[target]) SSL_set_session(probe->ssl, sessions_[target]);
    probes_[fd] = std::move(probe);
    ++running_;
    epoll_event ev{};
    ev.events = EPOLLOUT;  // the connect is made
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }

  void poll(int timeout_ms) override {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_fd_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i)
      if (probes_[events[i].data.fd]) on_ready(events[i].data.fd);
  }

  std::size_t in_flight() const override { return running_; }

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* floor = static_cast<TlsFloor*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0));
    auto* probe = static_cast<TlsProbe*>(SSL_get_ex_data(ssl, 0));
    if (!floor || !probe || !SSL_SESSION_is_resumable(session)) return 0;
    auto& kept = floor->sessions_[probe->target];
    if (kept) SSL_SESSION_free(kept);
    kept = session;
    return 1;  // the reference is ours
  }

  void on_ready(int fd) {
    auto& probe = *probes_[fd];
    if (!probe.connected) {
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) return finish(fd, false);
      probe.connected = true;
    }
    if (!probe.open) {
      const int r = SSL_connect(probe.ssl);
      if (r != 1) return wait_for(fd, probe, r);
      probe.open = true;
      if (SSL_session_reused(probe.ssl)) ++figures.resumed;
    }
    converse(fd, probe);
  }

  // Reads what the backend sent and answers it until the script is done or the socket
  // has nothing more to read.
  void converse(int fd, TlsProbe& probe) {
    for (;;) {
      char buffer[2048];
      const int got = SSL_read(probe.ssl, buffer, sizeof buffer);
      if (got <= 0) return wait_for(fd, probe, got);
      SSL* ssl = probe.ssl;
      const auto send = [ssl](std::string_view text) {
        return SSL_write(ssl, text.data(), static_cast<int>(text.size())) > 0;
      };
      const auto result = advance(probe.progress, {buffer, static_cast<std::size_t>(got)}, send);
      if (result != ScriptResult::more) return finish(fd, result == ScriptResult::done);
    }
  }

  void wait_for(int fd, TlsProbe& probe, int result) {
    std::uint32_t events = 0;
    switch (SSL_get_error(probe.ssl, result)) {
      case SSL_ERROR_WANT_READ:
        events = EPOLLIN;
        break;
      case SSL_ERROR_WANT_WRITE:
        events = EPOLLOUT;
        break;
      default:
        ERR_clear_error();
        return finish(fd, false);
    }
    if (events == probe.events) return;
    probe.events = events;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  }

  void finish(int fd, bool ok) {
    auto& probe = *probes_[fd];
    // poolwatch's quiet close: no close_notify, the session stays resumable.
    if (ok) SSL_set_shutdown(probe.ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    if (!ok && !probe.open && sessions_[probe.target]) {
      SSL_SESSION_free(sessions_[probe.target]);  // as TlsContextCache::forget
      sessions_[probe.target] = nullptr;
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    probes_[fd].reset();
    --running_;
    ++(ok ? figures.done : figures.failed);
  }

  bool resumption_;
  SSL_CTX* ctx_ = SSL_CTX_new(TLS_client_method());
  int epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<SSL_SESSION*> sessions_;             // by target
  std::vector<std::unique_ptr<TlsProbe>> probes_;  // by fd
  std::size_t running_ = 0;
};

}  // namespace

FloorFigures run_tls_floor(std::size_t hosts, const std::vector<BackendPort>& ports, double rate,
                           double seconds, bool resumption) {
  std::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(), not send(MSG_NOSIGNAL)
  std::vector<std::vector<Step>> by_port;
  for (const auto& port : ports) by_port.push_back(script_for(port.protocol, false));
  TlsFloor floor(resumption);
  for (std::size_t h = 0; h < hosts; ++h)
    for (std::size_t p = 0; p < ports.size(); ++p) {
      floor.targets.push_back(socket_address(backend_address(h), ports[p].port));
      floor.scripts.push_back(&by_port[p]);
    }
  if (resumption) {
    // One round over every target first, unmeasured, as poolwatch's first scan is: the
    // figures are the steady state, each target holding a session.
    FloorFigures warm_up;
    run_paced(floor, rate, static_cast<double>(floor.targets.size()) / rate, warm_up);
    floor.figures = {};
  }
  run_paced(floor, rate, seconds, floor.figures);
  return floor.figures;
}

}  // namespace poolwatch::bench
