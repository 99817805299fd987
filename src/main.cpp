#include <cstdio>

int main() {
  std::puts("poolwatch " POOLWATCH_VERSION);
  return 0;
}
