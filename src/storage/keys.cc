#include "storage/keys.h"

#include <algorithm>
#include <array>

namespace loge::storage {
namespace {

// Per byte: 0 = not a token byte, 1 = a token byte, 2 = a token byte that
// is an ASCII letter.
constexpr std::array<uint8_t, 256> MakeTokenClass() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool token = letter || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == ':' || c >= 0x80;
    t[c] = letter ? 2 : token ? 1 : 0;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kTokenClass = MakeTokenClass();

// splitmix64's finalizer: a fast full-avalanche mix of the k-gram's bytes.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Appends the winnowed keys of the token run [s, s+len) (len >= kIdMinLen):
// the leftmost smallest-hash k-gram of every window of kWindow k-grams,
// each pick once. A monotone deque keeps each window's minimum in O(1)
// amortized per k-gram.
void Winnow(const unsigned char* s, size_t len, std::vector<uint64_t>* keys) {
  const size_t grams = len - kGramLen + 1;
  constexpr uint64_t kMask = (uint64_t{1} << (8 * kGramLen)) - 1;
  // Ring buffers of (position, hash); a window holds at most kWindow.
  constexpr size_t kRing = 16;
  static_assert(kRing >= kWindow && (kRing & (kRing - 1)) == 0);
  size_t pos[kRing];
  uint64_t hash[kRing];
  size_t head = 0, tail = 0;  // deque [head, tail), increasing hashes
  size_t last_pick = SIZE_MAX;
  uint64_t x = 0;
  for (size_t j = 0; j + 1 < kGramLen; ++j) x = x << 8 | s[j];
  for (size_t g = 0; g < grams; ++g) {
    x = (x << 8 | s[g + kGramLen - 1]) & kMask;
    const uint64_t h = Mix(x);
    // Strictly greater ones leave, so an equal older one stays in front:
    // the leftmost minimum wins ties.
    while (tail > head && hash[(tail - 1) & (kRing - 1)] > h) --tail;
    pos[tail & (kRing - 1)] = g;
    hash[tail & (kRing - 1)] = h;
    ++tail;
    if (pos[head & (kRing - 1)] + kWindow <= g) ++head;  // fell out of the window
    if (g + 1 >= kWindow) {
      const size_t m = pos[head & (kRing - 1)];
      if (m != last_pick) {
        last_pick = m;
        keys->push_back(kIdKeyTag | (hash[head & (kRing - 1)] >> 2));
      }
    }
  }
}

// Calls fn(start, len) for every id-like token of text.
template <typename Fn>
void ForEachIdToken(std::string_view text, Fn&& fn) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && kTokenClass[p[i]] == 0) ++i;
    const size_t start = i;
    size_t letters = 0;
    uint8_t c;
    while (i < n && (c = kTokenClass[p[i]]) != 0) {
      letters += c >> 1;
      ++i;
    }
    if (i - start >= kIdMinLen && letters >= kIdMinLetters) fn(p + start, i - start);
  }
}

void SortUnique(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

namespace keys_internal {
namespace {
constexpr std::array<uint8_t, 256> MakeTrigramCodes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = kOther;  // not dense: hashed slot
  t['\t'] = 0;
  t['\n'] = kNewline;
  for (int c = 0x20; c <= 0x7e; ++c) t[c] = static_cast<uint8_t>(c - 0x1f);
  return t;
}
constexpr std::array<uint8_t, 256> kCodes = MakeTrigramCodes();
}  // namespace
const uint8_t kTrigramCode[256] = {
#define LOGE_C(i) kCodes[i]
#define LOGE_C4(i) LOGE_C(i), LOGE_C(i + 1), LOGE_C(i + 2), LOGE_C(i + 3)
#define LOGE_C16(i) LOGE_C4(i), LOGE_C4(i + 4), LOGE_C4(i + 8), LOGE_C4(i + 12)
#define LOGE_C64(i) LOGE_C16(i), LOGE_C16(i + 16), LOGE_C16(i + 32), LOGE_C16(i + 48)
    LOGE_C64(0), LOGE_C64(64), LOGE_C64(128), LOGE_C64(192)
#undef LOGE_C64
#undef LOGE_C16
#undef LOGE_C4
#undef LOGE_C
};
}  // namespace keys_internal

uint32_t TrigramIndex(const unsigned char* p) {
  using keys_internal::kTrigramCode;
  const uint8_t a = kTrigramCode[p[0]], b = kTrigramCode[p[1]], c = kTrigramCode[p[2]];
  if ((a | b | c) < 0x80) return (uint32_t{a} * 96 + b) * 96 + c;
  const uint64_t x = uint64_t{p[0]} | uint64_t{p[1]} << 8 | uint64_t{p[2]} << 16;
  return kDenseTrigrams + static_cast<uint32_t>(Mix(x) & (kHashedTrigramSlots - 1));
}

void AddIdKeys(std::string_view text, std::vector<uint64_t>* keys) {
  ForEachIdToken(text, [&](const unsigned char* s, size_t len) { Winnow(s, len, keys); });
}

NeedleKeys2 KeysForNeedle2(std::string_view needle) {
  NeedleKeys2 k;
  ForEachTrigram(needle, [&](uint32_t i) { k.trigrams.push_back(TrigramKeyOf(i)); });
  // Runs of token bytes inside the needle: each lies inside some token of a
  // matching line, whatever bytes surround it there.
  ForEachIdToken(needle, [&](const unsigned char* s, size_t len) { Winnow(s, len, &k.ids); });
  SortUnique(&k.trigrams);
  SortUnique(&k.ids);
  return k;
}

}  // namespace loge::storage
