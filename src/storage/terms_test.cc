#include "storage/terms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "storage/fuse_filter.h"

namespace loge::storage {
namespace {

std::vector<uint64_t> TokenKeys(const std::vector<std::string>& tokens) {
  std::vector<uint64_t> keys;
  for (const auto& t : tokens) keys.push_back(TokenKey(t));
  return keys;
}

std::vector<uint64_t> Sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(TermsTest, LineTokensFollowTheTokenByteTable) {
  auto check = [](std::string_view line, const std::vector<std::string>& want) {
    SCOPED_TRACE(std::string(line));
    std::vector<uint64_t> got;
    AddLineTokens(line, &got);
    EXPECT_EQ(got, TokenKeys(want));
  };
  check("", {});
  check("   \t\n", {});
  check("GET /api/v1/users?id=42 200", {"GET", "api", "users", "200"});
  check("ts=2024-01-01T00:00:00Z level=error", {"2024-01-01T00:00:00Z", "level", "error"});
  check("host 10.0.0.1:8080, peer=[::1]:443", {"host", "10.0.0.1:8080", "peer", "::1", ":443"});
  check("(foo)[bar]{baz}\"qux\"<quux>", {"foo", "bar", "baz", "qux", "quux"});
  check("a,b;c|d ab cd", {});                       // nothing reaches 3 bytes
  check("abc_def x.y-z", {"abc_def", "x.y-z"});     // _ . - join words
  check("Grüße aus Köln!", {"Grüße", "aus", "Köln"});  // UTF-8 stays whole
  check("日本語", {"日本語"});
  check("é", {});  // two bytes: under the minimum even though one character
  check("abc", {"abc"});
  check(std::string(kMaxTokenLen, 'a'), {std::string(kMaxTokenLen, 'a')});
  check(std::string(kMaxTokenLen + 1, 'a') + " ok1", {"ok1"});
  check("dup dup dup", {"dup", "dup", "dup"});  // Build dedupes, not extraction
}

TEST(TermsTest, LineTrigramsAreEveryOverlappingWindow) {
  auto check = [](std::string_view line, const std::vector<std::string>& want) {
    SCOPED_TRACE(std::string(line));
    std::vector<uint64_t> got = {7};  // appends, keeps what was there
    AddLineTrigrams(line, &got);
    std::vector<uint64_t> expect = {7};
    for (const auto& t : want) expect.push_back(TrigramKey(t.data()));
    EXPECT_EQ(got, expect);
  };
  check("", {});
  check("ab", {});
  check("abc", {"abc"});
  check("abcd", {"abc", "bcd"});
  check("a b\xff", {"a b", " b\xff"});
  check(std::string("a\0b", 3), {std::string("a\0b", 3)});
}

TEST(TermsTest, TokenAndTrigramKeysNeverCollide) {
  EXPECT_NE(TokenKey("abc"), TrigramKey("abc"));
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    std::string s(3 + rng() % 20, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    ASSERT_NE(TokenKey(s) >> 63, TrigramKey(s.data()) >> 63);
  }
}

TEST(TermsTest, NeedleKeysIncludeOnlyTokensBoundedInsideTheNeedle) {
  auto check = [](std::string_view needle, const std::vector<std::string>& want_tokens) {
    SCOPED_TRACE(std::string(needle));
    const NeedleKeys k = KeysForNeedle(needle);
    EXPECT_EQ(k.tokens, Sorted(TokenKeys(want_tokens)));
    std::vector<uint64_t> tri;
    AddLineTrigrams(needle, &tri);
    tri = Sorted(tri);
    tri.erase(std::unique(tri.begin(), tri.end()), tri.end());
    EXPECT_EQ(k.trigrams, tri);
  };
  check("id=abc123 x", {"abc123"});
  check("abc123", {});        // may be part of "xabc1234" in the line
  check("abc123 ", {});       // touches the start
  check(" abc123", {});       // touches the end
  check(" abc123 ", {"abc123"});
  check("=ab=", {});          // whole but under kMinTokenLen
  check(" " + std::string(kMaxTokenLen + 1, 'z') + " ", {});
  check("a=foo bar=baz&q", {"foo", "bar", "baz"});
  check(" dup dup ", {"dup"});  // deduplicated
  check("aaaaaa", {});          // trigram "aaa" once
}

TEST(TermsTest, ShortNeedlesHaveNoKeys) {
  for (std::string_view needle : {"", "a", "ab", " a"}) {
    const NeedleKeys k = KeysForNeedle(needle);
    EXPECT_TRUE(k.tokens.empty());
    EXPECT_TRUE(k.trigrams.empty());
  }
  EXPECT_EQ(KeysForNeedle("abc").trigrams.size(), 1u);
}

// A random line over an alphabet rich in token bytes, separators and UTF-8,
// with occasional long runs so the max-length rule is exercised.
std::string RandomLine(std::mt19937_64& rng) {
  static const std::string kTokenChars = "abcXY019_.-:";
  static const std::string kSeparators = " =/,\"[]{}\t";
  static const std::string kUtf8[] = {"\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};
  std::string line;
  const size_t len = rng() % 160;
  while (line.size() < len) {
    const uint64_t r = rng() % 100;
    if (r < 70) {
      line += kTokenChars[rng() % kTokenChars.size()];
    } else if (r < 90) {
      line += kSeparators[rng() % kSeparators.size()];
    } else if (r < 97) {
      line += kUtf8[rng() % 3];
    } else {
      line += std::string(40 + rng() % 40, kTokenChars[rng() % kTokenChars.size()]);
    }
  }
  return line;
}

TEST(TermsTest, EveryNeedleKeyIsAmongTheKeysOfEveryLineContainingIt) {
  std::mt19937_64 rng(20240601);
  size_t token_keys_checked = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string line = RandomLine(rng);
    std::vector<uint64_t> line_keys;
    AddLineTokens(line, &line_keys);
    AddLineTrigrams(line, &line_keys);
    std::sort(line_keys.begin(), line_keys.end());
    for (int j = 0; j < 5; ++j) {
      const size_t start = line.empty() ? 0 : rng() % line.size();
      const size_t len = rng() % (line.size() - start + 1);
      const std::string_view needle = std::string_view(line).substr(start, len);
      const NeedleKeys k = KeysForNeedle(needle);
      for (const auto* keys : {&k.tokens, &k.trigrams}) {
        for (uint64_t key : *keys) {
          ASSERT_TRUE(std::binary_search(line_keys.begin(), line_keys.end(), key))
              << "line=\"" << line << "\" needle=\"" << needle << "\"";
        }
      }
      token_keys_checked += k.tokens.size();
    }
  }
  EXPECT_GT(token_keys_checked, 1000u);  // the property covered whole tokens too
}

TEST(TermsTest, FilterOfLineKeysPassesEveryNeedleOfThoseLines) {
  std::mt19937_64 rng(99);
  std::vector<std::string> lines;
  std::vector<uint64_t> keys;
  for (int i = 0; i < 2000; ++i) {
    lines.push_back(RandomLine(rng));
    AddLineTokens(lines.back(), &keys);
    AddLineTrigrams(lines.back(), &keys);
  }
  auto filter = FuseFilter::Build(keys);
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  for (int j = 0; j < 20000; ++j) {
    const std::string& line = lines[rng() % lines.size()];
    const size_t start = line.empty() ? 0 : rng() % line.size();
    const NeedleKeys k = KeysForNeedle(std::string_view(line).substr(start, rng() % 30));
    for (uint64_t key : k.tokens) ASSERT_TRUE(filter->MayContain(key));
    for (uint64_t key : k.trigrams) ASSERT_TRUE(filter->MayContain(key));
  }
}

}  // namespace
}  // namespace loge::storage
