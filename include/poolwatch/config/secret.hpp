#pragma once
// A password or other credential. It has no operator<< and formats as "<redacted>",
// so it cannot reach a log line, an error message or a metric by accident; code that
// must send it to a server calls reveal() at that one place.

#include <fmt/format.h>

#include <string>
#include <utility>

namespace poolwatch {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const Secret&, const Secret&) = default;

 private:
  std::string value_;
};

}  // namespace poolwatch

template <>
struct fmt::formatter<poolwatch::Secret> : fmt::formatter<std::string_view> {
  auto format(const poolwatch::Secret&, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format("<redacted>", ctx);
  }
};
