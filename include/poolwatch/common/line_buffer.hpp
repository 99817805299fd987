#pragma once
// Sans-io line splitter shared by the director client and every probe: bytes go in,
// complete lines come out, and nothing grows without bound.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace poolwatch {

class LineBuffer {
 public:
  enum class Status { ok, line_too_long };

  explicit LineBuffer(std::size_t max_line) : max_line_(max_line) {}

  // Appends bytes read from the peer. Returns line_too_long as soon as the pending
  // partial line exceeds the cap, so an endless line is rejected without buffering it.
  Status feed(std::string_view bytes);

  // The next complete line without its LF (and a CR before it), if there is one.
  // Lines cap at max_line bytes excluding the LF.
  std::optional<std::string> next_line();

  bool has_line() const;
  std::size_t buffered() const { return data_.size() - start_; }
  std::size_t max_line() const { return max_line_; }
  void clear();

 private:
  std::size_t max_line_;
  std::string data_;
  std::size_t start_ = 0;
  std::size_t tail_ = 0;  // start of the unterminated last line
};

}  // namespace poolwatch
