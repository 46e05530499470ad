#include "storage/fuse_filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace loge::storage {
namespace {

// Random distinct-enough keys with the low bit clear; Probes() below have it
// set, so a probe is never a member.
std::vector<uint64_t> Keys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> keys(n);
  for (auto& k : keys) k = rng() & ~uint64_t{1};
  return keys;
}

std::vector<uint64_t> Probes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> probes(n);
  for (auto& k : probes) k = rng() | 1;
  return probes;
}

FuseFilter MustBuild(std::vector<uint64_t> keys) {
  auto r = FuseFilter::Build(std::move(keys));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(FuseFilterTest, ShapeMatchesSpecTable) {
  struct Row {
    uint32_t n, length, count, array;
  };
  const Row rows[] = {
      {0, 4, 1, 0},  // empty: no cells at all
      {1, 4, 1, 12},
      {2, 4, 1, 12},
      {3, 8, 1, 24},
      {10, 16, 1, 48},
      {100, 64, 1, 192},
      {1000, 128, 9, 1408},
      {10000, 512, 23, 12800},
      {100000, 2048, 56, 118784},
      {1000000, 8192, 136, 1130496},
      {10000000, 32768, 342, 11272192},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.n);
    const FuseFilter::Params p = FuseFilter::ParamsFor(r.n);
    EXPECT_EQ(p.segment_length, r.length);
    EXPECT_EQ(p.segment_count, r.count);
    EXPECT_EQ(p.array_length, r.array);
  }
}

TEST(FuseFilterTest, HashMatchesSpecVectors) {
  EXPECT_EQ(FuseFilter::TEST_Mix(0, 0), 0u);
  EXPECT_EQ(FuseFilter::TEST_Mix(1, 0), 0xb456bcfc34c2cb2cULL);
  EXPECT_EQ(FuseFilter::TEST_Mix(1, 0x6df6b22537d23467ULL), 0x2e2a9bfac1056df5ULL);
}

TEST(FuseFilterTest, KeysOneToThousandBuildWithTheSpecsFirstSeed) {
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; k <= 1000; ++k) keys.push_back(k);
  const FuseFilter f = MustBuild(keys);
  EXPECT_EQ(f.TEST_Seed(), 0x6df6b22537d23467ULL);
  EXPECT_EQ(f.SizeBytes(), FuseFilter::kHeaderSize + 1408);
}

TEST(FuseFilterTest, NoFalseNegatives) {
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{10}, size_t{1000}, size_t{1000000}}) {
    SCOPED_TRACE(n);
    const std::vector<uint64_t> keys = Keys(n, n);
    const FuseFilter f = MustBuild(keys);
    EXPECT_EQ(f.KeyCount(), n);
    size_t missing = 0;
    for (uint64_t k : keys) missing += !f.MayContain(k);
    EXPECT_EQ(missing, 0u);
  }
}

TEST(FuseFilterTest, EverySmallSizeBuildsWithoutFalseNegatives) {
  for (size_t n = 1; n <= 300; ++n) {
    SCOPED_TRACE(n);
    const std::vector<uint64_t> keys = Keys(n, 1000 + n);
    const FuseFilter f = MustBuild(keys);
    for (uint64_t k : keys) ASSERT_TRUE(f.MayContain(k));
  }
}

// Just past the step of L to 1024, twelve segments of 1024 cells rarely
// peel: before the halved layout, about one key set in ten of 11,488 keys
// failed every seed (a merge under sustained load failed on one).
TEST(FuseFilterTest, SizesJustPastTheSegmentStepAlwaysBuild) {
  int halved = 0;
  for (uint32_t n : {11480u, 11488u, 11504u, 11521u}) {
    for (uint64_t set = 0; set < 40; set++) {
      auto keys = Keys(n, 1000 * n + set);
      auto r = FuseFilter::Build(keys);
      ASSERT_TRUE(r.ok()) << n << " keys, set " << set << ": " << r.status().ToString();
      for (uint64_t k : keys) ASSERT_TRUE(r->MayContain(k));
      const std::string bytes = r->Serialize();
      auto back = FuseFilter::Deserialize(bytes);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      for (uint64_t k : keys) ASSERT_TRUE(FuseFilter::MayContainSerialized(bytes, k));
      if (bytes.size() == FuseFilter::kHeaderSize + FuseFilter::ParamsFor(n).array_length &&
          static_cast<uint8_t>(bytes[20]) == 0 && static_cast<uint8_t>(bytes[21]) == 2) {
        halved++;  // L = 512 in the header
      }
    }
  }
  EXPECT_GT(halved, 0) << "the fallback layout was never needed: the test no longer covers it";
}

