#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "storage/filters.h"

namespace loge::storage {
namespace {

std::set<uint64_t> LineKeys(std::string_view line) {
  std::set<uint64_t> keys;
  ForEachTrigram(line, [&](uint32_t i) { keys.insert(TrigramKeyOf(i)); });
  std::vector<uint64_t> ids;
  AddIdKeys(line, &ids);
  keys.insert(ids.begin(), ids.end());
  return keys;
}

// The property queries rely on: a needle's keys are keys of every line
// holding it, over random lines made of the pieces ids, words and
// punctuation are made of, and needles cut from them at random.
TEST(Keys, NeedleKeysAreKeysOfEveryLineHoldingTheNeedle) {
  std::mt19937_64 rng(11);
  const std::string alphabet = "abcdef0123456789ABXYZ_.:-= /\"{}\n\t\x01\xc3\xa9";
  size_t with_ids = 0;
  for (int round = 0; round < 3000; round++) {
    std::string line;
    const size_t len = rng() % 120;
    for (size_t i = 0; i < len; i++) {
      if (rng() % 10 == 0) {
        // An id-like run.
        for (int k = 0; k < 16 + static_cast<int>(rng() % 20); k++) line.push_back("0123456789abcdefGHIJ"[rng() % 20]);
      } else {
        line.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    if (line.empty()) continue;
    const size_t a = rng() % line.size();
    const size_t b = a + rng() % (line.size() - a + 1);
    const std::string needle = line.substr(a, b - a);
    SCOPED_TRACE(::testing::PrintToString(line) + " needle " + ::testing::PrintToString(needle));
    const std::set<uint64_t> have = LineKeys(line);
    const NeedleKeys2 want = KeysForNeedle2(needle);
    with_ids += !want.ids.empty();
    for (uint64_t k : want.trigrams) ASSERT_TRUE(have.count(k));
    for (uint64_t k : want.ids) ASSERT_TRUE(have.count(k));
  }
  EXPECT_GT(with_ids, 100u);  // the id path was exercised
}

TEST(Keys, IdsGetKeysAndTimestampsAndNumbersDoNot) {
  auto ids = [](std::string_view s) {
    std::vector<uint64_t> k;
    AddIdKeys(s, &k);
    return k.size();
  };
  EXPECT_GE(ids("trace_id=4bf92f3577b34da6a3ce929d0e0e4736"), 1u);
  EXPECT_GE(ids("span 00f067aa0ba902b7 done"), 1u);          // 16 hex
  EXPECT_GE(ids("uid CqKst53mF3det3eDV9"), 1u);              // a Zeek uid
  EXPECT_GE(ids("id 38101a0b-2096-447d-96ea-a692162415ae"), 1u);  // a UUID
  EXPECT_EQ(ids("at 2018-03-24T17:15:20.865716Z rtt=0.0008699893951416016"), 0u);
  EXPECT_EQ(ids("from 10.47.1.100:41772 to 10.0.0.100:53"), 0u);
  EXPECT_EQ(ids("short abc123def45"), 0u);  // 15 bytes
  // A needle of 16 id bytes has keys; any of them cut shorter has none.
  EXPECT_FALSE(KeysForNeedle2("00f067aa0ba902b7").ids.empty());
  EXPECT_TRUE(KeysForNeedle2("0f067aa0ba902b7").ids.empty());
}

TEST(Keys, TrigramsSkipNewlinesAndMapUtf8ToSlots) {
  std::vector<uint32_t> got;
  ForEachTrigram("ab\ncd", [&](uint32_t i) { got.push_back(i); });
  EXPECT_TRUE(got.empty());  // every window holds the '\n'
  got.clear();
  ForEachTrigram("abcd", [&](uint32_t i) { got.push_back(i); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_LT(got[0], kDenseTrigrams);
  got.clear();
  ForEachTrigram("\xc3\xa9t\xc3\xa9", [&](uint32_t i) { got.push_back(i); });
  ASSERT_EQ(got.size(), 3u);
  for (uint32_t i : got) {
    EXPECT_GE(i, kDenseTrigrams);
    EXPECT_LT(i, kTrigramSpace);
  }
}

TEST(Filters, BlobRoundTripsAndRejectsGarbage) {
  FilterBuilder b(10, true);
  for (int i = 0; i < 50; i++) {
    std::string text = "GET /a/" + std::to_string(i) + " id=4bf92f3577b34da6a3ce929d0e0e" + std::to_string(1000 + i);
    b.AddBlock(i + 1, i * 10, i * 10 + 5, 3, text + "\n" + text + "\n" + text);
  }
  auto f = b.Finish();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->groups.size(), 13u);  // 50 blocks of 3 lines, >= 10 lines a group
  auto back = FileFilters::Deserialize(f->Serialize());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Serialize(), f->Serialize());
  EXPECT_EQ(back->groups[3].first_block, f->groups[3].first_block);
  EXPECT_EQ(back->groups[3].max_ts, f->groups[3].max_ts);
  std::string blob = f->Serialize();
  EXPECT_FALSE(FileFilters::Deserialize("nope").ok());
  EXPECT_FALSE(FileFilters::Deserialize(blob.substr(0, blob.size() - 1)).ok());
  blob[blob.size() - 3] ^= 0x40;  // a fingerprint byte: the checksum catches it
  EXPECT_FALSE(FileFilters::Deserialize(blob).ok());
}

// A random 32-hex id, the same for the same n.
std::string Id(int n) {
  std::mt19937_64 r(static_cast<uint64_t>(n) * 7919 + 1);
  std::string s;
  for (int i = 0; i < 32; i++) s.push_back("0123456789abcdef"[r() % 16]);
  return s;
}

TEST(Filters, WithoutTrigramsOnlyIdKeysPrune) {
  FilterBuilder b(10, false);
  for (int i = 0; i < 20; i++) b.AddBlock(i + 1, i, i, 10, "line Zebra" + std::to_string(i) + " trace=" + Id(i));
  auto f = b.Finish();
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->common.empty());
  EXPECT_TRUE(f->CommonMayHold(TrigramKeyOf(1)));
  // A trigram needle cannot rule a group out: the groups hold no trigrams.
  EXPECT_FALSE(UsableKeysFor(*f, {{KeysForNeedle2("Zebra7")}}).prunes);
  // An id needle can.
  UsableKeys u = UsableKeysFor(*f, {{KeysForNeedle2(Id(7))}});
  ASSERT_TRUE(u.prunes);
  auto c = CandidateGroups(*f, u, INT64_MIN, INT64_MAX);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(f->groups[c[0]].first_block, 8);
}

}  // namespace
}  // namespace loge::storage
