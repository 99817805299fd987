#pragma once
// The lab's own view of a real director's admin socket: one request per connection and a
// minimal reading of DIRECTOR-LIST, enough to tell when a ring of lab directors has
// synced. The product's client and parsers live in src/director; the lab must not lean
// on the code it is there to test.

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace poolwatch::test {

// Connects to a director-admin socket, exchanges VERSION lines, sends one command and
// reads its whole reply, then closes: never a second command on the connection (a
// pipelined line is lost in 2.2.33+, see director-admin-protocol.md §3.4). A list
// command's reply (*-LIST, HOST-LIST-REMOVED) is every line up to the empty one, which
// is left out; any other reply is one line. Throws std::runtime_error on a connect or
// read failure, a bad handshake, or when the reply is not complete within `timeout`.
std::vector<std::string> director_admin_request(const std::string& socket_path,
                                                const std::string& command,
                                                std::chrono::milliseconds timeout);

// What one director's DIRECTOR-LIST (2.2.34+ format) says about the ring.
struct DirectorListView {
  std::vector<std::string> lines;  // the reply, for messages
  // The status of the director's own line: "ring synced", "ring handshaking",
  // "ring syncing - last sync N secs ago"; empty when there was no self line.
  std::string self_status;
  // Directors on a left or right connection whose status is "synced": the peers this
  // director is actually talking to.
  std::set<std::string> synced_peers;

  bool ring_synced() const { return self_status == "ring synced"; }
};

DirectorListView parse_director_list(std::vector<std::string> lines);

}  // namespace poolwatch::test
