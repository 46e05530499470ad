// Terms: the filter keys of a log line and of a substring needle.
//
// A segment's fuse filter (fuse_filter.h) holds two kinds of keys per line:
//   - whole tokens: maximal runs of token bytes [A-Za-z0-9_.:-] or any byte
//     >= 0x80 (so UTF-8 words stay whole), kMinTokenLen..kMaxTokenLen long;
//   - byte trigrams: every overlapping 3-byte window of the line (never
//     across lines).
// Keys are case-sensitive: no case folding happens here.
//
// Soundness (the property terms_test.cc checks): if needle N occurs in line
// X, every key of KeysForNeedle(N) is among X's keys. For trigrams that is
// plain. For tokens: a needle token bounded on both sides by non-token bytes
// inside N is bounded by the same bytes in X, so it is a maximal run of X of
// the same length, and passes the same length rules.
//
// Token keys and trigram keys never collide: token keys have bit 63 set,
// trigram keys have it clear (and use different XXH3 seeds).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace loge::storage {

// 3: a shorter whole token in a needle sits between two non-token bytes, so
// the needle already has trigrams spanning all of it (" id ", "=ab&"); a key
// for it would add almost nothing while every line's 1-2 byte words cost
// extraction time. It also matches the trigram threshold: needles under 3
// bytes get no keys at all and always scan.
inline constexpr size_t kMinTokenLen = 3;
// 64: longer runs are hashes, base64 blobs or joined paths; nobody searches
// for them whole, and they would bloat the filter with single-use keys. They
// still contribute trigrams.
inline constexpr size_t kMaxTokenLen = 64;

// Appends the key of every whole token of `line` with a length in
// [kMinTokenLen, kMaxTokenLen]. Duplicates are appended again (the filter
// build dedupes).
void AddLineTokens(std::string_view line, std::vector<uint64_t>* keys);

// Appends the key of every overlapping byte trigram of `line` (size - 2 keys
// for a line of 3 bytes or more, none otherwise).
void AddLineTrigrams(std::string_view line, std::vector<uint64_t>* keys);

uint64_t TokenKey(std::string_view token);
uint64_t TrigramKey(const char* p);  // the 3 bytes at p

// The keys every line containing the needle (case-sensitive substring) must
// have. Both lists are sorted and duplicate-free; both are empty for a needle
// under 3 bytes (the filter cannot help: scan).
struct NeedleKeys {
  // Tokens of the needle bounded on both sides by a non-token byte inside the
  // needle. A token touching the needle's start or end may be part of a longer
  // token in the line, so it is not whole and gives no key.
  std::vector<uint64_t> tokens;
  std::vector<uint64_t> trigrams;  // every trigram of the needle
};
NeedleKeys KeysForNeedle(std::string_view needle);

}  // namespace loge::storage
