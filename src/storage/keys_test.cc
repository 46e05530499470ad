#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/types.h"
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

// A block's text gives the keys of its lines together: the repeated
// tokens AddIdKeys passes over add nothing its first sight did not, over
// blocks big enough to grow its table and tokens that share a hash bucket
// or a prefix.
TEST(Keys, ABlockHasTheKeysOfItsLines) {
  std::mt19937_64 rng(17);
  auto token = [&](uint64_t i) {
    // 16–40 bytes, mostly distinct; some prefixes of others.
    std::string t = "req" + std::to_string(i * 2654435761u % 1000003) + "abcdefghijklmnopqrstuvwxyz";
    return t.substr(0, 16 + i % 25);
  };
  for (int round = 0; round < 40; round++) {
    const size_t lines = 1 + rng() % 400;
    const uint64_t vocabulary = 1 + rng() % 2000;
    std::string text;
    std::set<uint64_t> want;
    for (size_t l = 0; l < lines; l++) {
      std::string line = "GET /x";
      for (int t = 0; t < 1 + static_cast<int>(rng() % 6); t++) line += " " + token(rng() % vocabulary);
      std::vector<uint64_t> k;
      AddIdKeys(line, &k);
      want.insert(k.begin(), k.end());
      text += line;
      text += '\n';
    }
    std::vector<uint64_t> got;
    AddIdKeys(text, &got);
    ASSERT_EQ(std::set<uint64_t>(got.begin(), got.end()), want) << "round " << round;
  }
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

// The summary admits every needle some group admits (it holds the union of
// the groups' keys) and rules out a file none of whose groups holds a key.
TEST(Filters, SummaryAdmitsWhatAGroupHoldsAndRulesOutTheRest) {
  FilterBuilder b(10, true);
  for (int i = 0; i < 200; i++) {
    // 40 ids, each in 5 groups: the summary holds a fifth of the groups' keys.
    b.AddBlock(i + 1, i, i, 10, "GET /api/orders status=200 trace=" + Id(i % 40) + " user=u" + std::to_string(i % 7));
  }
  auto f = b.Finish();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_GT(f->groups.size(), 1u);
  ASSERT_FALSE(f->summary.empty());
  for (int i = 0; i < 40; i++) {
    // Whole ids and cuts of them: each is in five groups, so in the summary.
    for (const std::string& needle : {Id(i), Id(i).substr(5, 20)}) {
      UsableKeys u = UsableKeysFor(*f, {{KeysForNeedle2(needle)}});
      if (needle.size() < 32 && !u.prunes) continue;  // a cut with under 3 letters has no id key
      ASSERT_TRUE(u.prunes) << needle;
      ASSERT_FALSE(CandidateGroups(*f, u, INT64_MIN, INT64_MAX).empty()) << needle;
      EXPECT_TRUE(SummaryMayHold(*f, u)) << needle;
    }
  }
  // Ids that were never written: the summary rules (nearly) all of them out
  // alone, with two probes each instead of one set per group.
  int admitted = 0;
  for (int i = 1000; i < 1200; i++) admitted += SummaryMayHold(*f, UsableKeysFor(*f, {{KeysForNeedle2(Id(i))}}));
  EXPECT_LE(admitted, 2);
  // Any alternative may match: one present id admits the file.
  UsableKeys either = UsableKeysFor(*f, {{KeysForNeedle2(Id(5000)), KeysForNeedle2(Id(17))}});
  EXPECT_TRUE(SummaryMayHold(*f, either));
  // The summary travels in the catalog's blob, and a lazy copy keeps it and
  // the groups' ranges but no group filter bytes.
  auto back = FileFilters::Deserialize(f->Serialize());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->summary, f->summary);
  auto lazy = f->WithoutGroupFilters();
  EXPECT_TRUE(lazy->lazy);
  EXPECT_EQ(lazy->summary, f->summary);
  ASSERT_EQ(lazy->groups.size(), f->groups.size());
  EXPECT_EQ(lazy->groups[3].last_block, f->groups[3].last_block);
  EXPECT_LT(lazy->Bytes(), f->Bytes() / 2);

  // A unique id in every line: a summary would be nearly the groups again
  // (on disk and in memory), so there is none.
  FilterBuilder u(10, true);
  for (int i = 0; i < 200; i++) u.AddBlock(i + 1, i, i, 10, "GET /api/orders trace=" + Id(i));
  auto unique = u.Finish();
  ASSERT_TRUE(unique.ok());
  EXPECT_TRUE(unique->summary.empty());
  UsableKeys any = UsableKeysFor(*unique, {{KeysForNeedle2(Id(1234))}});
  EXPECT_TRUE(SummaryMayHold(*unique, any));  // none: only the groups answer
  EXPECT_TRUE(CandidateGroups(*unique, any, INT64_MIN, INT64_MAX).empty());
}

// Catalog blobs written before summaries ("LFS2": no summary field) still
// read, and answer through their groups alone.
TEST(Filters, BlobsWithoutASummaryStillRead) {
  FilterBuilder b(10, false);
  for (int i = 0; i < 20; i++) b.AddBlock(i + 1, i, i, 10, "trace=" + Id(i) + " span=" + Id(1000 + i % 2));
  auto f = b.Finish();
  ASSERT_TRUE(f.ok());
  std::string v3 = f->Serialize();
  ASSERT_EQ(v3.substr(0, 4), "LFS3");
  // The same blob as LFS2 wrote it: the magic, then the common filter, then
  // straight on to the groups.
  size_t pos = 4;
  uint64_t common_len = 0, summary_len = 0;
  ASSERT_TRUE(GetVarint64(v3, &pos, &common_len));
  pos += common_len;
  const size_t summary_at = pos;
  ASSERT_TRUE(GetVarint64(v3, &pos, &summary_len));
  std::string v2 = "LFS2" + v3.substr(4, summary_at - 4) + v3.substr(pos + summary_len);
  auto old = FileFilters::Deserialize(v2);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_TRUE(old->summary.empty());
  EXPECT_EQ(old->groups.size(), f->groups.size());
  UsableKeys u = UsableKeysFor(*old, {{KeysForNeedle2(Id(7))}});
  EXPECT_TRUE(SummaryMayHold(*old, u));  // no summary: it cannot rule anything out
  ASSERT_EQ(CandidateGroups(*old, u, INT64_MIN, INT64_MAX).size(), 1u);
}

}  // namespace
}  // namespace loge::storage
