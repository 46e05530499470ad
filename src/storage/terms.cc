#include "storage/terms.h"

#include <algorithm>
#include <array>

// Inlined XXH3: extraction hashes every trigram of every line at compaction,
// and a call into the shared library per 3 bytes would dominate.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace loge::storage {
namespace {

// Different seeds per kind, plus the bit-63 tag below, keep token and trigram
// keys in disjoint ranges.
constexpr uint64_t kTokenSeed = 0x6c6f67652d746f6bULL;    // "loge-tok"
constexpr uint64_t kTrigramSeed = 0x6c6f67652d747269ULL;  // "loge-tri"
constexpr uint64_t kTokenTag = uint64_t{1} << 63;

constexpr std::array<bool, 256> MakeTokenByteTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == ':' || c >= 0x80;
  }
  return t;
}
constexpr std::array<bool, 256> kTokenByte = MakeTokenByteTable();

inline bool IsTokenByte(char c) { return kTokenByte[static_cast<unsigned char>(c)]; }

inline bool TokenLengthOk(size_t len) { return len >= kMinTokenLen && len <= kMaxTokenLen; }

void SortUnique(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

uint64_t TokenKey(std::string_view token) {
  return XXH3_64bits_withSeed(token.data(), token.size(), kTokenSeed) | kTokenTag;
}

uint64_t TrigramKey(const char* p) { return XXH3_64bits_withSeed(p, 3, kTrigramSeed) & ~kTokenTag; }

void AddLineTokens(std::string_view line, std::vector<uint64_t>* keys) {
  const char* s = line.data();
  const size_t n = line.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && !IsTokenByte(s[i])) ++i;
    const size_t start = i;
    while (i < n && IsTokenByte(s[i])) ++i;
    if (TokenLengthOk(i - start)) keys->push_back(TokenKey(std::string_view(s + start, i - start)));
  }
}

void AddLineTrigrams(std::string_view line, std::vector<uint64_t>* keys) {
  if (line.size() < 3) return;
  const size_t count = line.size() - 2;
  const size_t old = keys->size();
  keys->resize(old + count);  // grows geometrically, unlike an exact reserve
  uint64_t* out = keys->data() + old;
  const char* s = line.data();
  for (size_t i = 0; i < count; ++i) out[i] = TrigramKey(s + i);
}

NeedleKeys KeysForNeedle(std::string_view needle) {
  NeedleKeys keys;
  if (needle.size() < 3) return keys;
  const char* s = needle.data();
  const size_t n = needle.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && !IsTokenByte(s[i])) ++i;
    const size_t start = i;
    while (i < n && IsTokenByte(s[i])) ++i;
    // Whole only when a non-token byte of the needle sits on both sides.
    if (start > 0 && i < n && TokenLengthOk(i - start)) {
      keys.tokens.push_back(TokenKey(std::string_view(s + start, i - start)));
    }
  }
  AddLineTrigrams(needle, &keys.trigrams);
  SortUnique(&keys.tokens);
  SortUnique(&keys.trigrams);
  return keys;
}

}  // namespace loge::storage
