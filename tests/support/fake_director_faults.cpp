#include "support/fake_director_faults.hpp"

#include <algorithm>
#include <stdexcept>

namespace poolwatch::testing {

namespace {

DirectorFault fault_of_kind(DirectorFault::Kind kind) {
  DirectorFault fault;
  fault.kind = kind;
  return fault;
}

}  // namespace

DirectorFault DirectorFault::reply_with(std::string line) {
  auto fault = fault_of_kind(Kind::reply_with);
  fault.line = std::move(line);
  return fault;
}

DirectorFault DirectorFault::reply_lines(std::vector<std::string> lines) {
  auto fault = fault_of_kind(Kind::reply_lines);
  fault.lines = std::move(lines);
  return fault;
}

DirectorFault DirectorFault::ignore() {
  return fault_of_kind(Kind::ignore);
}

DirectorFault DirectorFault::close_connection() {
  return fault_of_kind(Kind::close_connection);
}

DirectorFault DirectorFault::endless_line() {
  return fault_of_kind(Kind::endless_line);
}

DirectorFault DirectorFault::close_after(std::size_t bytes) {
  auto fault = fault_of_kind(Kind::close_after);
  fault.bytes = bytes;
  return fault;
}

DirectorFault DirectorFault::stall_after(std::size_t bytes) {
  auto fault = fault_of_kind(Kind::stall_after);
  fault.bytes = bytes;
  return fault;
}

DirectorFault DirectorFault::stop_reading() {
  return fault_of_kind(Kind::stop_reading);
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
