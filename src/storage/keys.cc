#include "storage/keys.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Bit i set when byte i of p[0..n) (n <= 64) is a token byte.
inline uint64_t TokenMask64(const unsigned char* p, size_t n) {
#if defined(__SSE2__)
  alignas(16) unsigned char buf[64];
  if (n < 64) {
    std::memset(buf, 0, sizeof buf);  // 0 is not a token byte
    std::memcpy(buf, p, n);
    p = buf;
  }
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  // x <u c  <=>  (x ^ 0x80) <s (c ^ 0x80)
  auto below = [&](__m128i x, int c) {
    return _mm_cmplt_epi8(_mm_xor_si128(x, flip), _mm_set1_epi8(static_cast<char>(c ^ 0x80)));
  };
  uint64_t mask = 0;
  for (int k = 0; k < 4; k++) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i letter = below(_mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a')), 26);
    const __m128i digit = below(_mm_sub_epi8(v, _mm_set1_epi8('0')), 10);
    const __m128i punct = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('_')), _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
    const __m128i high = _mm_cmplt_epi8(v, _mm_setzero_si128());  // >= 0x80
    const __m128i any = _mm_or_si128(_mm_or_si128(letter, digit), _mm_or_si128(punct, high));
    mask |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(any))) << (16 * k);
  }
  return mask;
#else
  uint64_t mask = 0;
  for (size_t i = 0; i < n; i++) mask |= static_cast<uint64_t>(kTokenClass[p[i]] != 0) << i;
  return mask;
#endif
}

// splitmix64's finalizer: a fast full-avalanche mix of the k-gram's bytes.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The window minimum of one hash, over a sliding window of kWindow k-grams:
// a monotone deque (O(1) amortized per k-gram). Strictly greater hashes leave
// the back, so an equal older one stays in front: the leftmost minimum wins
// ties, and a window's pick depends only on its bytes.
class WindowMin {
 public:
  // Pushes k-gram g's hash; returns true (with the pick in *key) when the
  // window ending at g has a minimum other than the last one returned.
  bool Push(size_t g, uint64_t h, uint64_t* key) {
    while (tail_ > head_ && hash_[(tail_ - 1) & kMask] > h) --tail_;
    pos_[tail_ & kMask] = g;
    hash_[tail_ & kMask] = h;
    ++tail_;
    if (pos_[head_ & kMask] + kWindow <= g) ++head_;  // fell out of the window
    if (g + 1 < kWindow) return false;
    const size_t m = pos_[head_ & kMask];
    if (m == last_) return false;
    last_ = m;
    *key = kIdKeyTag | (hash_[head_ & kMask] >> 2);
    return true;
  }

 private:
  static constexpr size_t kRing = 16;
  static constexpr size_t kMask = kRing - 1;
  static_assert(kRing >= kWindow && (kRing & kMask) == 0);
  size_t pos_[kRing];
  uint64_t hash_[kRing];
  size_t head_ = 0, tail_ = 0;  // deque [head_, tail_), increasing hashes
  size_t last_ = SIZE_MAX;
};

// Appends the winnowed keys of the token run [s, s+len) (len >= kIdMinLen)
// under two independent hashes: each window gives its leftmost minimum under
// each. With two keys a needle of one window is ruled out of a group that
// lacks it with probability ~1 - 2^-16 instead of ~1 - 2^-8: over the
// thousands of groups a big store holds, one key per needle would let a
// group in every few hundred through.
void Winnow(const unsigned char* s, size_t len, std::vector<uint64_t>* keys) {
  const size_t grams = len - kGramLen + 1;
  constexpr uint64_t kMask = (uint64_t{1} << (8 * kGramLen)) - 1;
  WindowMin first, second;
  uint64_t x = 0, key;
  for (size_t j = 0; j + 1 < kGramLen; ++j) x = x << 8 | s[j];
  for (size_t g = 0; g < grams; ++g) {
    x = (x << 8 | s[g + kGramLen - 1]) & kMask;
    if (first.Push(g, Mix(x), &key)) keys->push_back(key);
    if (second.Push(g, Mix(x ^ 0x9e3779b97f4a7c15ULL), &key)) keys->push_back(key);
  }
}

// Calls fn(start, len) for every maximal run of token bytes of at least
// kIdMinLen bytes with at least kIdMinLetters ASCII letters.
template <typename Fn>
void ForEachIdToken(std::string_view text, Fn&& fn) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  auto emit = [&](size_t start, size_t end) {
    if (end - start < kIdMinLen) return;
    size_t letters = 0;
    for (size_t i = start; i < end && letters < kIdMinLetters; i++) letters += kTokenClass[p[i]] >> 1;
    if (letters >= kIdMinLetters) fn(p + start, end - start);
  };
  size_t run = SIZE_MAX;  // start of the open run
  for (size_t base = 0; base < n; base += 64) {
    const uint64_t tok = TokenMask64(p + base, std::min<size_t>(64, n - base));
    size_t b = 0;
    while (b < 64) {
      if (run == SIZE_MAX) {
        const uint64_t rest = tok >> b;
        if (rest == 0) break;
        b += static_cast<size_t>(std::countr_zero(rest));
        run = base + b;
      } else {
        const uint64_t rest = ~tok >> b;  // a zero bit ends the run
        if (rest == 0) break;             // the run goes on into the next chunk
        b += static_cast<size_t>(std::countr_zero(rest));
        emit(run, base + b);
        run = SIZE_MAX;
      }
    }
  }
  if (run != SIZE_MAX) emit(run, n);
}

// The distinct tokens of one AddIdKeys call, by their bytes (which stay in
// the caller's text for the call). An open-addressing table that lives on
// with its thread, so a call allocates nothing once the table is big
// enough; a generation number empties it in O(1).
class TokenSet {
 public:
  // True when [s, s+len) was not in the set (it is now).
  bool Insert(const unsigned char* s, size_t len) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    const uint64_t h = XXH3_64bits(s, len);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& slot = slots_[i];
      if (slot.gen != gen_) {
        slot = Slot{h, s, static_cast<uint32_t>(len), gen_};
        count_++;
        return true;
      }
      if (slot.hash == h && slot.len == len && std::memcmp(slot.bytes, s, len) == 0) return false;
    }
  }
  // Empties the set (a new generation).
  void Clear() {
    count_ = 0;
    if (++gen_ == 0) {  // wrapped: stale slots could look current
      std::fill(slots_.begin(), slots_.end(), Slot{});
      gen_ = 1;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    const unsigned char* bytes = nullptr;
    uint32_t len = 0;
    uint32_t gen = 0;  // current only when equal to gen_
  };
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{});
    for (const Slot& s : old) {
      if (s.gen != gen_) continue;
      size_t i = s.hash & (slots_.size() - 1);
      while (slots_[i].gen == gen_) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t count_ = 0;
  uint32_t gen_ = 1;
};

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
  // A block's lines repeat their long tokens (paths, host and class names,
  // a session's id): on the sustained benchmark's corpus more than half of
  // the id-token bytes of a block are a token it had already. A token's
  // keys depend on its bytes alone, so a repeat is passed over instead of
  // winnowed again (and its keys sorted out again by the caller).
  thread_local TokenSet seen;
  seen.Clear();
  ForEachIdToken(text, [&](const unsigned char* s, size_t len) {
    if (seen.Insert(s, len)) Winnow(s, len, keys);
  });
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
