// Keys: what the filters of a format-2 file hold, and the keys a `|=` needle
// must find there (docs/format-segment.md, "Filters").
//
// Two kinds of key, both extracted from a block's joined text in one pass,
// never from decoded lines:
//   - trigram keys: every 3-byte window without a '\n'. Bytes of printable
//     ASCII and tab map to 96 codes, so such a trigram has an exact dense
//     index in [0, 96^3); a window with any other byte (UTF-8, control)
//     falls into one of kHashedTrigramSlots slots by hash. A dense index
//     needs no hashing and fits a bitmap and a counter array.
//   - id keys ("sparse grams"): inside every id-like token — a maximal run
//     of token bytes [A-Za-z0-9_.:-] or >= 0x80 at least kIdMinLen long with
//     at least kIdMinLetters ASCII letters — the k-gram (kGramLen bytes) of
//     smallest hash in each window of kWindow consecutive k-grams
//     (winnowing). A hex request id, a trace id, a UUID or a Zeek uid gives
//     one to four keys, where its trigrams (saturated in any large group)
//     give no pruning at all.
//
// Soundness (keys_test.cc checks it against brute force): if needle N
// occurs in line X, every key of KeysForNeedle(N) is a key of X.
//   - Trigrams: N's windows are X's windows; '\n' windows are skipped on
//     both sides.
//   - Id keys: a run R of token bytes inside N lies inside a token T of X
//     (T may extend R on either side), so |T| >= |R| and T has at least
//     R's letters: when R qualifies, T does. Every window of kWindow k-grams
//     inside R is a window of T with the same bytes, so its leftmost
//     minimum is the same k-gram in both; the needle uses only windows that
//     lie wholly inside R (|R| >= kGramLen + kWindow - 1 = kIdMinLen
//     guarantees at least one).
//
// Keys of the two kinds never collide: id keys have bit 62 set, trigram keys
// have it clear and bit 61 set.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loge::storage {

inline constexpr uint32_t kDenseTrigrams = 96 * 96 * 96;
inline constexpr uint32_t kHashedTrigramSlots = 1u << 16;
inline constexpr uint32_t kTrigramSpace = kDenseTrigrams + kHashedTrigramSlots;

// 16: the shortest id people paste whole (a 16-hex span or trace-id half, a
// Zeek uid of 18) still gets a key; shorter runs are words and numbers, which
// trigrams serve.
inline constexpr size_t kIdMinLen = 16;
// 3: timestamps (2024-05-01T10:00:00.123Z has two), floats and IP addresses
// carry no key, and they are unique per line: keys for them would cost about
// a byte per line each.
inline constexpr size_t kIdMinLetters = 3;
inline constexpr size_t kGramLen = 6;  // 16.7M hex 6-grams: rare in any group
inline constexpr size_t kWindow = kIdMinLen - kGramLen + 1;

inline constexpr uint64_t kTrigramKeyTag = uint64_t{1} << 61;
inline constexpr uint64_t kIdKeyTag = uint64_t{1} << 62;

// The dense index of the 3 bytes at p (none of them '\n').
uint32_t TrigramIndex(const unsigned char* p);
inline uint64_t TrigramKeyOf(uint32_t index) { return kTrigramKeyTag | index; }

namespace keys_internal {
// Per byte: its dense code 0..95 (tab, then 0x20..0x7e), kNewline for
// '\n', kOther for every other byte.
inline constexpr uint8_t kNewline = 0xfe;
inline constexpr uint8_t kOther = 0xff;
extern const uint8_t kTrigramCode[256];
}  // namespace keys_internal

// Calls fn(index) for every trigram window of text without a '\n'.
template <typename Fn>
inline void ForEachTrigram(std::string_view text, Fn&& fn) {
  using namespace keys_internal;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  if (n < 3) return;
  uint32_t a = kTrigramCode[p[0]], b = kTrigramCode[p[1]];
  uint32_t ab = a * 96 + b;  // carried over: one multiply a byte, not two
  for (size_t i = 2; i < n; ++i) {
    const uint32_t c = kTrigramCode[p[i]];
    if ((a | b | c) < 0x80) {
      fn(ab * 96 + c);  // the common case: printable ASCII
    } else if (a != kNewline && b != kNewline && c != kNewline) {
      fn(TrigramIndex(p + i - 2));
    }
    ab = b * 96 + c;
    a = b;
    b = c;
  }
}

// Appends the id keys of text (a block's joined lines, or one line): a
// token repeated in text adds its keys once, but distinct tokens may add
// the same key, so the caller still sorts out duplicates.
void AddIdKeys(std::string_view text, std::vector<uint64_t>* keys);

// The keys every line containing the needle must have. Both lists are
// sorted and duplicate-free; trigrams are filter keys (TrigramKeyOf).
struct NeedleKeys2 {
  std::vector<uint64_t> trigrams;
  std::vector<uint64_t> ids;
  bool empty() const { return trigrams.empty() && ids.empty(); }
};
NeedleKeys2 KeysForNeedle2(std::string_view needle);

}  // namespace loge::storage
