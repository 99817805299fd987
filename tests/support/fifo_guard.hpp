#pragma once
// For tests that point a file path at a FIFO: the code under test must refuse it without
// opening it for real, since an open(2) of a FIFO waits for the other end forever.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

namespace poolwatch::test {

// Runs f on a thread of its own and returns its result. If f has not returned within
// `bound`, it is taken to be waiting on `fifo`: the FIFO is opened both ways (which
// releases a reader and a writer alike in open(2)) so that the thread can end, and the
// wait is reported as a test failure.
template <typename F>
auto call_guarding_fifo(F f, const std::string& fifo,
                        std::chrono::seconds bound = std::chrono::seconds(10)) {
  auto result = std::async(std::launch::async, f);
  if (result.wait_for(bound) == std::future_status::ready) return result.get();
  ADD_FAILURE() << "still waiting on the FIFO " << fifo << " after " << bound.count() << " s";
  int both_ends = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
  // A writer waiting in open() now returns (and may write into the pipe while this end
  // stays open); a reader returns too, but then waits in read() for as long as a writer
  // is left: closing this end gives it its end of file.
  if (result.wait_for(std::chrono::seconds(2)) != std::future_status::ready && both_ends >= 0) {
    ::close(both_ends);
    both_ends = -1;
  }
  auto value = result.get();
  if (both_ends >= 0) ::close(both_ends);
  return value;
}

}  // namespace poolwatch::test
