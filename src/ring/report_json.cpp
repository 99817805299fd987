#include "poolwatch/ring/report_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <set>

#include "json_reader.hpp"

namespace poolwatch::ring {
namespace {

using ring_detail::json;
using ring_detail::ObjectReader;

// Times are unix seconds after 1970 and before the year 33658: anything else is garbage.
constexpr std::int64_t kMaxUnixTime = 1'000'000'000'000;

std::optional<Verdict> verdict_from_string(std::string_view text) {
  for (auto verdict : {Verdict::unknown, Verdict::up, Verdict::down})
    if (to_string(verdict) == text) return verdict;
  return std::nullopt;
}

json claims_json(const OwnershipState& state) {
  json claims = json::array();
  for (const auto& claim : state.claims)
    claims.push_back({{"address", claim.address.to_string()},
                      {"made_by", claim.made_by.to_string()},
                      {"since_unix", claim.since_unix},
                      {"reason", claim.reason},
                      {"flush_pending", claim.flush_pending},
                      {"confirmed_unix", claim.confirmed_unix}});
  return claims;
}

json ownership_json(const OwnershipState& state) {
  json releases = json::array();
  for (const auto& release : state.releases)
    releases.push_back({{"address", release.address.to_string()},
                        {"made_by", release.made_by.to_string()},
                        {"since_unix", release.since_unix},
                        {"released_unix", release.released_unix}});
  return {{"claims", claims_json(state)}, {"releases", std::move(releases)}};
}

json backend_json(const BackendReport& backend) {
  json failing = json::array();
  for (const auto& check : backend.failing)
    failing.push_back(
        {{"check", check.check}, {"failure", check.failure}, {"reason", check.reason}});
  return {{"address", backend.address.to_string()},
          {"verdict", std::string(to_string(backend.verdict))},
          {"since_unix", backend.since_unix},
          {"last_probe_unix", backend.last_probe_unix},
          {"failing", std::move(failing)}};
}

std::optional<DownClaim> read_claim(const json& element, const std::string& where,
                                    std::string& error) {
  ObjectReader reader(element, where, error);
  DownClaim claim;
  const auto address = reader.address("address");
  const auto made_by = reader.instance("made_by");
  const auto since = reader.integer("since_unix", 0, kMaxUnixTime);
  const auto reason = reader.text("reason", kMaxReportText);
  const auto flush_pending = reader.boolean("flush_pending");
  const auto confirmed = reader.integer("confirmed_unix", 0, kMaxUnixTime);
  if (!reader.finish()) return std::nullopt;
  return DownClaim{*address, *made_by, *since, *reason, *flush_pending, *confirmed};
}

std::optional<ClaimRelease> read_release(const json& element, const std::string& where,
                                         std::string& error) {
  ObjectReader reader(element, where, error);
  const auto address = reader.address("address");
  const auto made_by = reader.instance("made_by");
  const auto since = reader.integer("since_unix", 0, kMaxUnixTime);
  const auto released = reader.integer("released_unix", 0, kMaxUnixTime);
  if (!reader.finish()) return std::nullopt;
  return ClaimRelease{*address, *made_by, *since, *released};
}

// Reads "claims" and "releases" from reader's object into state.
bool read_ownership_fields(ObjectReader& reader, OwnershipState& state, std::string& error) {
  const json* claims = reader.array("claims", kMaxClaims);
  const json* releases = reader.array("releases", kMaxReleases);
  if (!reader.ok()) return false;
  for (std::size_t i = 0; i < claims->size(); ++i) {
    auto claim = read_claim((*claims)[i], reader.path(fmt::format("claims[{}]", i)), error);
    if (!claim) return false;
    state.claims.push_back(std::move(*claim));
  }
  for (std::size_t i = 0; i < releases->size(); ++i) {
    auto release = read_release((*releases)[i], reader.path(fmt::format("releases[{}]", i)), error);
    if (!release) return false;
    state.releases.push_back(*release);
  }
  return true;
}

std::optional<FailingCheck> read_failing(const json& element, const std::string& where,
                                         std::string& error) {
  ObjectReader reader(element, where, error);
  auto check = reader.text("check", kMaxReportText);
  auto failure = reader.text("failure", 64);
  auto reason = reader.text("reason", kMaxReportText);
  if (!reader.finish()) return std::nullopt;
  return FailingCheck{std::move(*check), std::move(*failure), std::move(*reason)};
}

std::optional<BackendReport> read_backend(const json& element, const std::string& where,
                                          std::string& error) {
  ObjectReader reader(element, where, error);
  const auto address = reader.address("address");
  const auto verdict_text = reader.text("verdict", 16);
  const auto since = reader.integer("since_unix", 0, kMaxUnixTime);
  const auto last_probe = reader.integer("last_probe_unix", 0, kMaxUnixTime);
  const json* failing = reader.array("failing", kMaxFailingChecks);
  if (!reader.finish()) return std::nullopt;
  const auto verdict = verdict_from_string(*verdict_text);
  if (!verdict) {
    reader.fail(fmt::format("{} is \"{}\", not up, down or unknown", reader.path("verdict"),
                            *verdict_text));
    return std::nullopt;
  }
  BackendReport backend{*address, *verdict, *since, *last_probe, {}};
  for (std::size_t i = 0; i < failing->size(); ++i) {
    auto check = read_failing((*failing)[i], reader.path(fmt::format("failing[{}]", i)), error);
    if (!check) return std::nullopt;
    backend.failing.push_back(std::move(*check));
  }
  return backend;
}

bool read_backends(const json& backends, PeerReport& report, std::string& error) {
  std::set<IpAddress> seen;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    auto backend = read_backend(backends[i], fmt::format("backends[{}]", i), error);
    if (!backend) return false;
    if (!seen.insert(backend->address).second) {
      error = fmt::format("backends[{}] repeats {}", i, backend->address.to_string());
      return false;
    }
    report.backends.push_back(std::move(*backend));
  }
  std::sort(report.backends.begin(), report.backends.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  return true;
}

// The report's own fields; the backends and the ownership are read by the caller.
bool read_report_header(ObjectReader& reader, PeerReport& report) {
  reader.expect("format", kReportFormat);
  const auto version = reader.integer("version", kReportVersion, kReportVersion);
  const auto instance = reader.instance("instance");
  const auto generated = reader.integer("generated_unix", 0, kMaxUnixTime);
  const auto synced = reader.boolean("director_synced");
  const auto role_text = reader.text("role", 16);
  const bool no_actor = reader.ok() && reader.is_null("actor");
  const auto actor = no_actor ? std::nullopt : reader.instance("actor");
  const auto heard_ago = reader.integer("actor_heard_ago_ms", 0, kMaxActorHeardAgo.count());
  if (!reader.ok() || !version) return false;
  const auto role = ring_role_from_string(*role_text);
  if (!role) {
    reader.fail(fmt::format("role is \"{}\", not alone, actor, standby or isolated", *role_text));
    return false;
  }
  report.instance = *instance;
  report.generated_unix = *generated;
  report.director_synced = *synced;
  report.role = *role;
  report.actor = actor;
  report.actor_heard_ago = std::chrono::milliseconds(*heard_ago);
  return true;
}

ReportDecode decode_report_unguarded(std::string_view body) {
  std::string error;
  const auto message = ring_detail::parse_object(body, kMaxReportBytes, error);
  if (!message) return {std::nullopt, "peer report: " + error};
  ObjectReader reader(*message, "", error);
  PeerReport report;
  const bool header_ok = read_report_header(reader, report);
  const json* backends = header_ok ? reader.array("backends", kMaxReportBackends) : nullptr;
  const json* ownership = header_ok ? reader.object("ownership") : nullptr;
  if (!reader.finish() || !read_backends(*backends, report, error))
    return {std::nullopt, "peer report: " + error};
  ObjectReader ownership_reader(*ownership, "ownership", error);
  if (!read_ownership_fields(ownership_reader, report.ownership, error) ||
      !ownership_reader.finish())
    return {std::nullopt, "peer report: " + error};
  return {std::move(report), {}};
}

}  // namespace

std::string encode_report(const PeerReport& report) {
  json backends = json::array();
  for (const auto& backend : report.backends) backends.push_back(backend_json(backend));
  json message = {{"format", kReportFormat},
                  {"version", kReportVersion},
                  {"instance", report.instance.to_string()},
                  {"generated_unix", report.generated_unix},
                  {"director_synced", report.director_synced},
                  {"role", std::string(to_string(report.role))},
                  {"actor", report.actor ? json(report.actor->to_string()) : json(nullptr)},
                  {"actor_heard_ago_ms", report.actor_heard_ago.count()},
                  {"backends", std::move(backends)},
                  {"ownership", ownership_json(report.ownership)}};
  return ring_detail::dump_compact(message);
}

ReportDecode decode_report(std::string_view body) {
  // Nothing a peer sends may throw out of here: the codec's own checks make errors
  // values, and this catches what a library below could still throw (memory).
  try {
    return decode_report_unguarded(body);
  } catch (const std::exception& e) {
    return {std::nullopt, std::string("peer report: ") + e.what()};
  }
}

std::string encode_ownership(const OwnershipState& state) {
  json message = ownership_json(state);
  message["format"] = kOwnershipFormat;
  message["version"] = kReportVersion;
  return ring_detail::dump_compact(message);
}

OwnershipDecode decode_ownership(std::string_view text) {
  try {
    std::string error;
    const auto message = ring_detail::parse_object(text, kMaxReportBytes, error);
    if (!message) return {std::nullopt, "ownership: " + error};
    ObjectReader reader(*message, "", error);
    reader.expect("format", kOwnershipFormat);
    reader.integer("version", kReportVersion, kReportVersion);
    OwnershipState state;
    if (!reader.ok() || !read_ownership_fields(reader, state, error) || !reader.finish())
      return {std::nullopt, "ownership: " + error};
    return {std::move(state), {}};
  } catch (const std::exception& e) {
    return {std::nullopt, std::string("ownership: ") + e.what()};
  }
}

}  // namespace poolwatch::ring
