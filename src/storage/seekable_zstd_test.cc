#include "storage/seekable_zstd.h"

#include <gtest/gtest.h>
#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "io/file_system.h"

namespace loge::storage {
namespace {

// A RandomAccessFile over bytes in memory, so corruption tests can edit them.
class StringFile final : public io::RandomAccessFile {
 public:
  explicit StringFile(std::string data) : data_(std::move(data)) {}
  Status Read(uint64_t offset, size_t n, char* buf, size_t* got) const override {
    *got = 0;
    if (offset >= data_.size()) return Status::OK();
    *got = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, *got);
    return Status::OK();
  }
  uint64_t Size() const override { return data_.size(); }

 private:
  std::string data_;
};

Result<std::unique_ptr<SeekableReader>> OpenBytes(std::string bytes) {
  return SeekableReader::Open(std::make_unique<StringFile>(std::move(bytes)));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Log-like text: compresses well, like a real segment.
std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) {
    s += "ts=" + std::to_string(1700000000000 + i * 37) + " level=info app=api msg=\"request " +
         std::to_string(i * 7919 % 100003) + " served\"\n";
  }
  s.resize(n);
  return s;
}

std::string Compress(std::string_view data, SeekableOptions opts = {}) {
  std::string out;
  Status s = CompressSeekable(data, opts, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string ReadAll(const SeekableReader& r) {
  std::string all, frame;
  for (size_t i = 0; i < r.FrameCount(); ++i) {
    Status s = r.ReadFrame(i, &frame);
    EXPECT_TRUE(s.ok()) << "frame " << i << ": " << s.ToString();
    all += frame;
  }
  return all;
}

void ExpectCorruption(std::string bytes, const std::string& want_in_message) {
  auto r = OpenBytes(std::move(bytes));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find(want_in_message), std::string::npos) << r.status().ToString();
}

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "seekable_XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

TEST(SeekableZstd, RoundTripsAtFrameBoundarySizes) {
  constexpr size_t kF = 4096;
  auto check = [&](const std::string& data, bool checksums) {
    SCOPED_TRACE(std::to_string(data.size()) + (checksums ? " bytes, checksums" : " bytes"));
    std::string file = Compress(data, {.level = 3, .frame_size = kF, .checksums = checksums});
    auto r = OpenBytes(file);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->FrameCount(), (data.size() + kF - 1) / kF);
    EXPECT_EQ((*r)->DecompressedSize(), data.size());
    for (size_t i = 0; i + 1 < (*r)->FrameCount(); ++i) EXPECT_EQ((*r)->FrameSize(i), kF);
    EXPECT_EQ(ReadAll(**r), data);
  };
  for (size_t n : {size_t{0}, size_t{1}, kF - 1, kF, kF + 1, 3 * kF}) {
    check(RandomBytes(n, static_cast<uint32_t>(n)), true);
    check(Text(n), false);
  }
  check(RandomBytes(3 << 20, 7), true);
  check(Text(5 << 20), true);
}

TEST(SeekableZstd, EmptyInputIsSeventeenByteTableOnly) {
  const std::string want_plain("\x5E\x2A\x4D\x18\x09\x00\x00\x00\x00\x00\x00\x00\x00\xB1\xEA\x92\x8F", 17);
  EXPECT_EQ(Compress("", {.checksums = false}), want_plain);
  std::string want_ck = want_plain;
  want_ck[12] = '\x80';
  EXPECT_EQ(Compress("", {.checksums = true}), want_ck);
  auto r = OpenBytes(want_ck);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->FrameCount(), 0u);
  EXPECT_EQ((*r)->DecompressedSize(), 0u);
}

TEST(SeekableZstd, SeekTableLayoutMatchesSpec) {
  std::string data = Text(100000);
  std::string file = Compress(data, {.frame_size = 65536});
  auto le32 = [&](size_t off) {
    uint32_t v;
    std::memcpy(&v, file.data() + off, 4);
    return v;  // the test host is little-endian, like the format
  };
  const size_t n = 2, tsize = 8 + n * 12 + 9, t = file.size() - tsize;
  EXPECT_EQ(le32(file.size() - 4), 0x8F92EAB1u);
  EXPECT_EQ(static_cast<uint8_t>(file[file.size() - 5]), 0x80);
  EXPECT_EQ(le32(file.size() - 9), n);
  EXPECT_EQ(le32(t), 0x184D2A5Eu);
  EXPECT_EQ(le32(t + 4), n * 12 + 9);
  EXPECT_EQ(le32(t + 8) + le32(t + 20), t);  // compressed sizes cover the frames
  EXPECT_EQ(le32(t + 12), 65536u);
  EXPECT_EQ(le32(t + 24), 100000u - 65536u);
  EXPECT_EQ(le32(t + 16), XXH64(data.data(), 65536, 0) & 0xffffffffu);
  EXPECT_EQ(le32(0), ZSTD_MAGICNUMBER);  // frame 0 is a plain zstd frame
}

