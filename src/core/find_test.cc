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
// the 16-byte chunks.
TEST(FindSubstring, AgreesWithStringFind) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 20000; round++) {
    const size_t n = rng() % 80;
    const size_t k = 1 + rng() % 12;
    std::string hay(n, 'a'), needle(k, 'a');
    for (auto& c : hay) c = static_cast<char>('a' + rng() % 3);
    for (auto& c : needle) c = static_cast<char>('a' + rng() % 3);
    if (n >= k && rng() % 2) hay.replace(rng() % (n - k + 1), k, needle);  // plant one
    ASSERT_EQ(FindSubstring(hay, needle), std::string_view(hay).find(needle)) << hay << " / " << needle;
  }
}

}  // namespace
}  // namespace loge
