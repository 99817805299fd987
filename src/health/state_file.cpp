#include "poolwatch/health/state_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "poolwatch/common/regular_file.hpp"

namespace poolwatch {
namespace {

constexpr std::string_view kHeader = "poolwatch-state 2";
// Written by poolwatch before the flush field; still read so that an upgrade keeps its hosts.
constexpr std::string_view kHeaderVersion1 = "poolwatch-state 1";
constexpr std::string_view kHeaderPrefix = "poolwatch-state ";
constexpr std::string_view kFlushPending = "pending";
constexpr std::string_view kFlushDone = "done";
// Far above any real pool; a bigger file is not ours.
constexpr std::size_t kMaxFileBytes = 16 << 20;
constexpr std::size_t kMaxLineBytes = 64 << 10;

std::string errno_text(int err) {
  return std::strerror(err);
}

std::optional<std::int64_t> parse_since(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class ReadStatus { ok, missing, failed };

// Only a regular file, not through a symbolic link, never waiting on a FIFO: the path
// may have been pointed at another file whose first line would end up in the log.
ReadStatus read_file(const std::string& path, std::string& out, std::string& error) {
  const auto file = open_regular_file(path, O_RDONLY);
  if (file.fd < 0) {
    if (file.error == ENOENT) return ReadStatus::missing;
    error = file.wrong_kind ? file.why : fmt::format("cannot open: {}", file.why);
    return ReadStatus::failed;
  }
  const int fd = file.fd;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fmt::format("cannot read: {}", errno_text(errno));
      ::close(fd);
      return ReadStatus::failed;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) break;  // parse_state reports it
  }
  ::close(fd);
  return ReadStatus::ok;
}

// The temporary file is created, never reused: O_EXCL|O_NOFOLLOW, so a file or link
// planted under its predictable name is not written through. One left by a crash (or
// planted) is removed (unlink removes a link, not its target) and creation tried again.
int create_temporary(const std::filesystem::path& temp) {
  constexpr int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
  int fd = ::open(temp.c_str(), flags, 0640);
  if (fd < 0 && errno == EEXIST && ::unlink(temp.c_str()) == 0)
    fd = ::open(temp.c_str(), flags, 0640);
  return fd;
}

}  // namespace

std::string escape_state_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape_state_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\t' || c == '\n' || c == '\r') return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string format_state(const std::vector<OwnedHost>& hosts) {
  std::string out(kHeader);
  out += '\n';
  for (const auto& host : hosts)
    out += fmt::format("{}\t{}\t{}\t{}\n", host.address.to_string(), host.since,
                       host.flush_pending ? kFlushPending : kFlushDone,
                       escape_state_field(host.reason));
  return out;
}

ParsedState parse_state(std::string_view text) {
  ParsedState result;
  const auto fail = [&result](std::string message) {
    result.hosts.clear();
    result.error = std::move(message);
    return result;
  };
  if (text.size() > kMaxFileBytes) return fail(fmt::format("larger than {} bytes", kMaxFileBytes));
  if (text.empty()) return fail("empty file");
  if (text.back() != '\n') return fail("the last line has no newline (cut short?)");
  text.remove_suffix(1);
  const auto lines = split(text, '\n');
  const bool version1 = lines[0] == kHeaderVersion1;
  // The messages name what is wrong and where, never the bytes found: the path may
  // have been pointed at someone else's file (a password file's line is not an address).
  if (lines[0] != kHeader && !version1) {
    if (lines[0].starts_with(kHeaderPrefix))
      return fail(fmt::format("unsupported version (this poolwatch reads \"{}\" and \"{}\")",
                              kHeader, kHeaderVersion1));
    return fail(fmt::format("not a poolwatch state file (line 1 is not \"{}\")", kHeader));
  }
  const std::size_t field_count = version1 ? 3 : 4;
  std::set<IpAddress> seen;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t number = i + 1;
    if (lines[i].size() > kMaxLineBytes)
      return fail(fmt::format("line {}: longer than {} bytes", number, kMaxLineBytes));
    const auto fields = split(lines[i], '\t');
    if (fields.size() != field_count)
      return fail(
          fmt::format("line {}: {} fields instead of {}", number, fields.size(), field_count));
    const auto address = IpAddress::parse(fields[0]);
    if (!address) return fail(fmt::format("line {}: bad address", number));
    const auto since = parse_since(fields[1]);
    if (!since) return fail(fmt::format("line {}: bad time", number));
    bool flush_pending = false;
    if (!version1) {
      if (fields[2] != kFlushPending && fields[2] != kFlushDone)
        return fail(fmt::format("line {}: bad flush state (pending or done)", number));
      flush_pending = fields[2] == kFlushPending;
    }
    auto reason = unescape_state_field(fields.back());
    if (!reason) return fail(fmt::format("line {}: bad escape in the reason", number));
    if (!seen.insert(*address).second)
      return fail(fmt::format("line {}: {} listed twice", number, address->to_string()));
    result.hosts.push_back({*address, *since, std::move(*reason), flush_pending});
  }
  return result;
}

