#include "support/ring_daemons.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "poolwatch/common/text.hpp"
#include "poolwatch/peer/peer_exchange.hpp"
#include "poolwatch/ring/report_json.hpp"
#include "support/exposition_checker.hpp"

namespace poolwatch::test {

namespace {

using namespace std::chrono_literals;

constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr unsigned kGroupBase = 4240;  // instance k runs with group kGroupBase + k
constexpr auto kStopBound = 10s;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// 32 random bytes in base64 (44 characters), as `openssl rand -base64 32` writes a key.
std::string random_secret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::random_device random;
  std::array<unsigned char, 33> bytes{};  // 33 bytes encode to exactly 44 characters
  for (auto& b : bytes) b = static_cast<unsigned char>(random());
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const unsigned v = (bytes[i] << 16U) | (bytes[i + 1] << 8U) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) text += kAlphabet[(v >> shift) & 63U];
  }
  return text;
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  ::chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace

bool is_flush(const RingAction& action) {
  return action.action == "HOST-RESET-USERS" || action.action == "HOST-FLUSH";
}

std::size_t count_ok(const std::vector<RingAction>& actions, const std::string& command,
                     const std::string& backend) {
  return static_cast<std::size_t>(std::count_if(actions.begin(), actions.end(), [&](const auto& a) {
    const bool kind = command == "flush" ? is_flush(a) : a.action == command;
    return kind && a.backend == backend && a.result == "ok";
  }));
}

RingDaemons::RingDaemons(const DovecotRingLab& lab, Options options)
    : lab_(lab), options_(std::move(options)), dir_(lab.dir() + "/poolwatch") {
  std::filesystem::create_directories(dir_);
  ::chmod(dir_.c_str(), 0700);
  secret_ = random_secret();
  secret_file_ = dir_ + "/ring.secret";
  write_file(secret_file_, secret_ + "\n", 0600);
  password_file_ = dir_ + "/probe.password";  // the lab's backends: probe-IP / probepass
  write_file(password_file_, "probepass\n", 0600);
  processes_.resize(static_cast<std::size_t>(lab.directors()));
  for (int k = 1; k <= instances(); ++k) write_file(config_file(k), instance_yaml(k), 0600);
}

RingDaemons::~RingDaemons() = default;  // ChildProcess SIGKILLs a child still running

std::string RingDaemons::address(int k) const {
  return lab_.director_address(k);
}

std::string RingDaemons::ring_name(int k) const {
  return address(k) + ":9090";
}

unsigned RingDaemons::group(int k) const {
  address(k);  // range check
  return kGroupBase + static_cast<unsigned>(k);
}

std::string RingDaemons::config_file(int k) const {
  return fmt::format("{}/poolwatch{}.yml", dir_, k);
}

std::string RingDaemons::state_file(int k) const {
  return fmt::format("{}/state{}", dir_, k);
}

std::string RingDaemons::instance_yaml(int k) const {
  const std::string address = this->address(k);
  const auto interval_ms = options_.interval.count();
  // Detection as in daemon_e2e_test: two failed polls, then a rapid round of three
  // polls of which two must fail.
  return fmt::format(
      "director:\n"
      "  socket: {socket}\n"
      "probe:\n"
      "  ports: [IMAP:143]\n"
      "  source_address: {address}\n"
      "credentials:\n"
      "  default_user: \"probe-%{{backend_host}}\"\n"
      "  default_password_file: {password}\n"
      "health:\n"
      "  interval: {interval}ms\n"
      "  timeout: {timeout}ms\n"
      "  retry_count: 2\n"
      "  rapid_rounds: 3\n"
      "  rapid_fails_needed: 2\n"
      "  rapid_interval: 200ms\n"
      "  rapid_timeout: 1s\n"
      "  jitter_percent: 0\n"
      "http:\n"
      "  listen: {address}:{http_port}\n"
      "ring:\n"
      "  peer_port: {peer_port}\n"
      "  secret_file: {secret}\n"
      "pidfile: {dir}/poolwatch{k}.pid\n"
      "state_file: {state}\n"
      "event_log: {dir}/events{k}.jsonl\n"
      "{extra}",
      fmt::arg("socket", lab_.admin_socket(k)), fmt::arg("address", address),
      fmt::arg("password", password_file_), fmt::arg("interval", interval_ms),
      fmt::arg("timeout", 2 * interval_ms), fmt::arg("http_port", options_.http_port),
      fmt::arg("peer_port", options_.peer_port), fmt::arg("secret", secret_file_),
      fmt::arg("dir", dir_), fmt::arg("k", k), fmt::arg("state", state_file(k)),
      fmt::arg("extra", options_.extra_yaml));
}

