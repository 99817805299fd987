#include <gtest/gtest.h>

#include <csignal>

int main(int argc, char** argv) {
  // A peer that resets a connection must show up as an error_code, not kill the run.
  std::signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
