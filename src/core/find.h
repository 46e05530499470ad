// FindSubstring: where a needle first occurs in a haystack. The query
// layer's `|=` filters call it once per line of the head and once per block
// of stored text; glibc's memmem analyses the needle on every call, which
// on ~350-byte lines cost more than the search itself (it was 80% of a
// needle query under sustained ingest).
//
// Method: for every position, compare the needle's first and last bytes,
// 32 positions at once (AVX2, where the CPU has it) or 16 (SSE2), and only
// where both agree compare the rest.
// Lines of logs rarely hold both bytes at the right distance, so nearly
// every chunk of positions costs two loads, two compares and a branch.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace loge {

// Offset of the first occurrence of `needle` in `hay`, or npos. An empty
// needle is found at 0.
size_t FindSubstring(std::string_view hay, std::string_view needle);

inline bool ContainsSubstring(std::string_view hay, std::string_view needle) {
  return FindSubstring(hay, needle) != std::string_view::npos;
}

// The vector widths, for tests. Preconditions: 2 <= needle.size() <=
// hay.size(); FindAvx2 only where HaveAvx2().
namespace find_internal {
size_t FindSse2(std::string_view hay, std::string_view needle);
size_t FindAvx2(std::string_view hay, std::string_view needle);
bool HaveAvx2();
}  // namespace find_internal

}  // namespace loge
