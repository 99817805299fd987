#pragma once
// Which account a probe logs in with on each backend. Accounts come from a dovemon
// test-accounts file (one per backend IP), a poolmon credfile, or a default user that is
// usually a per-backend template ("probe-%{backend_host}") so that no mailbox is touched
// from several backends at once. Everything is read and validated at load time; a probe
// only expands the already-checked templates.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/account.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/config/name_template.hpp"
#include "poolwatch/config/secret.hpp"

namespace poolwatch {

class CredentialStore {
 public:
  // No accounts: every backend is probed without a login.
  CredentialStore() = default;

  // Reads and checks every configured file. Throws ConfigError naming the key, the file
  // and, where it helps, the line; the message never contains a password.
  static CredentialStore load(const CredentialsConfig& config);

  // The account to log in with on this backend, or nullopt when there is none.
  // Precedence: the test-accounts entry for this IP, then the credfile, then default_user.
  std::optional<Account> account_for(const IpAddress& backend_ip, std::string_view host_name) const;

  // Whether a backend without an account is probed at all (poll_unknown_backends).
  bool probe_without_account() const { return probe_without_account_; }

  // Per-backend entries plus one for the fallback account (credfile or default_user).
  std::size_t account_count() const;

 private:
  struct AccountTemplate {
    NameTemplate user;
    Secret password;  // the master user's password when a master user applies
    std::optional<NameTemplate> master_user;
  };

  Account instantiate(const AccountTemplate& account, const IpAddress& backend_ip,
                      std::string_view host_name) const;

  std::map<IpAddress, AccountTemplate> per_backend_;
  std::optional<AccountTemplate> fallback_;
  std::optional<NameTemplate> master_user_;  // for accounts that name none themselves
  bool probe_without_account_ = true;
};

// Re-reads every file (SIGHUP). On any error keeps `current`, logs why (never a secret)
// and returns false.
bool reload_credentials(CredentialStore& current, const CredentialsConfig& config);

// The shortest ring secret accepted: an HMAC is only as strong as its key. The same
// figure as peer::kMinSecretBytes, which this library cannot include.
inline constexpr std::size_t kMinRingSecretBytes = 32;

// ring.secret_file: the secret that signs the ring's peer exchange, the file's first line
// without its line end. The file is checked like the password files (a regular file
// only its owner may read or write, at most 64 KiB). Throws ConfigError naming the key
// and the file when it cannot be used or the secret is shorter than kMinRingSecretBytes;
// the message never contains the secret's bytes.
std::string load_ring_secret(const std::string& path);

}  // namespace poolwatch
