#include "core/heap.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, when the binary is linked with it (or it is
// preloaded); null otherwise. Declared here rather than included so that
// core/ builds, and the sanitizer builds link, without jemalloc.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace loge {
namespace {

bool ReadJemalloc(HeapStats* out) {
  if (mallctl == nullptr) return false;
  // The statistics are a snapshot refreshed by writing the epoch.
  uint64_t epoch = 1;
  size_t len = sizeof(epoch);
  if (mallctl("epoch", &epoch, &len, &epoch, len) != 0) return false;
  size_t allocated = 0, resident = 0;
  len = sizeof(size_t);
  if (mallctl("stats.allocated", &allocated, &len, nullptr, 0) != 0) return false;
  len = sizeof(size_t);
  if (mallctl("stats.resident", &resident, &len, nullptr, 0) != 0) return false;
  out->allocator = "jemalloc";
  out->allocated = allocated;
  out->resident = resident;
  return true;
}

void ReadGlibc(HeapStats* out) {
  const struct mallinfo2 mi = mallinfo2();
  out->allocator = "glibc";
  out->allocated = mi.uordblks + mi.hblkhd;   // in use from the arenas, plus mmap'd chunks
  out->resident = mi.arena + mi.hblkhd;       // the arenas' memory, plus mmap'd chunks
}

}  // namespace

HeapStats ReadHeap() {
  HeapStats s;
  if (!ReadJemalloc(&s)) ReadGlibc(&s);
  return s;
}

}  // namespace loge
