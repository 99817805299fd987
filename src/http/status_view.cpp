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
  else
    type_ok = it->is_number_integer();
  if (!type_ok) {
    error = fmt::format("\"{}\" has the wrong type", key);
    return false;
  }
  out = it->get<T>();
  return true;
}

}  // namespace

std::string to_json(const std::vector<BackendStatusView>& backends) {
  json list = json::array();
  for (const auto& b : backends) {
    json checks = json::array();
    for (const auto& c : b.checks) {
      checks.push_back({{"name", c.name},
                        {"state", c.state},
                        {"consecutive_failures", c.consecutive_failures},
                        {"last_outcome", c.last_outcome},
                        {"last_latency_ms", c.last_latency_ms}});
    }
    list.push_back({{"address", b.address},
                    {"state", b.state},
                    {"last_outcome", b.last_outcome},
                    {"last_latency_ms", b.last_latency_ms},
                    {"since_unix", b.since_unix},
                    {"reason", b.reason},
                    {"checks", std::move(checks)}});
  }
  json document = {{"backends", std::move(list)}};
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
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
            !read_member(check, "last_latency_ms", c.last_latency_ms, error, false))
          return fail("check: " + error);
        b.checks.push_back(std::move(c));
      }
    }
    backends.push_back(std::move(b));
  }
  return backends;
}

int status_exit_code(const std::vector<BackendStatusView>& backends) {
  return std::any_of(backends.begin(), backends.end(),
                     [](const auto& b) { return b.state == "down"; })
             ? 1
             : 0;
}

}  // namespace poolwatch
