#pragma once
// The hosts poolwatch took down, kept on disk so that a restart does not orphan them.
// Format, version 2 (text, one host per line, fields separated by TAB):
//
//   poolwatch-state 2
//   10.0.0.5<TAB>1767225600<TAB>pending<TAB>imap:143: 8/10 rapid polls failed, last: timeout
//
// The third field is "pending" while the flush after the host's HOST-DOWN has not been
// answered OK (it is sent again after a restart too), else "done". Version 1 files, which
// lack that field, are still read, their flushes counted as done.
// Backslash, TAB, LF and CR in the reason are written as \\, \t, \n and \r. Every line
// ends with LF; a file without the final LF was cut short and counts as corrupt.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/health/action_planner.hpp"

namespace poolwatch {

struct ParsedState {
  std::vector<OwnedHost> hosts;
  std::string error;  // empty: the text was valid; else "line 3: bad address \"x\""
};

std::string escape_state_field(std::string_view text);
std::optional<std::string> unescape_state_field(std::string_view text);
std::string format_state(const std::vector<OwnedHost>& hosts);
ParsedState parse_state(std::string_view text);

struct StateLoad {
  std::vector<OwnedHost> hosts;
  std::string error;           // empty: loaded, or there was no file yet
  std::string moved_aside_to;  // a corrupt file's new name, "<path>.corrupt-<unix>"
};

// Never throws. A missing file is an empty set. An unreadable or corrupt file is logged
// at error level and yields an empty set; a corrupt one is renamed aside first so that
// the next save does not destroy the evidence. Only a regular file is read, never
// through a symbolic link and never waiting on a FIFO (either is an unreadable file),
// and no message quotes the file's content: the path may name someone else's file.
StateLoad load_state_file(const std::string& path, std::int64_t unix_now);

// Writes atomically: a temporary file in the same directory, fsync, rename over path,
// fsync of the directory. Returns an error message naming the path, or nothing. The
// temporary file (".NAME.tmp-PID") is always created afresh (O_EXCL|O_NOFOLLOW): whatever
// is found under its name is unlinked, never written through. A symbolic link at path is
// replaced by the file, its target left alone.
std::optional<std::string> save_state_file(const std::string& path,
                                           const std::vector<OwnedHost>& hosts);

// The write save_state_file makes, for another small file of the daemon's (the ring's
// shared ownership); `what` starts the error message ("state file").
std::optional<std::string> write_file_atomically(const std::string& path, std::string_view text,
                                                 std::string_view what);

struct SmallFileRead {
  std::string text;
  bool missing = false;
  std::string error;  // "cannot open: ...", or too large; empty when read or missing
};
// Reads a file of at most the state file's size cap, under load_state_file's rules (a
// regular file, not through a symbolic link).
SmallFileRead read_small_file(const std::string& path);

}  // namespace poolwatch