TEST(SeekableZstd, RandomAccessReadsMatchOriginal) {
  std::string data = Text(2 << 20) + RandomBytes(1 << 20, 3);
  auto r = OpenBytes(Compress(data));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::mt19937_64 rng(42);
  std::string frame;
  for (int k = 0; k < 200; ++k) {
    uint64_t pos = rng() % data.size();
    size_t i = (*r)->FrameOf(pos);
    ASSERT_EQ(i, pos / kDefaultFrameSize);
    ASSERT_TRUE((*r)->ReadFrame(i, &frame).ok());
    uint64_t start = (*r)->FrameStart(i);
    ASSERT_LE(start, pos);
    ASSERT_LT(pos, start + frame.size());
    ASSERT_EQ(frame, data.substr(start, frame.size()));
  }
}

TEST(SeekableZstd, ZeroSizeSkippableFrameIsSkippedByFrameOf) {
  // Hand-built: frame "a", a skippable frame (dsize 0), frame "b".
  std::string a(1000, 'a'), b(500, 'b');
  auto zframe = [](const std::string& s) {
    std::string out(ZSTD_compressBound(s.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 1));
    return out;
  };
  auto le32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  std::string fa = zframe(a), fb = zframe(b);
  std::string skip = le32(0x184D2A50) + le32(4) + "junk";
  std::string file = fa + skip + fb;
  file += le32(0x184D2A5E) + le32(3 * 12 + 9);
  file += le32(fa.size()) + le32(a.size()) + le32(XXH64(a.data(), a.size(), 0));
  file += le32(skip.size()) + le32(0) + le32(0);
  file += le32(fb.size()) + le32(b.size()) + le32(XXH64(b.data(), b.size(), 0));
  file += le32(3) + std::string(1, '\x80') + le32(0x8F92EAB1);

  auto r = OpenBytes(file);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->FrameCount(), 3u);
  EXPECT_EQ((*r)->FrameOf(999), 0u);
  EXPECT_EQ((*r)->FrameOf(1000), 2u);
  EXPECT_EQ(ReadAll(**r), a + b);
}

TEST(SeekableZstd, ZstdCliDecodesWholeFile) {
  std::string dir = TempDir();
  std::string in = io::JoinPath(dir, "data.zst"), out = io::JoinPath(dir, "data");
  std::string data = Text(1 << 20) + RandomBytes(300000, 9);
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), in, Compress(data)).ok());
  std::string cmd = "zstd -q -dc '" + in + "' > '" + out + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto got = io::ReadFileToString(io::DefaultFileSystem(), out);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "zstd -d output differs (" << got->size() << " vs " << data.size()
                            << " bytes)";
}

TEST(SeekableZstd, ReadsFromPosixFile) {
  std::string dir = TempDir();
  std::string path = io::JoinPath(dir, "data.zst");
  std::string data = Text(300000);
  ASSERT_TRUE(io::WriteFileAtomic(io::DefaultFileSystem(), path, Compress(data)).ok());
  auto file = io::DefaultFileSystem()->OpenRandomAccess(path);
  ASSERT_TRUE(file.ok());
  auto r = SeekableReader::Open(std::move(file).value());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), data);
}

TEST(SeekableZstd, RejectsPlainZstdFileAsNotSeekable) {
  std::string data = Text(200000);
  std::string plain(ZSTD_compressBound(data.size()), '\0');
  plain.resize(ZSTD_compress(plain.data(), plain.size(), data.data(), data.size(), 1));
  ExpectCorruption(plain, "not a seekable file");
}

TEST(SeekableZstd, RejectsBadFooterMagic) {
  std::string file = Compress(Text(100000));
  file.back() ^= 0x01;
  ExpectCorruption(file, "footer magic");
}

TEST(SeekableZstd, RejectsReservedDescriptorBits) {
  for (int bit = 2; bit <= 6; ++bit) {
    SCOPED_TRACE(bit);
    std::string file = Compress(Text(100000));
    file[file.size() - 5] |= static_cast<char>(1 << bit);
    ExpectCorruption(file, "reserved bits");
  }
  // Bits 1..0 are unused and ignored.
  std::string file = Compress(Text(100000));
  file[file.size() - 5] |= 0x03;
  EXPECT_TRUE(OpenBytes(file).ok());
}

