#include "poolwatch/http/status_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace poolwatch {

using nlohmann::json;

namespace {

// Reads an optional member, failing on a wrong type instead of throwing.
template <typename T>
bool read_member(const json& object, const char* key, T& out, std::string& error, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) error = fmt::format("missing \"{}\"", key);
    return !required;
  }
  bool type_ok = false;
  if constexpr (std::is_same_v<T, std::string>)
    type_ok = it->is_string();
  else if constexpr (std::is_same_v<T, double>)
    type_ok = it->is_number();
  else if constexpr (std::is_same_v<T, bool>)
    type_ok = it->is_boolean();
  else
    type_ok = it->is_number_integer();
  if (!type_ok) {
    error = fmt::format("\"{}\" has the wrong type", key);
    return false;
  }
  out = it->get<T>();
  return true;
}

json ring_json(const RingStatusView& ring) {
  json peers = json::array();
  for (const auto& p : ring.peers)
    peers.push_back({{"id", p.id},
                     {"answering", p.answering},
                     {"age_ms", p.age_ms},
                     {"role", p.role},
                     {"problem", p.problem}});
  return {
      {"role", ring.role},        {"reason", ring.reason},
      {"self", ring.self},        {"actor", ring.actor.empty() ? json(nullptr) : json(ring.actor)},
      {"listed", ring.listed},    {"answering", ring.answering},
      {"quorum", ring.quorum},    {"owned", ring.owned},
      {"peers", std::move(peers)}};
}

json backend_ring_json(const BackendRingView& ring) {
  return {{"verdict", ring.verdict}, {"votes_down", ring.votes_down}, {"votes_up", ring.votes_up},
          {"voters", ring.voters},   {"quorum", ring.quorum},         {"overruled", ring.overruled},
          {"reason", ring.reason}};
}

std::optional<BackendRingView> read_backend_ring(const json& item, std::string& error) {
  auto it = item.find("ring");
  if (it == item.end() || it->is_null()) return std::nullopt;
  BackendRingView ring;
  if (!it->is_object()) {
    error = "\"ring\" is not an object";
    return std::nullopt;
  }
  if (!read_member(*it, "verdict", ring.verdict, error, true) ||
      !read_member(*it, "votes_down", ring.votes_down, error, false) ||
      !read_member(*it, "votes_up", ring.votes_up, error, false) ||
      !read_member(*it, "voters", ring.voters, error, false) ||
      !read_member(*it, "quorum", ring.quorum, error, false) ||
      !read_member(*it, "overruled", ring.overruled, error, false) ||
      !read_member(*it, "reason", ring.reason, error, false))
    return std::nullopt;
  return ring;
}

}  // namespace

void StatusJsonWriter::begin(std::string& out) {
  out += "{\"backends\":[";
  first_ = true;
}

void StatusJsonWriter::add(std::string& out, const BackendStatusView& b) {
  json checks = json::array();
  for (const auto& c : b.checks) {
    checks.push_back({{"name", c.name},
                      {"state", c.state},
                      {"consecutive_failures", c.consecutive_failures},
                      {"last_outcome", c.last_outcome},
                      {"last_latency_ms", c.last_latency_ms},
                      {"last_reason", c.last_reason}});
  }
  json backend = {
      {"address", b.address},
      {"state", b.state},
      {"last_outcome", b.last_outcome},
      {"last_latency_ms", b.last_latency_ms},
      {"since_unix", b.since_unix},
      {"reason", b.reason},
      {"checks", std::move(checks)},
      {"cert_expiry_unix", b.cert_expiry_unix ? json(*b.cert_expiry_unix) : json(nullptr)}};
  if (b.ring) backend["ring"] = backend_ring_json(*b.ring);
  if (!first_) out += ',';
  first_ = false;
  out += backend.dump(-1, ' ', false, json::error_handler_t::replace);
}

