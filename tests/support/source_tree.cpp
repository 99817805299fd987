#include "support/source_tree.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace poolwatch::test {

std::string read_source_file(std::string_view relative) {
  // Appended piece by piece: `std::string(LITERAL) + "/" + ...` trips g++ 12's
  // -Warray-bounds false positive for some lengths of the source path.
  std::string path = POOLWATCH_SOURCE_DIR;
  path += '/';
  path += relative;
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace poolwatch::test
