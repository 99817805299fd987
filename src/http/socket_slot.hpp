#pragma once
// Internal to the HTTP listeners (http_server.cpp, event_endpoint.cpp): one counted
// connection slot for the life of a connection coroutine.

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <unordered_set>

namespace poolwatch::http_detail {

// The listener counted the connection in before it spawned the coroutine; the slot
// counts it out when the coroutine ends, however it ends, and keeps its socket in the
// set a stop() closes meanwhile.
class SocketSlot {
 public:
  using Sockets = std::unordered_set<boost::asio::ip::tcp::socket*>;
  SocketSlot(std::size_t& count, Sockets& sockets, boost::asio::ip::tcp::socket& socket)
      : count_(count), sockets_(sockets), socket_(socket) {
    sockets_.insert(&socket_);
  }
  ~SocketSlot() {
    --count_;
    sockets_.erase(&socket_);
  }
  SocketSlot(const SocketSlot&) = delete;
  SocketSlot& operator=(const SocketSlot&) = delete;

 private:
  std::size_t& count_;
  Sockets& sockets_;
  boost::asio::ip::tcp::socket& socket_;
};

}  // namespace poolwatch::http_detail
