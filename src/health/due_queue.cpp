// A binary heap with lazy removal: a reschedule or a removal leaves the old entry in
// place and only forgets its ticket; stale entries are skipped at the top and swept out
// when they outnumber the live ones.
#include "poolwatch/health/due_queue.hpp"

#include <algorithm>

namespace poolwatch {

// A taken check's kTaken matches no entry's ticket.
bool DueQueue::stale(const Entry& e) const {
  const auto it = queued_.find(e.id);
  return it == queued_.end() || it->second != e.ticket;
}

bool DueQueue::contains(const CheckId& id) const {
  const auto it = queued_.find(id);
  return it != queued_.end() && it->second != kTaken;
}

void DueQueue::schedule(const CheckId& id, SteadyTime due) {
  const auto ticket = next_ticket_++;
  const auto [it, added] = queued_.try_emplace(id, ticket);
  if (added || it->second == kTaken) ++queued_count_;
  it->second = ticket;
  heap_.push_back(Entry{due, ticket, id});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  compact_if_sparse();
}

bool DueQueue::remove(const CheckId& id) {
  const auto it = queued_.find(id);
  if (it == queued_.end()) return false;
  const bool was_queued = it->second != kTaken;
  queued_.erase(it);
  if (was_queued) {
    --queued_count_;
    compact_if_sparse();
  }
  return was_queued;
}

void DueQueue::drop_stale_top() {
  while (!heap_.empty() && stale(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
}

std::optional<SteadyTime> DueQueue::next_due() {
  drop_stale_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

// Once a probe: one lookup of each entry popped tells stale from live and takes it out.
std::vector<CheckId> DueQueue::take_due(SteadyTime now, std::size_t max) {
  std::vector<CheckId> due;
  while (due.size() < max && !heap_.empty()) {
    const auto it = queued_.find(heap_.front().id);
    const bool live = it != queued_.end() && it->second == heap_.front().ticket;
    if (live && heap_.front().due > now) break;
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    if (live) {
      it->second = kTaken;
      --queued_count_;
      due.push_back(std::move(heap_.back().id));
    }
    heap_.pop_back();
  }
  return due;
}

void DueQueue::reschedule_all(const std::function<SteadyTime(const CheckId&)>& due_of) {
  heap_.clear();
  heap_.reserve(queued_count_);
  for (auto& [id, ticket] : queued_) {
    if (ticket == kTaken) continue;
    ticket = next_ticket_++;
    heap_.push_back(Entry{due_of(id), ticket, id});
  }
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

// Sweeping costs a pass over the heap, so it waits until the stale entries at least
// match the live ones: each entry is swept at most once, O(1) amortised per change.
void DueQueue::compact_if_sparse() {
  if (heap_.size() < 2 * queued_count_ + 64) return;
  std::erase_if(heap_, [this](const Entry& e) { return stale(e); });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

}  // namespace poolwatch