TEST(FuseFilterTest, ValidateAcceptsOnlyTheStandardAndHalvedLayouts) {
  auto f = MustBuild(Keys(11488, 7));
  std::string bytes = f.Serialize();
  ASSERT_TRUE(FuseFilter::Validate(bytes).ok());
  const auto standard = FuseFilter::ParamsFor(11488);
  const auto halved = FuseFilter::HalvedParams(standard);
  EXPECT_EQ(halved.array_length, standard.array_length);
  EXPECT_EQ(halved.segment_length * 2, standard.segment_length);
  // Any other shape with the same array length is rejected.
  auto reshaped = [&](uint32_t length, uint32_t count) {
    std::string b = bytes;
    for (int i = 0; i < 4; i++) b[20 + i] = static_cast<char>(length >> (8 * i));
    for (int i = 0; i < 4; i++) b[24 + i] = static_cast<char>(count >> (8 * i));
    return b;
  };
  const std::string quarter = reshaped(standard.segment_length / 4, 4 * standard.segment_count + 6);
  auto st = FuseFilter::Validate(quarter);
  EXPECT_EQ(st.code(), Code::kCorruption) << st.ToString();
  EXPECT_NE(st.ToString().find("shape"), std::string::npos) << st.ToString();
}

TEST(FuseFilterTest, MillionKeysHaveFalsePositiveRateUnderHalfPercentAndAtMostTenBitsPerKey) {
  constexpr size_t kN = 1000000;
  const FuseFilter f = MustBuild(Keys(kN, 7));
  size_t positives = 0;
  for (uint64_t p : Probes(kN, 8)) positives += f.MayContain(p);
  const double fpr = double(positives) / kN;
  const double bits_per_key = 8.0 * f.SizeBytes() / kN;
  std::printf("fuse8: n=%zu bytes=%zu bits/key=%.3f fpr=%.5f (2^-8 = 0.00391)\n", kN,
              f.SizeBytes(), bits_per_key, fpr);
  EXPECT_LT(fpr, 0.005);
  EXPECT_GT(fpr, 0.002);  // a filter answering "no" to everything would be broken
  EXPECT_LE(bits_per_key, 10.0);
}

TEST(FuseFilterTest, DuplicateKeysAreCountedOnce) {
  std::vector<uint64_t> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(uint64_t(i % 300) * 0x9E3779B97F4A7C15ULL);
  const FuseFilter f = MustBuild(keys);
  EXPECT_EQ(f.KeyCount(), 300u);
  for (uint64_t k : keys) EXPECT_TRUE(f.MayContain(k));
  // All copies of one key still make a one-key filter.
  const FuseFilter one = MustBuild(std::vector<uint64_t>(50, 42));
  EXPECT_EQ(one.KeyCount(), 1u);
  EXPECT_TRUE(one.MayContain(42));
}

TEST(FuseFilterTest, EmptySetContainsNothing) {
  const FuseFilter f = MustBuild({});
  const FuseFilter def;
  const std::string bytes = f.Serialize();
  EXPECT_EQ(bytes.size(), FuseFilter::kHeaderSize);
  EXPECT_EQ(f.SizeBytes(), bytes.size());
  ASSERT_TRUE(FuseFilter::Validate(bytes).ok());
  auto back = FuseFilter::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (uint64_t k : Probes(100000, 3)) {
    ASSERT_FALSE(f.MayContain(k));
    ASSERT_FALSE(def.MayContain(k));
    ASSERT_FALSE(back->MayContain(k));
    ASSERT_FALSE(FuseFilter::MayContainSerialized(bytes, k));
  }
  EXPECT_FALSE(f.MayContain(0));
  EXPECT_TRUE(FuseFilter::Validate(def.Serialize()).ok());
}