void RingDaemons::start(int k) {
  auto& process = processes_.at(static_cast<std::size_t>(k - 1));
  if (process && !process->wait(0ms)) throw std::logic_error(fmt::format("instance {} runs", k));
  // setpriv gives the instance a group of its own (uid 0 stays, and its capabilities),
  // then execs poolwatch: the pid is poolwatch's.
  process = std::make_unique<ChildProcess>(
      std::vector<std::string>{kSetpriv, fmt::format("--regid={}", group(k)), "--clear-groups",
                               POOLWATCH_BINARY, "run", "--foreground", "-c", config_file(k)},
      fmt::format("{}/poolwatch{}.log", dir_, k));
}

void RingDaemons::start_all() {
  for (int k = 1; k <= instances(); ++k) start(k);
}

std::optional<int> RingDaemons::stop(int k) {
  auto& process = processes_.at(static_cast<std::size_t>(k - 1));
  if (!process) return 0;
  process->signal(SIGTERM);
  return process->wait(kStopBound);
}

void RingDaemons::kill(int k) {
  auto& process = processes_.at(static_cast<std::size_t>(k - 1));
  if (!process) return;
  process->signal(SIGKILL);
  process->wait(kStopBound);
}

bool RingDaemons::running(int k) const {
  const auto& process = processes_.at(static_cast<std::size_t>(k - 1));
  return process && !process->wait(0ms).has_value();
}

std::string RingDaemons::log(int k) const {
  return read_file(fmt::format("{}/poolwatch{}.log", dir_, k));
}

std::vector<std::string> RingDaemons::log_lines_containing(int k, const std::string& text) const {
  std::vector<std::string> found;
  for (auto& line : lines_of(log(k)))
    if (line.find(text) != std::string::npos) found.push_back(std::move(line));
  return found;
}

std::vector<RingAction> RingDaemons::actions(int k) const {
  std::vector<RingAction> found;
  for (const auto& line : lines_of(read_file(fmt::format("{}/events{}.jsonl", dir_, k)))) {
    const auto event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object() || event.value("event", "") != "action") continue;
    found.push_back(RingAction{k, event.value("ts", ""), event.value("action", ""),
                               event.value("backend", ""), event.value("result", ""),
                               event.value("reason", "")});
  }
  return found;
}

std::vector<RingAction> RingDaemons::all_actions() const {
  std::vector<RingAction> all;
  for (int k = 1; k <= instances(); ++k) {
    auto some = actions(k);
    all.insert(all.end(), some.begin(), some.end());
  }
  return all;
}

