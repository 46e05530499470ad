#include "core/find.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace loge {

size_t FindSubstring(std::string_view hay, std::string_view needle) {
  const size_t k = needle.size();
  const size_t n = hay.size();
  if (k == 0) return 0;
  if (k > n) return std::string_view::npos;
  const char* h = hay.data();
  const char* w = needle.data();
  if (k == 1) {
    const void* p = std::memchr(h, w[0], n);
    return p ? static_cast<size_t>(static_cast<const char*>(p) - h) : std::string_view::npos;
  }
  const size_t last = n - k;  // the last position a match may start at
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(w[0]);
  const __m128i final = _mm_set1_epi8(w[k - 1]);
  // Chunks of 16 start positions whose last-byte loads stay inside hay.
  for (; i + 15 <= last; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + k - 1));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, final))));
    while (mask != 0) {
      const size_t at = i + static_cast<size_t>(__builtin_ctz(mask));
      if (k == 2 || std::memcmp(h + at + 1, w + 1, k - 2) == 0) return at;
      mask &= mask - 1;
    }
  }
#endif
  for (; i <= last; i++) {
    if (h[i] == w[0] && h[i + k - 1] == w[k - 1] && std::memcmp(h + i + 1, w + 1, k - 2) == 0) return i;
  }
  return std::string_view::npos;
}

}  // namespace loge
