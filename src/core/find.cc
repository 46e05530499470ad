#include "core/find.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOGE_FIND_AVX2 1
#endif

namespace loge {

namespace {

// Whether the needle starts at `at` (its first and last bytes already agree).
inline bool MiddleAgrees(const char* h, size_t at, const char* w, size_t k) {
  return k == 2 || std::memcmp(h + at + 1, w + 1, k - 2) == 0;
}

}  // namespace

namespace find_internal {

size_t FindSse2(std::string_view hay, std::string_view needle) {
  const size_t k = needle.size(), last = hay.size() - k;  // preconditions: 2 <= k <= hay.size()
  const char* h = hay.data();
  const char* w = needle.data();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(w[0]);
  const __m128i final = _mm_set1_epi8(w[k - 1]);
  // Chunks of 16 start positions whose last-byte loads stay inside hay.
  for (; i + 15 <= last; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + k - 1));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, final))));
    for (; mask != 0; mask &= mask - 1) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      if (MiddleAgrees(h, at, w, k)) return at;
    }
  }
#endif
  for (; i <= last; i++) {  // the tail the vector loop leaves, one position at a time
    if (h[i] == w[0] && h[i + k - 1] == w[k - 1] && MiddleAgrees(h, i, w, k)) return i;
  }
  return std::string_view::npos;
}

#if defined(LOGE_FIND_AVX2)
// The same with 32 start positions a step, on CPUs that have AVX2 (the
// build targets baseline x86-64, so this is chosen at run time): the head's
// lines are searched one by one on every needle query, and this loop was
// 83% of such a query's CPU.
__attribute__((target("avx2"))) size_t FindAvx2(std::string_view hay, std::string_view needle) {
  const size_t k = needle.size(), last = hay.size() - k;
  const char* h = hay.data();
  const char* w = needle.data();
  const __m256i first = _mm256_set1_epi8(w[0]);
  const __m256i final = _mm256_set1_epi8(w[k - 1]);
  size_t i = 0;
  for (; i + 31 <= last; i += 32) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i + k - 1));
    unsigned mask = static_cast<unsigned>(
        _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, final))));
    for (; mask != 0; mask &= mask - 1) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      if (MiddleAgrees(h, at, w, k)) return at;
    }
  }
  if (i > last) return std::string_view::npos;
  const size_t r = FindSse2(hay.substr(i), needle);  // fewer than 32 positions left
  return r == std::string_view::npos ? r : i + r;
}
#else
size_t FindAvx2(std::string_view hay, std::string_view needle) { return FindSse2(hay, needle); }
#endif

bool HaveAvx2() {
#if defined(LOGE_FIND_AVX2)
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
#else
  return false;
#endif
}

}  // namespace find_internal

size_t FindSubstring(std::string_view hay, std::string_view needle) {
  const size_t k = needle.size();
  const size_t n = hay.size();
  if (k == 0) return 0;
  if (k > n) return std::string_view::npos;
  if (k == 1) {
    const void* p = std::memchr(hay.data(), needle[0], n);
    return p ? static_cast<size_t>(static_cast<const char*>(p) - hay.data()) : std::string_view::npos;
  }
  if (find_internal::HaveAvx2()) return find_internal::FindAvx2(hay, needle);
  return find_internal::FindSse2(hay, needle);
}

}  // namespace loge