std::optional<nlohmann::json> RingDaemons::status(int k) const {
  const auto reply = http_get(address(k), options_.http_port, "/status");
  if (reply.status != 200) return std::nullopt;
  auto parsed = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::optional<std::string> RingDaemons::metrics(int k) const {
  const auto reply = http_get(address(k), options_.http_port, "/metrics");
  if (reply.status != 200) return std::nullopt;
  return reply.body;
}

std::optional<double> RingDaemons::metric(int k, const std::string& name,
                                          const std::map<std::string, std::string>& labels) const {
  const auto text = metrics(k);
  if (!text) return std::nullopt;
  return check_exposition(*text).value(name, labels);
}

nlohmann::json RingDaemons::ring_status(int k) const {
  const auto s = status(k);
  if (!s || !s->is_object() || !s->contains("ring") || !(*s)["ring"].is_object())
    return nlohmann::json::object();
  return (*s)["ring"];
}

std::string RingDaemons::role(int k) const {
  const auto role = ring_status(k).value("role", nlohmann::json());
  return role.is_string() ? role.get<std::string>() : "";
}

namespace {

// The entry of /status's "backends" for `backend`, or an empty object.
nlohmann::json backend_entry(const std::optional<nlohmann::json>& status,
                             const std::string& backend) {
  if (status && status->is_object() && status->contains("backends") &&
      (*status)["backends"].is_array()) {
    for (const auto& entry : (*status)["backends"])
      if (entry.is_object() && entry.value("address", "") == backend) return entry;
  }
  return nlohmann::json::object();
}

}  // namespace

std::string RingDaemons::backend_state(int k, const std::string& backend) const {
  const auto state = backend_entry(status(k), backend).value("state", nlohmann::json());
  return state.is_string() ? state.get<std::string>() : "";
}

nlohmann::json RingDaemons::backend_ring(int k, const std::string& backend) const {
  const auto ring = backend_entry(status(k), backend).value("ring", nlohmann::json());
  return ring.is_object() ? ring : nlohmann::json::object();
}

nlohmann::json RingDaemons::peer_entry(int k, const std::string& peer) const {
  const auto ring = ring_status(k);
  if (ring.contains("peers") && ring["peers"].is_array()) {
    for (const auto& entry : ring["peers"])
      if (entry.is_object() && entry.value("id", "") == peer) return entry;
  }
  return nlohmann::json::object();
}

std::optional<ring::PeerReport> RingDaemons::signed_report(int k, std::string* error) const {
  std::string ignored;
  std::string& why = error ? *error : ignored;
  const std::string target(peer::kReportTarget);
  const auto request = peer::sign_request(secret_, target, unix_now(), peer::random_nonce());
  const auto reply = http_get(address(k), options_.peer_port, target,
                              {{std::string(peer::kTimeHeader), request.time},
                               {std::string(peer::kNonceHeader), request.nonce},
                               {std::string(peer::kSignatureHeader), request.signature}});
  if (reply.status != 200) {
    why = fmt::format("GET {} from {}:{}: {} {}{}", target, address(k), options_.peer_port,
                      reply.status, reply.error, printable_excerpt(reply.body, 120));
    return std::nullopt;
  }
  const auto header = [&](std::string_view name) {
    const auto it = reply.headers.find(lower(std::string(name)));
    return it == reply.headers.end() ? std::string() : it->second;
  };
  const peer::SignedHeaders signature{header(peer::kTimeHeader), header(peer::kNonceHeader),
                                      header(peer::kSignatureHeader)};
  if (auto problem =
          peer::reply_problem(secret_, request.nonce, signature, reply.body, unix_now())) {
    why = "reply refused: " + *problem;
    return std::nullopt;
  }
  auto decoded = ring::decode_report(reply.body);
  if (!decoded.report) why = "report refused: " + decoded.error;
  return std::move(decoded.report);
}

bool RingDaemons::publishes_claim(int k, const std::string& backend) const {
  const auto report = signed_report(k);
  if (!report) return false;
  const auto& ownership = report->ownership;
  return std::any_of(ownership.claims.begin(), ownership.claims.end(), [&](const auto& claim) {
    if (claim.address.to_string() != backend) return false;
    return std::none_of(ownership.releases.begin(), ownership.releases.end(), [&](const auto& r) {
      return r.address == claim.address && r.made_by == claim.made_by &&
             r.since_unix == claim.since_unix;
    });
  });
}

std::string RingDaemons::describe(std::size_t log_lines) const {
  std::string text;
  for (int k = 1; k <= instances(); ++k) {
    text += fmt::format("--- instance {} ({}), {}; ring: {}\n", k, ring_name(k),
                        running(k) ? "running" : "not running", ring_status(k).dump());
    const auto lines = lines_of(log(k));
    const std::size_t first = lines.size() > log_lines ? lines.size() - log_lines : 0;
    for (std::size_t i = first; i < lines.size(); ++i) text += "  | " + lines[i] + "\n";
    for (const auto& a : actions(k))
      text +=
          fmt::format("  action {} {} {} {}: {}\n", a.ts, a.action, a.backend, a.result, a.reason);
  }
  return text;
}

// --- the fixture -------------------------------------------------------------------------

void RingE2ETest::SetUp() {
  if (!in_own_network_namespace()) {
    GTEST_SKIP() << "the ring lab needs a network namespace of its own: run it as "
                    "`ctest -R e2e.ring` (unshare -n)";
  }
  const auto started = Clock::now();
  lab_ = DovecotRingLab::start({.directors = 3, .backends = 3, .fast_auth_failures = true});
  const double up = seconds_since(started);
  const auto sync = lab_->wait_ring_synced(kRingSyncBound);
  daemons_ = std::make_unique<RingDaemons>(*lab_, RingDaemons::Options{});
  const auto daemons_started = Clock::now();
  daemons_->start_all();
  ASSERT_TRUE(wait_settled(1, kSettleBound))
      << "the ring of instances did not settle on instance 1 acting: " << roles();
  report(
      "lab up in {:.1f} s, ring synced {:.1f} s later; instances settled (1 acts) {:.1f} s "
      "after their start",
      up, std::chrono::duration<double>(sync).count(), seconds_since(daemons_started));
}

void RingE2ETest::TearDown() {
  if (HasFailure() && daemons_) {
    fmt::print("[ring e2e] state at the failure:\n{}", daemons_->describe());
    for (int director = 1; lab_ && director <= lab_->directors(); ++director) {
      if (!lab_->director_running(director)) continue;
      try {
        fmt::print("director{} HOST-LIST: {}\n", director, lab_->host_states(director));
      } catch (const std::exception& e) {
        fmt::print("director{}: {}\n", director, e.what());
      }
    }
  }
  daemons_.reset();  // before the lab removes the dir they write in
  lab_.reset();
}

bool RingE2ETest::wait_settled(int actor, std::chrono::milliseconds bound) const {
  bool actor_exited = false;  // e.g. a config error: no point in waiting for it
  const bool settled = eventually(
      [&] {
        actor_exited = !daemons_->running(actor);
        if (actor_exited) return true;
        for (int k = 1; k <= daemons_->instances(); ++k) {
          if (!daemons_->running(k)) continue;
          if (daemons_->role(k) != (k == actor ? "actor" : "standby")) return false;
          for (int peer = 1; peer <= daemons_->instances(); ++peer) {
            if (peer == k || !daemons_->running(peer)) continue;
            const auto entry = daemons_->peer_entry(k, daemons_->ring_name(peer));
            if (entry.value("answering", false) != true) return false;
          }
        }
        return true;
      },
      bound);
  return settled && !actor_exited;
}

bool RingE2ETest::every_running_director_says(const std::string& backend,
                                              const std::string& state) const {
  for (int director = 1; director <= lab_->directors(); ++director) {
    if (lab_->director_running(director) && lab_->host_states(director)[backend] != state)
      return false;
  }
  return true;
}

std::string RingE2ETest::roles() const {
  std::vector<std::string> parts;
  for (int k = 1; k <= daemons_->instances(); ++k) {
    const std::string role = daemons_->running(k) ? daemons_->role(k) : "not running";
    parts.push_back(fmt::format("{}={}", k, role.empty() ? "?" : role));
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

std::size_t RingE2ETest::director_log_lines(const std::string& text) const {
  std::size_t found = 0;
  for (int director = 1; director <= lab_->directors(); ++director) {
    for (const auto& line : lines_of(lab_->director_log(director)))
      found += line.find(text) != std::string::npos ? 1 : 0;
  }
  return found;
}

void RingE2ETest::admin_down(int director, const std::string& backend) const {
  const auto reply = lab_->admin_request(director, "HOST-DOWN\t" + backend);
  if (reply != std::vector<std::string>{"OK"}) {
    throw std::runtime_error(
        fmt::format("HOST-DOWN {} on director{}: {}", backend, director, fmt::join(reply, " ")));
  }
}

}  // namespace poolwatch::test