TEST(FuseFilterTest, BuildIsDeterministicAndIgnoresKeyOrder) {
  std::vector<uint64_t> keys = Keys(5000, 11);
  const std::string a = MustBuild(keys).Serialize();
  std::reverse(keys.begin(), keys.end());
  EXPECT_EQ(MustBuild(keys).Serialize(), a);
}

TEST(FuseFilterTest, SerializationRoundTripKeepsEveryAnswer) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{10}, size_t{1000}, size_t{100000}}) {
    SCOPED_TRACE(n);
    const std::vector<uint64_t> keys = Keys(n, 20 + n);
    const FuseFilter f = MustBuild(keys);
    const std::string bytes = f.Serialize();
    EXPECT_EQ(bytes.size(), f.SizeBytes());
    auto back = FuseFilter::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->Serialize(), bytes);
    EXPECT_EQ(back->KeyCount(), n);
    for (uint64_t k : keys) ASSERT_TRUE(back->MayContain(k));
    for (uint64_t p : Probes(20000, 21)) ASSERT_EQ(back->MayContain(p), f.MayContain(p));
  }
}

TEST(FuseFilterTest, MayContainSerializedAgreesWithMayContain) {
  for (size_t n : {size_t{1}, size_t{3}, size_t{1000}, size_t{200000}}) {
    SCOPED_TRACE(n);
    const std::vector<uint64_t> keys = Keys(n, 30 + n);
    const FuseFilter f = MustBuild(keys);
    const std::string bytes = f.Serialize();
    for (uint64_t k : keys) ASSERT_TRUE(FuseFilter::MayContainSerialized(bytes, k));
    for (uint64_t p : Probes(100000, 31)) {
      ASSERT_EQ(FuseFilter::MayContainSerialized(bytes, p), f.MayContain(p));
    }
  }
}

TEST(FuseFilterTest, DeserializeRejectsEveryTruncationAndExtension) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}}) {
    SCOPED_TRACE(n);
    const std::string bytes = MustBuild(Keys(n, 40 + n)).Serialize();
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto r = FuseFilter::Deserialize(std::string_view(bytes).substr(0, len));
      ASSERT_FALSE(r.ok()) << len;
      ASSERT_EQ(r.status().code(), Code::kCorruption) << len;
    }
    EXPECT_EQ(FuseFilter::Validate(bytes + '\0').code(), Code::kCorruption);
  }
}

TEST(FuseFilterTest, DeserializeRejectsEverySingleBitFlip) {
  const std::string bytes = MustBuild(Keys(100, 50)).Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      ASSERT_EQ(FuseFilter::Validate(bad).code(), Code::kCorruption) << i << ":" << bit;
    }
  }
}

TEST(FuseFilterTest, DeserializeRejectsRandomGarbageWithoutCrashing) {
  std::mt19937_64 rng(60);
  const std::string good = MustBuild(Keys(1000, 61)).Serialize();
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes(rng() % 2000, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    // Half the cases keep a valid header prefix so the deeper checks run.
    if (iter % 2 == 1) {
      const size_t keep = std::min(bytes.size(), size_t(rng() % (FuseFilter::kHeaderSize + 1)));
      bytes.replace(0, keep, good, 0, keep);
    }
    ASSERT_EQ(FuseFilter::Deserialize(bytes).status().code(), Code::kCorruption) << iter;
    // Unvalidated bytes must not read out of bounds either (ASan checks).
    (void)FuseFilter::MayContainSerialized(bytes, rng());
  }
}

}  // namespace
}  // namespace loge::storage
