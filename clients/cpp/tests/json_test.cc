#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "loge/client.h"

namespace loge {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quoted("a\"b\\c\nd\re\tf"), R"("a\"b\\c\nd\re\tf")");
  EXPECT_EQ(Quoted(std::string_view("nul\0x\x1f", 6)), R"("nul\u0000x\u001f")");
  EXPECT_EQ(Quoted("<html> & /"), R"("<html> & /")");
}

TEST(JsonString, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Quoted("héllo ✓ 😀"), "\"héllo ✓ 😀\"");
  const auto check = [](std::string_view in, std::string_view want) {
    SCOPED_TRACE(testing::PrintToString(std::string(in)));
    EXPECT_EQ(Quoted(in), want);
  };
  check("a\xff" "b", R"("a\ufffdb")");
  check("\xc3", R"("\ufffd")");                   // truncated sequence
  check("\xc0\xaf", R"("\ufffd\ufffd")");         // overlong
  check("\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")");  // surrogate
  check("\xf4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")");  // past U+10FFFF
}

TEST(RenderLine, PutsMessageThenSourceThenFields) {
  const std::string line = Client::RenderLine(
      "disk nearly full",
      {{"free_mb", 12}, {"mount", "/data"}, {"ratio", 0.25}, {"ok", false}, {"none", nullptr},
       {"big", std::numeric_limits<uint64_t>::max()}, {"neg", -7L}},
      Source{"src/disk.cc", 42, "Check"});
  EXPECT_EQ(line,
            R"({"msg":"disk nearly full","source":{"file":"src/disk.cc","line":42,"function":"Check"},)"
            R"("free_mb":12,"mount":"/data","ratio":0.25,"ok":false,"none":null,"big":18446744073709551615,"neg":-7})");
}

TEST(RenderLine, SendsNonFiniteNumbersAsStrings) {
  EXPECT_EQ(Client::RenderLine("m", {{"nan", std::nan("")}, {"inf", -INFINITY}}, {}),
            R"({"msg":"m","nan":"NaN","inf":"-Inf"})");
}

TEST(RenderLine, LeavesSourceOutWithoutAFile) {
  EXPECT_EQ(Client::RenderLine("m", {}, Source{nullptr, 3, "f"}), R"({"msg":"m"})");
}

}  // namespace
}  // namespace loge
