#pragma once
// `poolwatch probe`: one dialogue with one backend, printed with its transcript — the
// tool an operator uses to debug a check.

#include <ostream>

#include "poolwatch/cli/cli.hpp"

namespace poolwatch {

// Exit codes: 0 healthy, 1 unhealthy, 2 usage error.
int run_probe_command(const CliOptions& options, std::ostream& out, std::ostream& err);

}  // namespace poolwatch
