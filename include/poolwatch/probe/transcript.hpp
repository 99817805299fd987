#pragma once
// The lines of one probe dialogue, as `poolwatch probe` shows them, in a fixed amount
// of memory whatever a backend sends: a backend that floods untagged lines must cost
// no more than one that answers politely. The first lines (greeting, capabilities,
// login) and the last ones (where the dialogue ended) are what explain a failure, so
// those are kept, with the number of lines dropped between them.

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

namespace poolwatch {

struct TranscriptLimits {
  std::size_t head_lines = 40;
  std::size_t tail_lines = 40;
  std::size_t max_line = 1024;        // a longer line is cut and ends in "..."
  std::size_t max_bytes = 64 * 1024;  // every kept line together: half head, half tail
};

class Transcript {
 public:
  explicit Transcript(TranscriptLimits limits = {}) : limits_(limits) {}

  void add(std::string line);

  // The kept lines in order; "-- ... N lines omitted" stands for the dropped ones.
  std::vector<std::string> lines() const;
  std::size_t omitted() const { return omitted_; }
  std::size_t kept_bytes() const { return head_bytes_ + tail_bytes_; }

 private:
  std::size_t head_budget() const { return limits_.max_bytes / 2; }
  std::size_t tail_budget() const { return limits_.max_bytes - head_budget(); }

  TranscriptLimits limits_;
  std::vector<std::string> head_;
  bool head_closed_ = false;  // once a line missed the head, later ones go to the tail
  std::size_t head_bytes_ = 0;
  std::deque<std::string> tail_;
  std::size_t tail_bytes_ = 0;
  std::size_t omitted_ = 0;
};

}  // namespace poolwatch
