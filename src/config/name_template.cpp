#include "poolwatch/config/name_template.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

namespace {

constexpr std::string_view template_help =
    "known: %{backend_host}, %{backend_ip}; write %% for a literal %";

}  // namespace

NameTemplate NameTemplate::parse(std::string_view text) {
  NameTemplate result;
  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) result.pieces_.push_back({Kind::literal, std::exchange(literal, {})});
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      literal += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '%') {
      literal += '%';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      throw ConfigError(fmt::format("lone '%' at offset {} ({})", i, template_help));
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw ConfigError(fmt::format("unterminated '%{{' at offset {} ({})", i, template_help));
    }
    const std::string_view name = text.substr(i + 2, close - i - 2);
    Kind kind = Kind::literal;
    if (name == "backend_host") {
      kind = Kind::backend_host;
    } else if (name == "backend_ip") {
      kind = Kind::backend_ip;
    } else {
      throw ConfigError(fmt::format("unknown variable %{{{}}} ({})", name, template_help));
    }
    flush_literal();
    result.pieces_.push_back({kind, {}});
    i = close;
  }
  flush_literal();
  return result;
}

std::string NameTemplate::expand(const IpAddress& backend_ip, std::string_view backend_host) const {
  std::string out;
  for (const auto& piece : pieces_) {
    switch (piece.kind) {
      case Kind::literal:
        out += piece.text;
        break;
      case Kind::backend_host:
        out += backend_host;
        break;
      case Kind::backend_ip:
        out += backend_ip.to_string();
        break;
    }
  }
  return out;
}

std::optional<std::string> name_template_problem(std::string_view text) {
  try {
    NameTemplate::parse(text);
  } catch (const ConfigError& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace poolwatch