TEST(SeekableZstd, FlippedFrameByteFailsChecksum) {
  // Random data is stored in raw blocks, so a flipped byte decodes "fine" and
  // only the seek table's checksum notices.
  std::string data = RandomBytes(3 * 65536, 5);
  std::string file = Compress(data);
  auto clean = OpenBytes(file);
  ASSERT_TRUE(clean.ok());
  const uint64_t mid = (*clean)->CompressedFrameSize(0) + (*clean)->CompressedFrameSize(1) / 2;
  file[mid] ^= 0x40;
  auto r = OpenBytes(file);
  ASSERT_TRUE(r.ok()) << "the table is intact: " << r.status().ToString();
  std::string frame;
  EXPECT_TRUE((*r)->ReadFrame(0, &frame).ok());
  Status s = (*r)->ReadFrame(1, &frame);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.ToString();
  EXPECT_TRUE((*r)->ReadFrame(2, &frame).ok());
}

TEST(SeekableZstd, DamagedFrameHeaderIsCorruption) {
  std::string file = Compress(Text(200000));
  file[0] ^= 0xff;  // frame 0's zstd magic
  auto r = OpenBytes(file);
  ASSERT_TRUE(r.ok());
  std::string frame;
  Status s = (*r)->ReadFrame(0, &frame);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
}

TEST(SeekableZstd, RejectsTruncatedFile) {
  std::string file = Compress(Text(300000));
  auto check = [&](size_t keep, const std::string& want) {
    SCOPED_TRACE(keep);
    ExpectCorruption(file.substr(0, keep), want);
  };
  check(0, "too small");
  check(16, "too small");
  check(file.size() - 1, "footer magic");
  check(file.size() / 2, "footer magic");
  // The tail survives but a frame is gone: table and frames disagree.
  std::string no_head = file.substr(100);
  ExpectCorruption(no_head, "add up to");
}

TEST(SeekableZstd, RejectsTableLargerThanFile) {
  std::string file = Compress("");
  file[8] = '\x10';  // 16 frames in a 17-byte file
  ExpectCorruption(file, "needs");
  file[8] = file[9] = file[10] = file[11] = '\xff';
  ExpectCorruption(file, "needs");
}

TEST(SeekableZstd, RejectsBadTableHeader) {
  std::string file = Compress(Text(100000));
  const size_t t = file.size() - (8 + 2 * 12 + 9);
  std::string bad_magic = file;
  bad_magic[t] ^= 0x01;
  ExpectCorruption(bad_magic, "seek table frame magic");
  std::string bad_size = file;
  bad_size[t + 4] ^= 0x01;
  ExpectCorruption(bad_size, "seek table frame size");
}

TEST(SeekableZstd, RejectsGarbageWithoutCrashing) {
  for (uint32_t seed = 0; seed < 200; ++seed) {
    std::string junk = RandomBytes(seed * 7 % 300, seed);
    if (junk.size() >= 4) {  // make some reach the table parser
      uint32_t magic = 0x8F92EAB1;
      std::memcpy(junk.data() + junk.size() - 4, &magic, 4);
      if (seed % 2 == 0 && junk.size() >= 9) junk[junk.size() - 5] = '\x80';
    }
    auto r = OpenBytes(junk);
    if (r.ok()) {
      std::string frame;
      for (size_t i = 0; i < (*r)->FrameCount(); ++i) (void)(*r)->ReadFrame(i, &frame);
    } else {
      EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
    }
  }
}

TEST(SeekableZstd, RejectsBadOptionsAndFrameIndex) {
  std::string out;
  EXPECT_EQ(CompressSeekable("x", {.frame_size = 0}, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(CompressSeekable("x", {.level = 1000}, &out).code(), Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
  auto r = OpenBytes(Compress("hello"));
  ASSERT_TRUE(r.ok());
  std::string frame;
  EXPECT_EQ((*r)->ReadFrame(1, &frame).code(), Code::kInvalidArgument);
}

TEST(SeekableZstd, AppendsAfterExistingOutput) {
  std::string out = "prefix";
  ASSERT_TRUE(CompressSeekable(Text(1000), {}, &out).ok());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  auto r = OpenBytes(out.substr(6));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(**r), Text(1000));
}

}  // namespace
}  // namespace loge::storage

namespace loge::storage {
namespace {

TEST(SeekableZstdThreads, ParallelOutputIsByteIdenticalToSequential) {
  std::string data;
  for (int i = 0; i < 200000; i++) data += "line " + std::to_string(i * 7919 % 100003) + "\n";
  for (bool checksums : {false, true}) {
    SeekableOptions seq{.level = 3, .frame_size = 65536, .checksums = checksums, .threads = 1};
    SeekableOptions par = seq;
    par.threads = 3;
    std::string a, b;
    ASSERT_TRUE(CompressSeekable(data, seq, &a).ok());
    ASSERT_TRUE(CompressSeekable(data, par, &b).ok());
    EXPECT_EQ(a, b);
  }
}

}  // namespace
}  // namespace loge::storage
