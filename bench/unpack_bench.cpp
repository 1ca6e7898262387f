// berth-unpack-bench TAR DEST: unpacks TAR into the existing directory DEST
// with the snapshotter's unpackLayer (the path a pull or import takes) and
// prints the wall time in ms on stdout. Built only on request:
//   cmake --build BUILD --target berth-unpack-bench
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/fd.h"
#include "snapshot/snapshotter.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TAR DEST\n", argv[0]);
    return 2;
  }
  berth::UniqueFd fd(::open(argv[1], O_RDONLY | O_CLOEXEC));
  if (!fd) {
    std::perror(argv[1]);
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = berth::snapshot::unpackLayer(fd.get(), argv[2]);
  auto t1 = std::chrono::steady_clock::now();
  if (!r) {
    std::fprintf(stderr, "unpack: %s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%.1f\n", std::chrono::duration<double, std::milli>(t1 - t0).count());
  std::fprintf(stderr, "%lld entries, %lld bytes\n", (long long)r->entries, (long long)r->size);
  return 0;
}
