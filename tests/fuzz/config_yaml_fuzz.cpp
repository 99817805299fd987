// The YAML config as text (load_config_string, what load_config_file reads): anything
// wrong with it is a ConfigError, never another exception or a crash, and a config that
// loads passes validate().

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "poolwatch/config/config_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto config =
        poolwatch::load_config_string(poolwatch::fuzz::as_text(data, size), "fuzz.yml");
    poolwatch::validate(config);
  } catch (const poolwatch::ConfigError& e) {
    FUZZ_CHECK(*e.what() != '\0');
  }
  return 0;
}
