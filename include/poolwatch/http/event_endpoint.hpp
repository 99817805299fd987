#pragma once
// The listener for the director's event posts (passive health, docs/passive.md): one
// JSON object per POST from Dovecot's stats event_exporter. Hostile or broken posters
// cost bounded work: an allow-list of source networks is checked before anything is
// read, a rate cap answers 429 before a body is read, the body is capped, every
// connection has a deadline and their number is capped. Nothing is logged per post
// above debug.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

struct EventEndpointSettings {
  std::string listen;                    // "127.0.0.1:9168"
  std::string path = "/dovecot-events";  // the only target posts are accepted on
  std::size_t max_body = 64 * 1024;      // more gets 413
  double max_posts_per_second = 2000;    // beyond, 429 (a burst of one second allowed)
  std::size_t max_connections = 32;      // beyond, closed at once
  std::chrono::milliseconds request_timeout{10000};
  std::size_t header_limit = 8192;
};

// What became of one request (or of a connection refused for its source): the label of
// the endpoint's request metric.
enum class PostResult {
  accepted,
  bad_json,
  too_large,
  forbidden,
  rate_limited,
  not_found,
  bad_request
};
std::string_view to_string(PostResult r);

struct EventEndpointHandlers {
  std::function<bool(const IpAddress& source)> allowed;
  // One body; false when it is not an event (answered 400).
  std::function<bool(std::string_view body)> post;
  std::function<void(PostResult)> counted;  // may be unset
};

class EventEndpoint {
 public:
  EventEndpoint(boost::asio::any_io_executor executor, EventEndpointSettings settings,
                EventEndpointHandlers handlers);
  ~EventEndpoint();
  EventEndpoint(const EventEndpoint&) = delete;
  EventEndpoint& operator=(const EventEndpoint&) = delete;

  // Binds and starts accepting; an error comes back as a value, for startup to report.
  boost::system::error_code start();
  // Closes the listener and every connection; safe more than once.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  std::size_t active_connections() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace poolwatch
