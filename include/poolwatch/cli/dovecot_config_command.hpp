#pragma once
// `poolwatch dovecot-config`: the dovecot.conf lines that point the director's stats
// process at passive.listen (docs/passive.md).

#include <ostream>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

// Prints the snippet to out and any caution (passive off, a wildcard listen address) to
// err. Returns the exit code: 0, or 2 when passive.listen has no address to post to.
int print_dovecot_config(const PassiveConfig& passive, std::ostream& out, std::ostream& err);

}  // namespace poolwatch
