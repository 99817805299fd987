#pragma once
// The client side of the peer exchange: one signed GET to a peer, with a deadline and a
// cap on the reply, returning the body only when the reply is signed for this request.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace poolwatch::peer {

struct PeerFetchResult {
  std::string body;
  std::string error;  // empty on success; never contains the secret
};

// source: the local address to connect from (this director's ring address, so that a
// peer's firewall can tell the instances apart); nullopt: the kernel picks.
boost::asio::awaitable<PeerFetchResult> fetch_from_peer(
    boost::asio::ip::tcp::endpoint endpoint, std::optional<boost::asio::ip::address> source,
    std::string target, std::string secret, std::chrono::milliseconds timeout);

}  // namespace poolwatch::peer
