#include "poolwatch/peer/peer_server.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <memory>

#include "poolwatch/peer/peer_exchange.hpp"

namespace poolwatch::peer {

namespace {

// Peers poll once an interval; this many nonces cover hundreds of peers in the window.
constexpr std::size_t kReplayCapacity = 4096;
constexpr std::int64_t kRefusalLogPeriod = 60;

struct RingEndpoint {
  std::string secret;
  std::function<std::string()> report;
  std::function<std::int64_t()> now;
  ReplayGuard replay{std::chrono::seconds(kClockWindowSeconds), kReplayCapacity};
  std::map<std::string, std::int64_t, std::less<>> last_logged;  // reason -> when

  void log_refusal(const std::string& reason, std::int64_t at) {
    auto it = last_logged.find(reason);
    if (it != last_logged.end() && at - it->second < kRefusalLogPeriod) return;
    last_logged[reason] = at;
    spdlog::warn("ring: refused a peer request: {} (logged at most once a minute)", reason);
  }

  HttpReply answer(const HttpRequestView& request) {
    const std::int64_t at = now();
    if (request.target != kReportTarget) return HttpReply{404, "text/plain", {}, "not found\n"};
    const SignedHeaders signature{std::string(request.header(kTimeHeader)),
                                  std::string(request.header(kNonceHeader)),
                                  std::string(request.header(kSignatureHeader))};
    if (auto problem = request_problem(secret, replay, request.target, signature, at)) {
      log_refusal(*problem, at);
      return HttpReply{401, "text/plain", {}, *problem + "\n"};
    }
    HttpReply reply;
    reply.body = report();
    const SignedHeaders reply_signature = sign_reply(secret, signature.nonce, reply.body, at);
    reply.headers = {{std::string(kTimeHeader), reply_signature.time},
                     {std::string(kNonceHeader), reply_signature.nonce},
                     {std::string(kSignatureHeader), reply_signature.signature}};
    return reply;
  }
};

}  // namespace

std::function<HttpReply(const HttpRequestView&)> ring_handler(std::string secret,
                                                              std::function<std::string()> report,
                                                              std::function<std::int64_t()> now) {
  auto endpoint = std::make_shared<RingEndpoint>();
  endpoint->secret = std::move(secret);
  endpoint->report = std::move(report);
  endpoint->now = std::move(now);
  return [endpoint](const HttpRequestView& request) { return endpoint->answer(request); };
}

}  // namespace poolwatch::peer
