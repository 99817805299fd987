#include "poolwatch/probe/lmtp_protocol.hpp"

#include <algorithm>

#include "poolwatch/common/text.hpp"

namespace poolwatch::lmtp {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

ReplyParser::Result ReplyParser::feed(std::string_view line) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
      line[0] < '1' || line[0] > '5' || has_control_bytes(line))
    return Result::malformed;
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (!reply_.lines.empty() && code != reply_.code) return Result::malformed;
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-')
      last = false;
    else if (line[3] != ' ')
      return Result::malformed;
  }
  if (!last && reply_.lines.size() + 1 >= max_lines_) return Result::malformed;
  reply_.code = code;
  reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
  return last ? Result::complete : Result::incomplete;
}

void ReplyParser::reset() {
  reply_ = Reply{};
}

std::vector<std::string> extensions_of(const Reply& reply) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    const auto space = line.find(' ');
    if (space != std::string_view::npos) line = line.substr(0, space);
    if (!line.empty()) out.push_back(ascii_upper(line));
  }
  return out;
}

bool has_extension(const Reply& reply, std::string_view keyword) {
  const auto extensions = extensions_of(reply);
  const auto wanted = ascii_upper(keyword);
  return std::find(extensions.begin(), extensions.end(), wanted) != extensions.end();
}

std::string describe(const Reply& reply) {
  std::string out = std::to_string(reply.code);
  if (!reply.lines.empty() && !reply.lines.back().empty()) out += " " + reply.lines.back();
  // The parser refused C0 controls; this also replaces C1 controls and invalid UTF-8.
  return printable_excerpt(out, 200);
}

}  // namespace poolwatch::lmtp
