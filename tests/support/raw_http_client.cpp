#include "support/raw_http_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "poolwatch/common/text.hpp"

namespace poolwatch::testing {

namespace {

// Closes the descriptor on every way out.
struct RawSocket {
  int fd = -1;
  ~RawSocket() {
    if (fd >= 0) ::close(fd);
  }
};

bool connect_to(RawSocket& socket, const boost::asio::ip::tcp::endpoint& server) {
  socket.fd = ::socket(server.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (socket.fd < 0) return false;
  return ::connect(socket.fd, server.data(), static_cast<socklen_t>(server.size())) == 0;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Everything the server sends until it closes (true) or falls silent for the guard.
bool read_until_closed(int fd, std::chrono::milliseconds guard, std::string& received) {
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(guard.count() / 1000);
  timeout.tv_usec = static_cast<suseconds_t>((guard.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char chunk[4096];
  for (;;) {
    const auto n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      received.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // End of file or a reset: closed. A timeout (EAGAIN): still open.
    return n == 0 || errno == ECONNRESET;
  }
}

// Splits the first reply off `received`: status, fields, Content-Length body.
void parse_first_reply(std::string_view received, RawHttpReply& reply) {
  const auto header_end = received.find("\r\n\r\n");
  if (!received.starts_with("HTTP/1.") || header_end == std::string_view::npos) {
    reply.after_reply = std::string(received);
    return;
  }
  const auto status_text = received.substr(9, 3);
  std::from_chars(status_text.data(), status_text.data() + status_text.size(), reply.status);
  auto fields = received.substr(0, header_end + 2);
  fields.remove_prefix(fields.find("\r\n") + 2);
  while (!fields.empty()) {
    const auto line = fields.substr(0, fields.find("\r\n"));
    fields.remove_prefix(line.size() + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (value.starts_with(' ')) value.remove_prefix(1);
    reply.fields[ascii_upper(line.substr(0, colon))] = std::string(value);
  }
  std::size_t length = 0;
  if (const auto field = reply.fields.find("CONTENT-LENGTH"); field != reply.fields.end())
    std::from_chars(field->second.data(), field->second.data() + field->second.size(), length);
  auto rest = received.substr(header_end + 4);
  reply.body = std::string(rest.substr(0, length));
  reply.after_reply = std::string(rest.substr(std::min(length, rest.size())));
}

}  // namespace

RawHttpReply raw_http_exchange(const boost::asio::ip::tcp::endpoint& server,
                               std::string_view request, std::chrono::milliseconds guard) {
  RawHttpReply reply;
  RawSocket socket;
  if (!connect_to(socket, server)) {
    reply.error = std::string("connect: ") + std::strerror(errno);
    return reply;
  }
  if (!write_all(socket.fd, request)) {
    reply.error = std::string("write: ") + std::strerror(errno);
    return reply;
  }
  std::string received;
  reply.closed = read_until_closed(socket.fd, guard, received);
  parse_first_reply(received, reply);
  return reply;
}

}  // namespace poolwatch::testing
