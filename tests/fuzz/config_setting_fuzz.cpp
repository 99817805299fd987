// The config's value syntaxes one at a time, as `--set key=value` and the YAML loader
// read them: a key of the table with any value, durations, port specs, the hook command
// and name templates. Anything wrong is a ConfigError; what is accepted is in range.

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/name_template.hpp"

namespace {

const std::vector<std::string>& key_paths() {
  static const auto paths = poolwatch::config_key_paths();
  return paths;
}

void check_value_syntaxes(const std::string& value) {
  try {
    const auto seconds = poolwatch::parse_duration(value);
    FUZZ_CHECK(std::isfinite(seconds.count()) && seconds.count() >= 0);
  } catch (const poolwatch::ConfigError&) {
  }
  try {
    poolwatch::parse_port_spec(value);
  } catch (const poolwatch::ConfigError&) {
  }
  for (const auto& word : poolwatch::split_hook_command(value)) {
    FUZZ_CHECK(!word.empty() && word.find_first_of(" \t") == std::string::npos);
  }
  const auto problem = poolwatch::name_template_problem(value);
  try {
    const auto name = poolwatch::NameTemplate::parse(value);
    FUZZ_CHECK(!problem);
    name.expand(poolwatch::IpAddress::parse("192.0.2.7").value(), "imap7.example.org");
  } catch (const poolwatch::ConfigError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const auto& paths = key_paths();
  const auto& key = paths[input.ConsumeIntegralInRange<std::size_t>(0, paths.size() - 1)];
  const auto value = input.ConsumeRemainingBytesAsString();
  poolwatch::Config config;
  try {
    poolwatch::apply_setting(config, key, value);
    poolwatch::validate(config);
  } catch (const poolwatch::ConfigError& e) {
    FUZZ_CHECK(*e.what() != '\0');
  }
  check_value_syntaxes(value);
  return 0;
}
