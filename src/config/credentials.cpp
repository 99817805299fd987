#include "poolwatch/config/credentials.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace poolwatch {

namespace {

constexpr std::size_t max_small_file = 64 * 1024;        // credfile, password file
constexpr std::size_t max_test_accounts_file = 4 << 20;  // thousands of backends fit

// Closes the descriptor on every exit path of read_private_file.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string_view mode_problem(mode_t mode) {
  if ((mode & 044) != 0) return "readable";
  if ((mode & 022) != 0) return "writable";
  return "accessible";
}

std::string group_name(gid_t gid) {
  if (const group* entry = ::getgrgid(gid)) return entry->gr_name;
  return std::to_string(gid);
}

// Who may touch a file of secrets: its owner alone (0600, 0400), like ssh; or, when root
// owns it, also poolwatch's own group, read-only (0640, 0440, e.g. root:poolwatch): the
// usual way to give a service account a secret it can read but not change. Any other
// group bit would share the secret with whoever else is in that group.
std::optional<std::string> permission_problem(const struct stat& info, gid_t own_group) {
  const mode_t permissions = info.st_mode & 07777;
  const bool root_shares_with_us = info.st_uid == 0 && info.st_gid == own_group;
  const mode_t allowed = root_shares_with_us ? 040 : 0;
  if ((permissions & 077 & ~allowed) == 0) return std::nullopt;
  const std::string own = group_name(own_group);
  if ((permissions & 037) == 0)  // group-readable only, but not root's and ours
    return fmt::format(
        "is readable by group {} (mode {:04o}, owner uid {}): chmod 600 it; a group may read it "
        "only when root owns it and the group is poolwatch's own (chown root:{})",
        group_name(info.st_gid), permissions, info.st_uid, own);
  return fmt::format(
      "is {} by group/others (mode {:04o}): chmod 600 it (or chmod 640 with "
      "chown root:{})",
      mode_problem(permissions & (root_shares_with_us ? 037 : 077)), permissions, own);
}

