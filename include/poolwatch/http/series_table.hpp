#pragma once
// The series of one metric family: their labels kept as one compact key each, found,
// walked in order and removed by a label's value without a walk of the whole family.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch::metrics {

// Label values in the order of the family's label names.
using LabelValues = std::vector<std::string>;

namespace detail {

// A series' label values as one string, the key of its series table: each value
// followed by '\0', with '\1' and '\0' in a value escaped as "\1\1" and "\1\2". One
// string per series instead of a vector of strings saves about 80 bytes a series (a
// pool of 1000 backends has some 13 000), and the keys still sort as the value tuples do
// (first label first), so the series sharing a first label are one range of the table.
std::string encode_labels(const LabelValues& values);
LabelValues decode_labels(std::string_view key);
// The escaped form of one value, as it appears in a key before its '\0'.
std::string escape_key_value(std::string_view value);
// The escaped value at `index` of a key (empty past its end).
std::string_view key_segment(std::string_view key, std::size_t index);
// Calls f(value) with each value of a key, unescaped, in order.
template <class F>
void for_each_label(std::string_view key, F f) {
  std::string unescaped;
  while (!key.empty()) {
    const auto end = key.find('\0');
    const auto segment = key.substr(0, end);
    if (segment.find('\1') == std::string_view::npos) {
      f(segment);
    } else {
      unescaped.clear();
      for (std::size_t i = 0; i < segment.size(); ++i)
        unescaped += segment[i] == '\1' && i + 1 < segment.size()
                         ? (segment[++i] == '\1' ? '\1' : '\0')
                         : segment[i];
      f(std::string_view(unescaped));
    }
    key.remove_prefix(end == std::string_view::npos ? key.size() : end + 1);
  }
}

// The series of one family, keyed by their encoded label values. A pool of 100 000
// backends makes hundreds of thousands of series, and a backend's are removed while
// probes run, so no removal may walk them all: the series sharing a value of the first
// label are one range of the map, and for any other label an index from its value to its
// series is built the first time a removal asks for it (one walk) and kept from then on.
// A table's key: the encoded labels, up to 24 bytes within itself (an IPv4 backend's
// labels fit), longer ones on the heap. A std::string of the same size keeps only 15
// within itself, so each series of a backend cost a further allocation of 32 bytes.
class SeriesKey {
 public:
  explicit SeriesKey(std::string_view key);
  SeriesKey(SeriesKey&& other) noexcept;
  SeriesKey(const SeriesKey&) = delete;
  SeriesKey& operator=(const SeriesKey&) = delete;
  SeriesKey& operator=(SeriesKey&&) = delete;
  ~SeriesKey();

  std::string_view view() const { return {size_ <= kInline ? chars_ : heap_, size_}; }
  operator std::string_view() const { return view(); }  // a key compares as its text

 private:
  static constexpr std::size_t kInline = 24;
  union {
    char chars_[kInline];
    char* heap_;
  };
  std::uint32_t size_;
};

static_assert(sizeof(SeriesKey) == sizeof(std::string), "no bigger than the key it replaces");

struct SeriesKeyLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a < b; }
};

template <class T>
class SeriesTable {
  using Map = std::map<SeriesKey, T, SeriesKeyLess>;
  using Iterator = typename Map::iterator;
  // The value views point into the keys of the map's nodes, which never move.
  struct Entry {
    std::string_view value;
    Iterator series;
  };
  struct EntryLess {
    using is_transparent = void;
    static const void* node(const Entry& e) { return &e.series->first; }
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.value != b.value) return a.value < b.value;
      return std::less<const void*>()(node(a), node(b));
    }
    bool operator()(const Entry& a, std::string_view b) const { return a.value < b; }
    bool operator()(std::string_view a, const Entry& b) const { return a < b.value; }
  };
  using Index = std::set<Entry, EntryLess>;

 public:
  // Iterates (encoded key, value): detail::for_each_label reads a key's values.
  using const_iterator = typename Map::const_iterator;
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  std::size_t size() const { return map_.size(); }
  // Label keys looked up and series walked so far: what a test counts to show that an
  // update through a kept reference looks nothing up, and that a removal walks only the
  // series it removes, whatever the number of series.
  std::size_t visits() const { return visits_; }

  // The first series whose labels are not before `labels`: where a sliced render resumes
  // even when the series it stopped at was removed meanwhile.
  const_iterator lower_bound(const LabelValues& labels) const {
    ++visits_;
    return map_.lower_bound(encode_labels(labels));
  }

  const T* find(const LabelValues& labels) const {
    ++visits_;
    auto it = map_.find(encode_labels(labels));
    return it == map_.end() ? nullptr : &it->second;
  }
  // The series, created as `init` when it does not exist yet. The reference stays valid
  // until the series is erased (a map node never moves).
  T& get(const LabelValues& labels, const T& init = T{}) {
    ++visits_;
    const std::string key = encode_labels(labels);
    auto it = map_.find(key);
    const bool inserted = it == map_.end();
    if (inserted) it = map_.try_emplace(it, SeriesKey(key), init);
    if (inserted)
      for (std::size_t i = 0; i < indexes_.size(); ++i)
        if (indexes_[i]) indexes_[i]->insert(Entry{key_segment(it->first, i), it});
    return it->second;
  }
  void erase(const LabelValues& labels) {
    ++visits_;
    auto it = map_.find(encode_labels(labels));
    if (it != map_.end()) erase(it);
  }
  // Every series whose label at `index` equals `value`: O(log N + removed).
  void erase_matching(std::size_t index, std::string_view value) {
    ++visits_;
    const std::string escaped = escape_key_value(value);
    if (index == 0) {
      const std::string prefix = escaped + '\0';
      auto it = map_.lower_bound(prefix);
      for (; it != map_.end() && it->first.view().starts_with(prefix); ++visits_) erase(it++);
      return;
    }
    const Index& by_value = index_of(index);
    auto [first, last] = by_value.equal_range(std::string_view(escaped));
    std::vector<Iterator> doomed;
    for (auto e = first; e != last; ++e, ++visits_) doomed.push_back(e->series);
    for (auto it : doomed) erase(it);
  }
  void clear() {
    visits_ += map_.size();
    map_.clear();
    for (auto& index : indexes_)
      if (index) index->clear();
  }

 private:
  void erase(Iterator it) {
    for (std::size_t i = 0; i < indexes_.size(); ++i)
      if (indexes_[i]) indexes_[i]->erase(Entry{key_segment(it->first, i), it});
    map_.erase(it);
  }
  const Index& index_of(std::size_t index) {
    if (indexes_.size() <= index) indexes_.resize(index + 1);
    if (!indexes_[index]) {
      indexes_[index].emplace();
      visits_ += map_.size();
      for (auto it = map_.begin(); it != map_.end(); ++it)
        indexes_[index]->insert(Entry{key_segment(it->first, index), it});
    }
    return *indexes_[index];
  }

  Map map_;
  std::vector<std::optional<Index>> indexes_;  // by label position; the first stays empty
  mutable std::size_t visits_ = 0;
};

}  // namespace detail
}  // namespace poolwatch::metrics
