#include "ingest/decode_snappy.h"

#include <gtest/gtest.h>
#include <snappy.h>

namespace loge::ingest {
namespace {

TEST(SnappyUncompress, RejectsGarbage) {
  auto check = [](const std::string& body, Code want) {
    SCOPED_TRACE(testing::PrintToString(body.substr(0, 32)));
    std::string out;
    Status st = SnappyUncompress(body, 1 << 20, &out);
    EXPECT_EQ(st.code(), want) << st.ToString();
  };
  check("", Code::kInvalidArgument);
  check(std::string("\xff\x06\x00\x00sNaPpY", 10), Code::kInvalidArgument);     // framed
  check(std::string("\x80\x80\x80\x80\x80\x80", 6), Code::kInvalidArgument);     // bad preamble
  check(std::string("\x80\x80\x80\x01", 4), Code::kPayloadTooLarge);             // 2 MiB declared
  check(std::string("\x80\x80\x20", 3), Code::kInvalidArgument);                 // 512 KiB from 3 bytes: impossible
  check(std::string("\x05\x10", 2), Code::kInvalidArgument);                     // literal runs past the end
  check(std::string("\x04\x01\x00", 3), Code::kInvalidArgument);                 // copy before any output
}

TEST(SnappyUncompress, DecodesAValidBlockOfLiterals) {
  std::string out;
  Status st = SnappyUncompress(std::string("\x05\x10hello", 7), 100, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, "hello");
}

TEST(SnappyUncompress, RoundTripsWhatLibsnappyCompresses) {
  std::string text;
  for (int i = 0; i < 2000; i++) text += "ts=" + std::to_string(i) + " level=info msg=ok\n";
  std::string block;
  snappy::Compress(text.data(), text.size(), &block);
  std::string out;
  ASSERT_TRUE(SnappyUncompress(block, text.size(), &out).ok());
  EXPECT_EQ(out, text);
  EXPECT_EQ(SnappyUncompress(block, text.size() - 1, &out).code(), Code::kPayloadTooLarge);
}

}  // namespace
}  // namespace loge::ingest
