#pragma once
// Files of the source tree (docs, example config) that tests compare with the code.

#include <string>
#include <string_view>

namespace poolwatch::test {

// The whole text of POOLWATCH_SOURCE_DIR/relative; empty (and a test failure) when the
// file cannot be read.
std::string read_source_file(std::string_view relative);

}  // namespace poolwatch::test
