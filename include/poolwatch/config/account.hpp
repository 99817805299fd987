#pragma once
// The login a probe uses on one backend.

#include <string>

#include "poolwatch/config/secret.hpp"

namespace poolwatch {

struct Account {
  std::string user;  // the mailbox to log in as (already expanded from a template)
  Secret password;   // the user's password, or the master user's with master_user
  std::string
      master_user;  // non-empty: log in as master_user on behalf of user (SASL PLAIN authzid)
  friend bool operator==(const Account&, const Account&) = default;
};

}  // namespace poolwatch
