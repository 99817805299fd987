#pragma once
// An in-process stand-in for Dovecot's director-admin socket, for tests.
//
// It listens on "<fresh temp dir>/director-admin" and serves on ITS OWN THREAD with its
// own io_context, so it works both for a client running on the test's io_context and
// for a poolwatch daemon started as a subprocess. Every public method is thread-safe
// and may be called from the test thread at any time (but not from inside a coroutine
// running on the fake's own thread).
//
// It behaves like a lone 2.3 director: sends the VERSION line first, checks the
// client's VERSION line, answers HOST-LIST from its host table, applies HOST-UP,
// HOST-DOWN, HOST-FLUSH and HOST-RESET-USERS to it (NOTFOUND for unknown hosts), answers
// DIRECTOR-LIST with the lines the test set (by default its own self line), and
// closes the connection without a reply on anything malformed (unknown command, bad IP,
// a request line over 1024 bytes, a bad handshake).
//
// It also records what a real director would punish: a line that arrives while the
// previous command's reply is still pending (pipelining; dropped like Dovecot's bug A
// when a reply delay is set), and a command on a connection that already got
// "Ring sync timed out" (Dovecot asserts and crashes; the fake closes the connection).

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/director/pool.hpp"
#include "support/fake_director_faults.hpp"

namespace poolwatch::testing {

class FakeDirector {
 public:
  struct Event {
    enum class Direction { received, sent };
    Direction direction;
    std::size_t connection;  // 1 for the first accepted connection, 2 for the next, ...
    std::string line;        // without LF
    friend bool operator==(const Event&, const Event&) = default;
  };

  // Starts listening at once.
  explicit FakeDirector(std::vector<HostEntry> hosts = {});
  ~FakeDirector();
  FakeDirector(const FakeDirector&) = delete;
  FakeDirector& operator=(const FakeDirector&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  // A DirectorConfig pointing at this fake, with short timeouts suitable for tests.
  DirectorConfig client_config() const;

  // --- Host table (the director's in-memory state) ---
  void set_hosts(std::vector<HostEntry> hosts);
  std::vector<HostEntry> hosts() const;
  std::optional<HostEntry> host(const IpAddress& address) const;
  // HOST-LIST line format: 6 fields (2.2.19+, default), 4 (2.2.16-2.2.18) or 3 (older).
  void set_host_list_fields(int fields);

  // --- The ring, as DIRECTOR-LIST shows it ---
  // A lone 2.3 director's reply: its own self line.
  static constexpr std::string_view kLoneDirectorSelfLine =
      "127.0.0.1\t9090\tself\t0\tring synced\t0";
  // The lines DIRECTOR-LIST answers with, in either format and unchecked (garbage
  // included), without the empty line that ends the reply: the fake adds it. For one
  // hostile reply, target a fault at it instead: fail_next("DIRECTOR-LIST", ...) with
  // Fault::reply_lines, endless_line, ignore, close_after or stall_after.
  void set_director_list(std::vector<std::string> lines);

  // --- What the clients sent and got ---
  // Every line received, on all connections, in arrival order (VERSION lines included).
  std::vector<std::string> received_lines() const;
  // received_lines() without the clients' VERSION handshakes.
  std::vector<std::string> commands() const;
  // Both directions, in order.
  std::vector<Event> transcript() const;
  std::size_t connections_accepted() const;
  std::size_t open_connections() const;
  // Lines that were already waiting when a reply was about to be sent.
  std::size_t pipelined_lines() const;
  // Commands sent on a connection after it was answered "Ring sync timed out".
  std::size_t reuses_after_ring_sync_timeout() const;
  // Blocks the calling thread until commands().size() >= count or the timeout passes.
  bool wait_for_commands(std::size_t count, std::chrono::milliseconds timeout) const;
  // Blocks the calling thread until open_connections() == count or the timeout passes.
  bool wait_for_open_connections(std::size_t count, std::chrono::milliseconds timeout) const;

  // --- Faults ---
  using Fault = DirectorFault;

  // Faults queue up in the order they are set. Each command consumes the oldest queued
  // fault that applies to it: an untargeted fault (the *_next_* methods) applies to any
  // command, HOST-LIST included; a targeted one only to a command whose verb (the text
  // before the first TAB) equals `verb`. Other commands pass it untouched, so
  // fail_next("HOST-DOWN", ...) survives any number of HOST-LIST scans.
  void fail_next(std::string_view verb, Fault fault);
  // Shorthands for the untargeted faults.
  void reply_next_with(std::string line);
  void ignore_next_command();
  void close_on_next_command();
  void endless_line_on_next_command();
  // Faults set but not consumed yet.
  std::size_t pending_faults() const;
  // Drops every pending fault, the reply delay and closing after every reply.
  void clear_faults();
  // The greeting sent on accept, without LF; nullopt sends none.
  void set_greeting(std::optional<std::string> version_line);
  // Holds every reply back this long, like a director waiting for ring sync.
  void set_reply_delay(std::chrono::milliseconds delay);
  // Like a director that hangs up after every command it answers: each complete reply
  // is followed at once by closing the connection.
  void set_close_after_every_reply(bool close);
  // Like a director that went away: closes the listener and every connection and
  // removes the socket file. start_listening() binds the same path again.
  void stop_listening();
  void start_listening();

 private:
  struct State;
  struct Server;
  std::string dir_;
  std::string socket_path_;
  std::shared_ptr<State> state_;
  std::unique_ptr<Server> server_;
};

}  // namespace poolwatch::testing
