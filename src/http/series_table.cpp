#include "poolwatch/http/series_table.hpp"

#include <cstring>

namespace poolwatch::metrics {

namespace detail {

std::string escape_key_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\1' || c == '\0') {
      out += '\1';
      out += c == '\1' ? '\1' : '\2';
    } else {
      out += c;
    }
  }
  return out;
}

std::string encode_labels(const LabelValues& values) {
  std::size_t size = 0;
  for (const auto& value : values) size += value.size() + 1;
  std::string key;
  key.reserve(size);
  for (const auto& value : values) {
    if (value.find_first_of(std::string_view("\0\1", 2)) == std::string::npos)
      key += value;
    else
      key += escape_key_value(value);
    key += '\0';
  }
  return key;
}

LabelValues decode_labels(std::string_view key) {
  LabelValues values;
  for_each_label(key, [&](std::string_view value) { values.emplace_back(value); });
  return values;
}

std::string_view key_segment(std::string_view key, std::size_t index) {
  for (; index > 0 && !key.empty(); --index) {
    const auto end = key.find('\0');
    key.remove_prefix(end == std::string_view::npos ? key.size() : end + 1);
  }
  return key.substr(0, key.find('\0'));
}

SeriesKey::SeriesKey(std::string_view key) : size_(static_cast<std::uint32_t>(key.size())) {
  if (size_ <= kInline) {
    std::memcpy(chars_, key.data(), size_);
  } else {
    heap_ = new char[size_];
    std::memcpy(heap_, key.data(), size_);
  }
}

SeriesKey::SeriesKey(SeriesKey&& other) noexcept : size_(other.size_) {
  if (size_ <= kInline) {
    std::memcpy(chars_, other.chars_, size_);
  } else {
    heap_ = other.heap_;
    other.size_ = 0;
  }
}

SeriesKey::~SeriesKey() {
  if (size_ > kInline) delete[] heap_;
}

}  // namespace detail

}  // namespace poolwatch::metrics