StateLoad load_state_file(const std::string& path, std::int64_t unix_now) {
  StateLoad result;
  std::string text;
  std::string error;
  switch (read_file(path, text, error)) {
    case ReadStatus::missing:
      return result;
    case ReadStatus::failed:
      result.error = fmt::format("state file {}: {}", path, error);
      spdlog::error("{}; starting with no hosts held down", result.error);
      return result;
    case ReadStatus::ok:
      break;
  }
  auto parsed = parse_state(text);
  if (parsed.error.empty()) {
    result.hosts = std::move(parsed.hosts);
    return result;
  }
  result.error = fmt::format("state file {} is corrupt: {}", path, parsed.error);
  const auto aside = fmt::format("{}.corrupt-{}", path, unix_now);
  if (std::rename(path.c_str(), aside.c_str()) == 0) {
    result.moved_aside_to = aside;
    spdlog::error("{}; moved it to {}, starting with no hosts held down", result.error, aside);
  } else {
    spdlog::error("{}; could not move it to {} ({}), starting with no hosts held down",
                  result.error, aside, errno_text(errno));
  }
  return result;
}

std::optional<std::string> write_file_atomically(const std::string& path, std::string_view text,
                                                 std::string_view what) {
  const std::filesystem::path target(path);
  const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const auto temp =
      dir / fmt::format(".{}.tmp-{}", target.filename().string(), static_cast<long>(::getpid()));
  const auto fail = [&](std::string_view step, int err, bool remove_temp) {
    if (remove_temp) ::unlink(temp.c_str());
    return std::optional<std::string>(
        fmt::format("{} {}: {}: {}", what, path, step, errno_text(err)));
  };

  const int fd = create_temporary(temp);
  if (fd < 0) return fail(fmt::format("cannot create {}", temp.string()), errno, false);
  if (!write_all(fd, text) || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot write", err, true);
  }
  if (::close(fd) != 0) return fail("cannot write", errno, true);
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename", errno, true);
  // The rename is only durable once the directory entry is on disk.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return fail("cannot open its directory", errno, false);
  const bool synced = ::fsync(dir_fd) == 0;
  const int err = errno;
  ::close(dir_fd);
  if (!synced) return fail("cannot sync its directory", err, false);
  return std::nullopt;
}

std::optional<std::string> save_state_file(const std::string& path,
                                           const std::vector<OwnedHost>& hosts) {
  return write_file_atomically(path, format_state(hosts), "state file");
}

SmallFileRead read_small_file(const std::string& path) {
  SmallFileRead result;
  std::string error;
  switch (read_file(path, result.text, error)) {
    case ReadStatus::missing:
      result.missing = true;
      break;
    case ReadStatus::failed:
      result.error = std::move(error);
      break;
    case ReadStatus::ok:
      if (result.text.size() > kMaxFileBytes)
        result.error = fmt::format("larger than {} bytes", kMaxFileBytes);
      break;
  }
  return result;
}

}  // namespace poolwatch
