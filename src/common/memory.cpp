#include "common/memory.h"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace berth {

namespace {

struct DropState {
  bool allObjects;
  bool first = true;
};

int dropSegments(dl_phdr_info* info, size_t, void* data) {
  // The first object reported is the executable itself.
  auto* st = static_cast<DropState*>(data);
  if (!st->first && !st->allObjects) return 1;
  st->first = false;
  if (info->dlpi_name && strstr(info->dlpi_name, "vdso")) return 0;
  uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
    uintptr_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    uintptr_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
  }
  return st->allObjects ? 0 : 1;
}

}  // namespace

void dropStartupPages(bool allObjects) {
  ::malloc_trim(0);
  DropState st{allObjects};
  ::dl_iterate_phdr(dropSegments, &st);
}

}  // namespace berth
