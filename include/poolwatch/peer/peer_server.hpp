#pragma once
// The server side of the peer exchange: the handler the HTTP listener calls for
// GET /ring/..., which answers only authentic, fresh requests, with a signed reply.

#include <functional>
#include <string>

#include "poolwatch/http/http_server.hpp"

namespace poolwatch::peer {

// `report` gives the body of GET /ring/v1/report. `now` is the Unix time (injected so
// tests can step it). A refused request gets 401 and a reason, and is logged at most once
// a minute per reason: a peer with the wrong secret must not flood the log.
std::function<HttpReply(const HttpRequestView&)> ring_handler(std::string secret,
                                                              std::function<std::string()> report,
                                                              std::function<std::int64_t()> now);

}  // namespace poolwatch::peer
