#pragma once
// The contract's own floor (issue 15): the floor's probes as poolwatch must make them,
// each a C++20 coroutine on one single-threaded Asio loop under a deadline of its own,
// and nothing else (no health, no metrics, no logs, no director). Its CPU per probe,
// beside the floor's in the same run, is what the coroutine machinery costs by itself:
// the least a probe written as the contract asks can cost on this machine.

#include <cstddef>
#include <vector>

#include "floor_rig.hpp"

namespace poolwatch::bench {

// As run_floor(): every address x port round-robin at `rate` per second for `seconds`,
// poolwatch's dialogues (script_for), on the calling thread, then the ones in flight
// finish. A probe connects as poolwatch's Transport does (a non-blocking connect that is
// not waited for: the backend speaks first) and reads with async_read_some; with
// `with_deadline` its deadline races the dialogue as a parallel group with the timer's
// own wait, poolwatch's way, and without it the coroutine talks with no deadline at all.
FloorFigures run_coroutine_floor(std::size_t hosts, const std::vector<BackendPort>& ports,
                                 double rate, double seconds, bool with_deadline);

}  // namespace poolwatch::bench
