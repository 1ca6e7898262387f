#include "monitor/memory.h"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace berth::monitor {

namespace {

int dropSegments(dl_phdr_info* info, size_t, void* data) {
  // The first object reported is the executable itself.
  bool* done = static_cast<bool*>(data);
  if (*done) return 1;
  *done = true;
  uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
    uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  }
  return 1;
}

}  // namespace

void dropStartupPages() {
  ::malloc_trim(0);
  bool done = false;
  ::dl_iterate_phdr(dropSegments, &done);
}

}  // namespace berth::monitor
