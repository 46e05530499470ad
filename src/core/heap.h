// What the process's heap holds, from whichever allocator the binary runs
// on: jemalloc (linked into `loge` by default, docs/memory.md) or glibc's
// malloc (sanitizer and test builds).
//
// `allocated` is what the program asked for and has not freed; `resident`
// is what the allocator keeps in RAM for it (allocated plus free pages not
// yet returned, plus its own metadata). Their gap is the heap's overhead:
// the number that tells a leak (allocated grows) from fragmentation
// (resident grows, allocated does not).
//
// Thread-safety: ReadHeap may be called from any thread; it takes the
// allocator's own locks for a moment.
#pragma once

#include <cstdint>

namespace loge {

struct HeapStats {
  const char* allocator = "unknown";  // "jemalloc" or "glibc"
  uint64_t allocated = 0;             // bytes in live allocations
  uint64_t resident = 0;              // bytes the allocator keeps in RAM
};

HeapStats ReadHeap();

}  // namespace loge
