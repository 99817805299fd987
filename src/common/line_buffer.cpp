#include "poolwatch/common/line_buffer.hpp"

namespace poolwatch {

LineBuffer::Status LineBuffer::feed(std::string_view bytes) {
  // Compact lazily so consumed lines do not keep the buffer large.
  if (start_ > 0 && start_ >= data_.size() / 2) {
    data_.erase(0, start_);
    tail_ -= start_;
    start_ = 0;
  }
  std::size_t pos = data_.size();
  data_.append(bytes);
  // Each line is checked once, when its LF arrives; the unterminated tail is checked
  // on every feed so an endless line is refused without buffering it.
  while ((pos = data_.find('\n', pos)) != std::string::npos) {
    if (pos - tail_ > max_line_) return Status::line_too_long;
    tail_ = ++pos;
  }
  if (data_.size() - tail_ > max_line_) return Status::line_too_long;
  return Status::ok;
}

bool LineBuffer::has_line() const {
  return tail_ > start_;
}

std::optional<std::string> LineBuffer::next_line() {
  if (tail_ <= start_) return std::nullopt;
  const auto lf = data_.find('\n', start_);
  auto end = lf;
  if (end > start_ && data_[end - 1] == '\r') --end;
  std::string line = data_.substr(start_, end - start_);
  start_ = lf + 1;
  if (start_ == data_.size()) clear();
  return line;
}

void LineBuffer::clear() {
  data_.clear();
  start_ = 0;
  tail_ = 0;
}

}  // namespace poolwatch
