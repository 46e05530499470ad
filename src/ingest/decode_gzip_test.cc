#include "ingest/decode_gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>


namespace loge::ingest {
namespace {

// Compresses with zlib: window_bits 15+16 gzip, 15 zlib, -15 raw deflate.
std::string Deflate(std::string_view in, int window_bits, int level = Z_DEFAULT_COMPRESSION) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

const std::string kText = [] {
  std::string s;
  for (int i = 0; i < 5000; i++) s += "level=info msg=\"request served\" id=" + std::to_string(i * 7919) + "\n";
  return s;
}();

TEST(Inflate, GzipZlibAndRawDeflateRoundTrip) {
  auto check = [](std::string_view body, ZlibWrapper w) {
    std::string out;
    Status st = Inflate(body, w, kText.size(), &out);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(out, kText);
  };
  check(Deflate(kText, 15 + 16), ZlibWrapper::kGzip);
  check(Deflate(kText, 15), ZlibWrapper::kDeflate);
  check(Deflate(kText, -15), ZlibWrapper::kDeflate);
}

TEST(Inflate, ConcatenatedGzipMembersAreOneBody) {
  std::string a = kText.substr(0, 1000), b = kText.substr(1000);
  std::string out;
  Status st = Inflate(Deflate(a, 31) + Deflate(b, 31), ZlibWrapper::kGzip, kText.size(), &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, kText);
}

TEST(Inflate, OutputPastTheCapIsPayloadTooLarge) {
  std::string out;
  Status st = Inflate(Deflate(kText, 31), ZlibWrapper::kGzip, kText.size() - 1, &out);
  EXPECT_EQ(st.code(), Code::kPayloadTooLarge) << st.ToString();
}

TEST(Inflate, CompressionBombStopsAtTheCap) {
  // 64 MiB of zeros deflate to ~64 KB; with a 1 MiB cap the inflater must
  // stop after 1 MiB + 1 byte rather than allocate the whole.
  const size_t kBomb = 64u << 20;
  std::string zeros(kBomb, '\0');
  std::string bomb = Deflate(zeros, 31, 9);
  zeros.clear();
  zeros.shrink_to_fit();
  ASSERT_LT(bomb.size(), kBomb / 500);
  std::string out;
  Status st = Inflate(bomb, ZlibWrapper::kGzip, 1 << 20, &out);
  EXPECT_EQ(st.code(), Code::kPayloadTooLarge) << st.ToString();
  EXPECT_LE(out.capacity(), (2u << 20) + 64);
}

TEST(Inflate, RejectsGarbage) {
  auto check = [](const std::string& body, ZlibWrapper w) {
    SCOPED_TRACE(testing::PrintToString(body.substr(0, 32)));
    std::string out;
    Status st = Inflate(body, w, 1 << 20, &out);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  };
  const std::string gz = Deflate(kText, 31);
  check("", ZlibWrapper::kGzip);
  check("not gzip at all", ZlibWrapper::kGzip);
  check(gz.substr(0, gz.size() / 2), ZlibWrapper::kGzip);  // truncated
  check(gz + "trailing", ZlibWrapper::kGzip);
  std::string flipped = gz;
  flipped[flipped.size() - 6] ^= 0x55;  // CRC/length trailer mismatch
  check(flipped, ZlibWrapper::kGzip);
  check("", ZlibWrapper::kDeflate);
  check(std::string("\x78\x9c\xff\xff\xff", 5), ZlibWrapper::kDeflate);
  check(Deflate(kText, 15) + "x", ZlibWrapper::kDeflate);
}

}  // namespace
}  // namespace loge::ingest
