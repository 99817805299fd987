#pragma once
// Internal to FakeDirector (fake_director.cpp, the server; fake_director_controls.cpp,
// what a test sets and reads): the state both threads share.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/director/director_protocol.hpp"
#include "support/fake_director.hpp"
#include "support/fake_director_faults.hpp"
#include "support/fake_director_table.hpp"

namespace poolwatch::testing {

// Everything the test thread and the fake's thread share, behind one mutex.
struct FakeDirector::State {
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<HostEntry> hosts;
  int host_list_fields = 6;
  std::vector<std::string> director_list{std::string(kLoneDirectorSelfLine)};
  std::vector<Event> transcript;
  std::size_t commands = 0;
  std::size_t accepted = 0;
  std::size_t open = 0;
  std::size_t pipelined = 0;
  std::size_t ring_sync_reuses = 0;
  DirectorFaultQueue faults;
  std::optional<std::string> greeting{
      std::string(director::kHandshakeLine.substr(0, director::kHandshakeLine.size() - 1))};
  std::chrono::milliseconds reply_delay{0};
  bool close_after_every_reply = false;

  // Runs `access` on the state with the mutex held.
  template <typename Access>
  auto locked(Access access) {
    std::lock_guard lock(mutex);
    return access(*this);
  }

  void record(Event::Direction direction, std::size_t connection, std::string line, bool command) {
    std::lock_guard lock(mutex);
    transcript.push_back({direction, connection, std::move(line)});
    if (command) ++commands;
    changed.notify_all();
  }

  // The reply to a request line, or nullopt where the director closes without a word.
  // The caller holds the mutex.
  std::optional<std::vector<std::string>> execute(std::string_view line) {
    if (line != "DIRECTOR-LIST") return execute_director_command(hosts, host_list_fields, line);
    auto reply = director_list;
    reply.emplace_back();
    return reply;
  }
};

}  // namespace poolwatch::testing