void StatusJsonWriter::end(std::string& out, const std::optional<RingStatusView>& ring) {
  out += ']';
  if (ring) {
    out += ",\"ring\":";
    out += ring_json(*ring).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += '}';
}

std::string to_json(const std::vector<BackendStatusView>& backends,
                    const std::optional<RingStatusView>& ring) {
  std::string out;
  StatusJsonWriter writer;
  writer.begin(out);
  for (const auto& b : backends) writer.add(out, b);
  writer.end(out, ring);
  return out;
}

std::optional<std::vector<BackendStatusView>> parse_status_json(std::string_view text,
                                                                std::string* error_out) {
  std::string error;
  auto fail = [&](std::string message) -> std::optional<std::vector<BackendStatusView>> {
    if (error_out) *error_out = std::move(message);
    return std::nullopt;
  };
  auto document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return fail("not JSON");
  if (!document.is_object() || !document.contains("backends") || !document["backends"].is_array())
    return fail("no \"backends\" array");
  std::vector<BackendStatusView> backends;
  for (const auto& item : document["backends"]) {
    if (!item.is_object()) return fail("a backend is not an object");
    BackendStatusView b;
    if (!read_member(item, "address", b.address, error, true) ||
        !read_member(item, "state", b.state, error, true) ||
        !read_member(item, "last_outcome", b.last_outcome, error, false) ||
        !read_member(item, "last_latency_ms", b.last_latency_ms, error, false) ||
        !read_member(item, "since_unix", b.since_unix, error, false) ||
        !read_member(item, "reason", b.reason, error, false))
      return fail("backend: " + error);
    if (auto checks = item.find("checks"); checks != item.end() && !checks->is_null()) {
      if (!checks->is_array()) return fail("backend: \"checks\" is not an array");
      for (const auto& check : *checks) {
        if (!check.is_object()) return fail("a check is not an object");
        CheckStatusView c;
        if (!read_member(check, "name", c.name, error, true) ||
            !read_member(check, "state", c.state, error, true) ||
            !read_member(check, "consecutive_failures", c.consecutive_failures, error, false) ||
            !read_member(check, "last_outcome", c.last_outcome, error, false) ||
            !read_member(check, "last_latency_ms", c.last_latency_ms, error, false) ||
            !read_member(check, "last_reason", c.last_reason, error, false))
          return fail("check: " + error);
        b.checks.push_back(std::move(c));
      }
    }
    std::int64_t cert_expiry = 0;
    if (!read_member(item, "cert_expiry_unix", cert_expiry, error, false))
      return fail("backend: " + error);
    if (auto it = item.find("cert_expiry_unix"); it != item.end() && !it->is_null())
      b.cert_expiry_unix = cert_expiry;
    b.ring = read_backend_ring(item, error);
    if (!error.empty()) return fail("backend: ring: " + error);
    backends.push_back(std::move(b));
  }
  return backends;
}

std::optional<RingStatusView> parse_ring_status(std::string_view text, std::string* error_out) {
  std::string error;
  auto fail = [&](std::string message) -> std::optional<RingStatusView> {
    if (error_out) *error_out = std::move(message);
    return std::nullopt;
  };
  auto document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return fail("not a JSON object");
  auto it = document.find("ring");
  if (it == document.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return fail("\"ring\" is not an object");
  RingStatusView ring;
  if (!read_member(*it, "role", ring.role, error, true) ||
      !read_member(*it, "reason", ring.reason, error, false) ||
      !read_member(*it, "self", ring.self, error, false) ||
      !read_member(*it, "actor", ring.actor, error, false) ||
      !read_member(*it, "listed", ring.listed, error, false) ||
      !read_member(*it, "answering", ring.answering, error, false) ||
      !read_member(*it, "quorum", ring.quorum, error, false) ||
      !read_member(*it, "owned", ring.owned, error, false))
    return fail("ring: " + error);
  if (auto peers = it->find("peers"); peers != it->end() && peers->is_array()) {
    for (const auto& peer : *peers) {
      if (!peer.is_object()) return fail("ring: a peer is not an object");
      RingPeerStatusView p;
      if (!read_member(peer, "id", p.id, error, true) ||
          !read_member(peer, "answering", p.answering, error, false) ||
          !read_member(peer, "age_ms", p.age_ms, error, false) ||
          !read_member(peer, "role", p.role, error, false) ||
          !read_member(peer, "problem", p.problem, error, false))
        return fail("ring: peer: " + error);
      ring.peers.push_back(std::move(p));
    }
  }
  return ring;
}

int status_exit_code(const std::vector<BackendStatusView>& backends) {
  return std::any_of(backends.begin(), backends.end(),
                     [](const auto& b) { return b.state == "down"; })
             ? 1
             : 0;
}

}  // namespace poolwatch
