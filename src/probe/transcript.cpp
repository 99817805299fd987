#include "poolwatch/probe/transcript.hpp"

#include <fmt/format.h>

namespace poolwatch {

void Transcript::add(std::string line) {
  if (line.size() > limits_.max_line) {
    line.resize(limits_.max_line);
    line += "...";
  }
  if (!head_closed_ && head_.size() < limits_.head_lines &&
      head_bytes_ + line.size() <= head_budget()) {
    head_bytes_ += line.size();
    head_.push_back(std::move(line));
    return;
  }
  head_closed_ = true;
  tail_bytes_ += line.size();
  tail_.push_back(std::move(line));
  while (!tail_.empty() && (tail_.size() > limits_.tail_lines || tail_bytes_ > tail_budget())) {
    tail_bytes_ -= tail_.front().size();
    tail_.pop_front();
    ++omitted_;
  }
}

std::vector<std::string> Transcript::lines() const {
  std::vector<std::string> out;
  out.reserve(head_.size() + tail_.size() + 1);
  out.insert(out.end(), head_.begin(), head_.end());
  if (omitted_ > 0)
    out.push_back(fmt::format("-- ... {} line{} omitted", omitted_, omitted_ == 1 ? "" : "s"));
  out.insert(out.end(), tail_.begin(), tail_.end());
  return out;
}

}  // namespace poolwatch
