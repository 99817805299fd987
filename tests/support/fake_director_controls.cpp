// What a test sets and reads on FakeDirector: the host table, the transcript, the
// faults. Each call takes the state's mutex; the server's thread sees a change from its
// next command on.
#include <stdexcept>

#include "support/fake_director.hpp"
#include "support/fake_director_state.hpp"

namespace poolwatch::testing {

void FakeDirector::set_hosts(std::vector<HostEntry> hosts) {
  state_->locked([&](State& s) { s.hosts = std::move(hosts); });
}

std::vector<HostEntry> FakeDirector::hosts() const {
  return state_->locked([](State& s) { return s.hosts; });
}

std::optional<HostEntry> FakeDirector::host(const IpAddress& address) const {
  for (const auto& h : hosts())
    if (h.address == address) return h;
  return std::nullopt;
}

void FakeDirector::set_host_list_fields(int fields) {
  if (fields != 3 && fields != 4 && fields != 6)
    throw std::invalid_argument("HOST-LIST has 3, 4 or 6 fields");
  state_->locked([fields](State& s) { s.host_list_fields = fields; });
}

void FakeDirector::set_director_list(std::vector<std::string> lines) {
  state_->locked([&](State& s) { s.director_list = std::move(lines); });
}

std::vector<std::string> FakeDirector::received_lines() const {
  std::vector<std::string> lines;
  for (auto& event : transcript())
    if (event.direction == Event::Direction::received) lines.push_back(std::move(event.line));
  return lines;
}

std::vector<std::string> FakeDirector::commands() const {
  auto lines = received_lines();
  std::erase_if(lines, [](const std::string& line) { return line.starts_with("VERSION\t"); });
  return lines;
}

std::vector<FakeDirector::Event> FakeDirector::transcript() const {
  return state_->locked([](State& s) { return s.transcript; });
}

std::size_t FakeDirector::connections_accepted() const {
  return state_->locked([](State& s) { return s.accepted; });
}

std::size_t FakeDirector::open_connections() const {
  return state_->locked([](State& s) { return s.open; });
}

std::size_t FakeDirector::pipelined_lines() const {
  return state_->locked([](State& s) { return s.pipelined; });
}

std::size_t FakeDirector::reuses_after_ring_sync_timeout() const {
  return state_->locked([](State& s) { return s.ring_sync_reuses; });
}

bool FakeDirector::wait_for_commands(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->commands >= count; });
}

bool FakeDirector::wait_for_open_connections(std::size_t count,
                                             std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->open == count; });
}

void FakeDirector::fail_next(std::string_view verb, Fault fault) {
  state_->locked([&](State& s) { s.faults.push_for(verb, std::move(fault)); });
}

void FakeDirector::reply_next_with(std::string line) {
  state_->locked(
      [&](State& s) { s.faults.push_for_any(DirectorFault::reply_with(std::move(line))); });
}

void FakeDirector::ignore_next_command() {
  state_->locked([](State& s) { s.faults.push_for_any(DirectorFault::ignore()); });
}

void FakeDirector::close_on_next_command() {
  state_->locked([](State& s) { s.faults.push_for_any(DirectorFault::close_connection()); });
}

void FakeDirector::endless_line_on_next_command() {
  state_->locked([](State& s) { s.faults.push_for_any(DirectorFault::endless_line()); });
}

std::size_t FakeDirector::pending_faults() const {
  return state_->locked([](State& s) { return s.faults.size(); });
}

void FakeDirector::clear_faults() {
  state_->locked([](State& s) {
    s.faults.clear();
    s.reply_delay = std::chrono::milliseconds{0};
    s.close_after_every_reply = false;
  });
}

void FakeDirector::set_greeting(std::optional<std::string> version_line) {
  state_->locked([&](State& s) { s.greeting = std::move(version_line); });
}

void FakeDirector::set_reply_delay(std::chrono::milliseconds delay) {
  state_->locked([delay](State& s) { s.reply_delay = delay; });
}

void FakeDirector::set_close_after_every_reply(bool close) {
  state_->locked([close](State& s) { s.close_after_every_reply = close; });
}

}  // namespace poolwatch::testing
