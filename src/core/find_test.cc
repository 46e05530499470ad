#include "core/find.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace loge {
namespace {

TEST(FindSubstring, EdgeCases) {
  EXPECT_EQ(FindSubstring("", ""), 0u);
  EXPECT_EQ(FindSubstring("abc", ""), 0u);
  EXPECT_EQ(FindSubstring("", "a"), std::string_view::npos);
  EXPECT_EQ(FindSubstring("ab", "abc"), std::string_view::npos);
  EXPECT_EQ(FindSubstring("abc", "abc"), 0u);
  EXPECT_EQ(FindSubstring("xxabc", "c"), 4u);
  EXPECT_EQ(FindSubstring("xxab", "ab"), 2u);
  // A match that ends on the haystack's last byte, past every 16-wide chunk.
  const std::string hay = std::string(40, 'x') + "needle";
  EXPECT_EQ(FindSubstring(hay, "needle"), 40u);
  // First and last bytes agree but the middle does not, then a real match.
  EXPECT_EQ(FindSubstring("nXXXXe needle", "needle"), 7u);
  // Bytes >= 0x80 and NULs are ordinary bytes.
  const std::string bin("a\0\xff\x80z\0\xff\x80", 8);
  EXPECT_EQ(FindSubstring(bin, std::string_view("\0\xff\x80", 3)), 1u);
}

// Against std::string_view::find over random haystacks and needles from a
// small alphabet (so partial matches are frequent), every length around
// the 16- and 32-byte chunks; each vector width on its own too, so the one
// this CPU does not pick is still checked.
TEST(FindSubstring, AgreesWithStringFind) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 40000; round++) {
    const size_t n = rng() % 160;
    const size_t k = 1 + rng() % 40;
    std::string hay(n, 'a'), needle(k, 'a');
    for (auto& c : hay) c = static_cast<char>('a' + rng() % 3);
    for (auto& c : needle) c = static_cast<char>('a' + rng() % 3);
    if (n >= k && rng() % 2) hay.replace(rng() % (n - k + 1), k, needle);  // plant one
    const size_t want = std::string_view(hay).find(needle);
    ASSERT_EQ(FindSubstring(hay, needle), want) << hay << " / " << needle;
    if (k < 2 || k > n) continue;
    ASSERT_EQ(find_internal::FindSse2(hay, needle), want) << hay << " / " << needle;
    if (find_internal::HaveAvx2()) {
      ASSERT_EQ(find_internal::FindAvx2(hay, needle), want) << hay << " / " << needle;
    }
  }
}

// A match at each position of a haystack a few 32-byte chunks long: in a
// chunk, on the boundary, in the tail the last chunk leaves.
TEST(FindSubstring, FindsAMatchAtEveryPosition) {
  const std::string needle = "C9fQz";
  for (size_t n : {size_t{5}, size_t{31}, size_t{32}, size_t{36}, size_t{63}, size_t{100}}) {
    for (size_t at = 0; at + needle.size() <= n; at++) {
      std::string hay(n, 'C');  // the first byte everywhere: every position is a candidate
      hay.replace(at, needle.size(), needle);
      ASSERT_EQ(FindSubstring(hay, needle), at) << n << " " << at;
      ASSERT_EQ(find_internal::FindSse2(hay, needle), at) << n << " " << at;
      if (find_internal::HaveAvx2()) {
        ASSERT_EQ(find_internal::FindAvx2(hay, needle), at) << n << " " << at;
      }
    }
  }
}

}  // namespace
}  // namespace loge
