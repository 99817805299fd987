#pragma once
// Which check is due next: one queue for every check, so the daemon waits on one timer
// for all of them instead of keeping a timer and a coroutine per check (about 1 KB each,
// 300 MB at 100 000 backends with three ports). Sans-io: the caller says what time it is.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch {

class DueQueue {
 public:
  // Queues `id` at `due`, replacing its place if it was queued.
  void schedule(const CheckId& id, SteadyTime due);
  // Takes `id` out; false if it was not queued.
  bool remove(const CheckId& id);
  bool contains(const CheckId& id) const;
  std::size_t size() const { return queued_count_; }
  // The earliest due time of a queued check.
  std::optional<SteadyTime> next_due();
  // Takes out up to `max` checks due at or before `now`, earliest first; checks due at
  // the same time in the order they were queued.
  std::vector<CheckId> take_due(SteadyTime now, std::size_t max);
  // Every queued check at the due time `due_of` gives it now (a reload changes them all):
  // one pass, not a reschedule per check.
  void reschedule_all(const std::function<SteadyTime(const CheckId&)>& due_of);
  // Entries kept, including those a reschedule or a removal left behind: never more than
  // about twice size().
  std::size_t stored_entries() const { return heap_.size(); }

 private:
  struct Entry {
    SteadyTime due;
    std::uint64_t ticket;  // which schedule() made it; an older one for the id is stale
    CheckId id;
  };
  // The heap's order: std::push_heap keeps the greatest on top, so "greater" is earlier.
  // A function object, not a function pointer, so that the heap's steps inline it.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.due != b.due ? a.due > b.due : a.ticket > b.ticket;
    }
  };
  bool stale(const Entry& e) const;
  void drop_stale_top();
  void compact_if_sparse();

  std::vector<Entry> heap_;
  // Each queued check's current ticket; by hash, since every probe looks its check up
  // twice (queued, then taken). A check taken out keeps its entry, marked kTaken, until
  // remove(): queued again after its probe, it reuses the node instead of a free and a
  // malloc per probe.
  static constexpr std::uint64_t kTaken = UINT64_MAX;
  std::unordered_map<CheckId, std::uint64_t, CheckIdHash> queued_;
  std::size_t queued_count_ = 0;  // entries of queued_ not kTaken
  std::uint64_t next_ticket_ = 0;
};

}  // namespace poolwatch