// Reads a file that holds secrets, refusing it (permission_problem) when anyone but its
// owner, and for a root-owned file poolwatch's group, may touch it. The checks run on the
// opened descriptor so the file cannot be swapped between the check and the read;
// O_NONBLOCK keeps a FIFO from hanging the start-up.
std::string read_private_file(const std::string& path, std::string_view key,
                              std::size_t max_bytes) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (file.get() < 0) {
    throw ConfigError(fmt::format("{}: cannot open {}: {}", key, path, std::strerror(errno)));
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) {
    throw ConfigError(fmt::format("{}: cannot stat {}: {}", key, path, std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    throw ConfigError(fmt::format("{}: {} is not a regular file", key, path));
  }
  if (auto problem = permission_problem(info, ::getegid()))
    throw ConfigError(fmt::format("{}: {} {}", key, path, *problem));
  std::string content;
  std::array<char, 8192> chunk{};
  for (;;) {
    const ssize_t got = ::read(file.get(), chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(fmt::format("{}: cannot read {}: {}", key, path, std::strerror(errno)));
    }
    if (got == 0) break;
    content.append(chunk.data(), static_cast<std::size_t>(got));
    if (content.size() > max_bytes) {
      throw ConfigError(fmt::format("{}: {} is larger than {} bytes", key, path, max_bytes));
    }
  }
  return content;
}

// Lines without their LF or CRLF; a final line without LF counts, an empty tail does not.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// A CR, LF or NUL would let a value end an IMAP/POP3 command line and start another.
bool has_line_break_or_nul(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string location(const std::string& path, int zero_based_line) {
  if (zero_based_line < 0) return path;
  return fmt::format("{}:{}", path, zero_based_line + 1);
}

NameTemplate parse_user(std::string_view text, std::string_view where) {
  if (text.empty()) throw ConfigError(fmt::format("{}: is empty", where));
  if (has_line_break_or_nul(text)) {
    throw ConfigError(fmt::format("{}: contains a line break or NUL", where));
  }
  try {
    return NameTemplate::parse(text);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", where, e.what()));
  }
}

Secret checked_password(std::string_view text, std::string_view where) {
  if (text.empty()) throw ConfigError(fmt::format("{}: is empty", where));
  if (has_line_break_or_nul(text)) {
    throw ConfigError(fmt::format("{}: contains a line break or NUL", where));
  }
  return Secret(std::string(text));
}

bool is_account_field(std::string_view name) {
  return name == "username" || name == "password" || name == "masteruser";
}

}  // namespace

namespace {

struct TestAccount {
  IpAddress address;
  NameTemplate user;
  Secret password;
  std::optional<NameTemplate> master_user;
  int line = -1;
};

// Field errors point at the field's key: a missing value has no line of its own.
std::string scalar_field(const YAML::Node& value, std::string_view where) {
  if (value.IsNull()) throw ConfigError(fmt::format("{}: is empty", where));
  if (!value.IsScalar()) throw ConfigError(fmt::format("{}: must be a plain string", where));
  return value.Scalar();
}

TestAccount parse_test_account(const YAML::Node& key, const YAML::Node& value,
                               const std::string& path) {
  const int line = key.Mark().line;
  if (!key.IsScalar()) {
    throw ConfigError(fmt::format("{}: credentials.test_accounts: a key must be a backend IP",
                                  location(path, line)));
  }
  const std::string& name = key.Scalar();
  const std::string where = fmt::format("{}: {}", location(path, line), name);
  if (is_account_field(name) || value.IsNull()) {
    // The published dovemon examples lost their indentation; say how to fix that form.
    throw ConfigError(fmt::format(
        "{}: expected a backend IP with username and password indented under it", where));
  }
  const auto address = IpAddress::parse(name);
  if (!address) throw ConfigError(fmt::format("{}: is not an IP address", where));
  TestAccount account;
  account.address = *address;
  account.line = line;
  if (!value.IsMap()) {
    throw ConfigError(fmt::format("{}: must be a mapping with username and password", where));
  }
  bool has_user = false;
  bool has_password = false;
  for (const auto& field : value) {
    const std::string field_name = field.first.IsScalar() ? field.first.Scalar() : "";
    const std::string field_where =
        fmt::format("{}: {}: {}", location(path, field.first.Mark().line), name, field_name);
    if (field_name == "username") {
      account.user = parse_user(scalar_field(field.second, field_where), field_where);
      has_user = true;
    } else if (field_name == "password") {
      account.password = checked_password(scalar_field(field.second, field_where), field_where);
      has_password = true;
    } else if (field_name == "masteruser") {
      account.master_user = parse_user(scalar_field(field.second, field_where), field_where);
    } else {
      throw ConfigError(
          fmt::format("{}: {}: unknown field '{}' (expected username, password, masteruser)",
                      location(path, field.first.Mark().line), name, field_name));
    }
  }
  if (!has_user) throw ConfigError(fmt::format("{}: missing username", where));
  if (!has_password) throw ConfigError(fmt::format("{}: missing password", where));
  return account;
}

std::vector<TestAccount> load_test_accounts(const std::string& path) {
  const std::string text =
      read_private_file(path, "credentials.test_accounts", max_test_accounts_file);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // A few yaml-cpp messages append the offending input after ": " ("unknown escape
    // character: x"); that input may be part of a password, so only the fixed text is kept.
    const std::string_view description = std::string_view(e.msg).substr(0, e.msg.find(": "));
    throw ConfigError(fmt::format("{}: credentials.test_accounts: YAML syntax error: {}",
                                  location(path, e.mark.is_null() ? -1 : e.mark.line),
                                  description));
  }
  std::vector<TestAccount> accounts;
  if (root.IsNull()) return accounts;
  if (!root.IsMap()) {
    throw ConfigError(fmt::format(
        "{}: credentials.test_accounts: must be a mapping of backend IP to username/password",
        location(path, root.Mark().line)));
  }
  for (const auto& entry : root) {
    accounts.push_back(parse_test_account(entry.first, entry.second, path));
  }
  return accounts;
}

struct FileAccount {
  NameTemplate user;
  Secret password;
};

FileAccount load_credfile(const std::string& path) {
  constexpr std::string_view key = "credentials.credfile";
  const std::string text = read_private_file(path, key, max_small_file);
  const auto lines = split_lines(text);
  if (lines.empty()) throw ConfigError(fmt::format("{}: {}: is empty", path, key));
  FileAccount account;
  account.user = parse_user(lines[0], fmt::format("{}:1: {}: the user (line 1)", path, key));
  if (lines.size() < 2) {
    throw ConfigError(fmt::format("{}: {}: line 2 (the password) is missing", path, key));
  }
  account.password =
      checked_password(lines[1], fmt::format("{}:2: {}: the password (line 2)", path, key));
  for (std::size_t i = 2; i < lines.size(); ++i) {
    if (!lines[i].empty()) {
      throw ConfigError(
          fmt::format("{}:{}: {}: unexpected line: the file holds only the user and the password",
                      path, i + 1, key));
    }
  }
  return account;
}

Secret load_password_file(const std::string& path) {
  constexpr std::string_view key = "credentials.default_password_file";
  const std::string text = read_private_file(path, key, max_small_file);
  const auto lines = split_lines(text);
  return checked_password(lines.empty() ? std::string_view{} : lines[0],
                          fmt::format("{}:1: {}: the password", path, key));
}

}  // namespace

