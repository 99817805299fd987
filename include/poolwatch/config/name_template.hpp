#pragma once
// The one template syntax of the config: probe user names (credentials.default_user),
// the LMTP recipient (probe.lmtp_to) and the TLS name (probe.tls.name_template). Parsed
// and checked at load, so a typo stops the start-up instead of failing every probe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {

// A name that may depend on the backend: "%{backend_host}" (the host name as given; for
// the director pool that is the IP text), "%{backend_ip}" and "%%" for a literal "%".
class NameTemplate {
 public:
  NameTemplate() = default;

  // Throws ConfigError for an unknown "%{...}", an unterminated "%{" or a lone "%", so a
  // typo stops the start-up instead of every probe. The message has no key prefix.
  static NameTemplate parse(std::string_view text);

  std::string expand(const IpAddress& backend_ip, std::string_view backend_host) const;
  bool empty() const { return pieces_.empty(); }
  friend bool operator==(const NameTemplate&, const NameTemplate&) = default;

 private:
  enum class Kind { literal, backend_host, backend_ip };
  struct Piece {
    Kind kind = Kind::literal;
    std::string text;
    friend bool operator==(const Piece&, const Piece&) = default;
  };
  std::vector<Piece> pieces_;
};

// The parse error of `text` as a template, for a key's check; nullopt when it is good.
std::optional<std::string> name_template_problem(std::string_view text);

}  // namespace poolwatch
