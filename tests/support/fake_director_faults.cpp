#include "support/fake_director_faults.hpp"

#include <algorithm>
#include <stdexcept>

namespace poolwatch::testing {

DirectorFault DirectorFault::reply_with(std::string line) {
  return {Kind::reply_with, std::move(line)};
}

DirectorFault DirectorFault::ignore() {
  return {Kind::ignore, {}};
}

DirectorFault DirectorFault::close_connection() {
  return {Kind::close_connection, {}};
}

DirectorFault DirectorFault::endless_line() {
  return {Kind::endless_line, {}};
}

void DirectorFaultQueue::push_for(std::string_view verb, DirectorFault fault) {
  if (verb.empty() || verb.find_first_of("\t\n ") != std::string_view::npos)
    throw std::invalid_argument("fake director: a verb is one word, e.g. \"HOST-DOWN\"");
  faults_.push_back({std::string(verb), std::move(fault)});
}

void DirectorFaultQueue::push_for_any(DirectorFault fault) {
  faults_.push_back({std::nullopt, std::move(fault)});
}

std::optional<DirectorFault> DirectorFaultQueue::take(std::string_view command) {
  const auto verb = command.substr(0, command.find('\t'));
  const auto it = std::find_if(faults_.begin(), faults_.end(),
                               [verb](const Queued& q) { return !q.verb || *q.verb == verb; });
  if (it == faults_.end()) return std::nullopt;
  DirectorFault fault = std::move(it->fault);
  faults_.erase(it);
  return fault;
}

}  // namespace poolwatch::testing