CredentialStore CredentialStore::load(const CredentialsConfig& config) {
  CredentialStore store;
  store.probe_without_account_ = config.poll_unknown_backends;
  if (!config.master_user.empty()) {
    store.master_user_ = parse_user(config.master_user, "credentials.master_user");
  }

  if (!config.test_accounts.empty()) {
    std::map<IpAddress, int> first_line;
    for (auto& account : load_test_accounts(config.test_accounts)) {
      const auto [seen, inserted] = first_line.emplace(account.address, account.line);
      if (!inserted) {
        throw ConfigError(fmt::format("{}: {}: duplicate entry for this backend (first at line {})",
                                      location(config.test_accounts, account.line),
                                      account.address.to_string(), seen->second + 1));
      }
      store.per_backend_.emplace(
          account.address, AccountTemplate{std::move(account.user), std::move(account.password),
                                           std::move(account.master_user)});
    }
  }

  std::optional<AccountTemplate> default_account;
  if (!config.default_user.empty() || !config.default_password_file.empty()) {
    if (config.default_user.empty()) {
      throw ConfigError(
          "credentials.default_password_file: set, but credentials.default_user is not");
    }
    if (config.default_password_file.empty()) {
      throw ConfigError(
          "credentials.default_user: needs credentials.default_password_file for the password");
    }
    default_account =
        AccountTemplate{parse_user(config.default_user, "credentials.default_user"),
                        load_password_file(config.default_password_file), std::nullopt};
  }

  if (!config.credfile.empty()) {
    auto account = load_credfile(config.credfile);
    store.fallback_ =
        AccountTemplate{std::move(account.user), std::move(account.password), std::nullopt};
    if (default_account) {
      spdlog::warn(
          "credentials.default_user is never used: credentials.credfile applies to every "
          "backend without a test account");
    }
  } else {
    store.fallback_ = std::move(default_account);
  }

  if (!store.fallback_ && store.per_backend_.empty() && !store.probe_without_account_) {
    spdlog::warn(
        "credentials: no account is configured and poll_unknown_backends is off, so no backend "
        "will be probed");
  }
  return store;
}

Account CredentialStore::instantiate(const AccountTemplate& account, const IpAddress& backend_ip,
                                     std::string_view host_name) const {
  Account result{account.user.expand(backend_ip, host_name), account.password, {}};
  if (account.master_user) {
    result.master_user = account.master_user->expand(backend_ip, host_name);
  } else if (master_user_) {
    result.master_user = master_user_->expand(backend_ip, host_name);
  }
  return result;
}

std::optional<Account> CredentialStore::account_for(const IpAddress& backend_ip,
                                                    std::string_view host_name) const {
  if (const auto found = per_backend_.find(backend_ip); found != per_backend_.end()) {
    return instantiate(found->second, backend_ip, host_name);
  }
  if (fallback_) return instantiate(*fallback_, backend_ip, host_name);
  return std::nullopt;
}

std::size_t CredentialStore::account_count() const {
  return per_backend_.size() + (fallback_ ? 1 : 0);
}

std::string load_ring_secret(const std::string& path) {
  constexpr std::string_view key = "ring.secret_file";
  if (path.empty()) throw ConfigError(fmt::format("{}: is empty", key));
  const std::string text = read_private_file(path, key, max_small_file);
  const auto lines = split_lines(text);
  const std::string_view secret = lines.empty() ? std::string_view{} : lines[0];
  if (secret.size() < kMinRingSecretBytes) {
    // The length only: a short secret is refused, but it may be a real one cut short.
    const std::string found =
        secret.empty() ? std::string("is empty") : fmt::format("is {} bytes", secret.size());
    throw ConfigError(
        fmt::format("{}:1: {}: the secret (line 1) {}; it must be at least {} bytes; e.g. "
                    "`head -c 32 /dev/urandom | base64 > {}`",
                    path, key, found, kMinRingSecretBytes, path));
  }
  return std::string(secret);
}

bool reload_credentials(CredentialStore& current, const CredentialsConfig& config) {
  try {
    current = CredentialStore::load(config);
  } catch (const std::exception& e) {
    // Messages from load() name files, keys and lines, never a password.
    spdlog::error("credentials not reloaded, keeping the previous ones: {}", e.what());
    return false;
  }
  spdlog::info("credentials reloaded: {} account(s)", current.account_count());
  return true;
}

}  // namespace poolwatch
