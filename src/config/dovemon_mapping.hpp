#pragma once
// The second half of reading dovemon's config (dovemon_config.cpp reads the keys): what
// the collected keys mean in poolwatch's config, and what cannot be honoured (a warning
// each). Private to src/config.

#include <optional>
#include <string_view>

#include "poolwatch/config/dovemon_config.hpp"

namespace poolwatch::dovemon_detail {

// dovemon's per-protocol keys, gathered first because the port list depends on several.
struct ProtocolKeys {
  bool poll = false;
  bool tls = false;
  long long port = 0;
  long long tls_port = 0;
};

// The keys whose meaning depends on others, as read; mapped once the file is read.
struct DovemonKeys {
  ProtocolKeys imap{true, false, 143, 993};
  ProtocolKeys pop3{false, false, 110, 995};
  ProtocolKeys lmtp{false, false, 24, 24};  // dovemon has no lmtps_port: TLS uses lmtp_port
  bool imap_append = false;
  bool imap_expunge = false;
  bool pop3_stat = false;
  bool pop3_delete = false;
  bool debug = false;
  std::optional<long long> loglevel;
  bool use_delayed_down = false;
  std::optional<double> delayed_down_delay;
  std::optional<long long> delayed_down_limit;
  std::optional<long long> retry_count, rapid_rounds, rapid_fails_needed;
};

// dovemon's documented defaults, for every key that changes what is probed or decided.
Config dovemon_defaults();

// Applies the collected keys to settings.config and adds a warning for each key it cannot
// honour as given. Throws ConfigError (prefixed with origin) when the result could never
// work: nothing probed, or rapid_fails_needed above rapid_rounds.
void map_dovemon_keys(const DovemonKeys& keys, DovemonSettings& settings, std::string_view origin);

}  // namespace poolwatch::dovemon_detail
