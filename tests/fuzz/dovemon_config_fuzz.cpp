// dovemon's config file (/etc/dovecot/dovemon.config.yml) as text: anything wrong is a
// ConfigError, and the warnings, which go to the log, are printable whatever the keys.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/dovemon_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto settings =
        poolwatch::parse_dovemon_config(poolwatch::fuzz::as_text(data, size), "dovemon.config.yml");
    for (const auto& warning : settings.warnings) FUZZ_CHECK(poolwatch::fuzz::printable(warning));
    poolwatch::validate(settings.config);
  } catch (const poolwatch::ConfigError& e) {
    FUZZ_CHECK(*e.what() != '\0');
  }
  return 0;
}
