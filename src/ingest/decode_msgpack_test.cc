#include "ingest/decode_msgpack.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>

namespace loge::ingest {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// Writes a msgpack document with a callback over a packer.
template <typename F>
std::string Pack(F&& f) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  f(pk);
  return std::string(buf.data(), buf.size());
}

void Str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// {"streams":[{"stream":{"app":"web"},"values":[<values...>]}]}
template <typename F>
std::string OneStream(size_t nvalues, F&& values) {
  return Pack([&](Packer& pk) {
    pk.pack_map(1);
    Str(pk, "streams");
    pk.pack_array(1);
    pk.pack_map(2);
    Str(pk, "stream");
    pk.pack_map(1);
    Str(pk, "app");
    Str(pk, "web");
    Str(pk, "values");
    pk.pack_array(static_cast<uint32_t>(nvalues));
    values(pk);
  });
}

Status Decode(const std::string& body, Payload* p) { return DecodeMsgpackPush(body, Limits{}, p); }

TEST(DecodeMsgpack, SameShapeAsJsonDecodes) {
  std::string body = Pack([](Packer& pk) {
    pk.pack_map(2);
    Str(pk, "ignored");
    pk.pack_array(2);
    pk.pack_map(1);
    Str(pk, "deep");
    pk.pack_nil();
    pk.pack_int(7);
    Str(pk, "streams");
    pk.pack_array(2);
    for (int i = 0; i < 2; i++) {
      pk.pack_map(3);
      Str(pk, "stream");
      pk.pack_map(2);
      Str(pk, "env");
      Str(pk, "prod");
      Str(pk, "app");
      Str(pk, i == 0 ? "web" : "api");
      Str(pk, "other");
      pk.pack_double(1.5);
      Str(pk, "values");
      pk.pack_array(2);
      pk.pack_array(2);
      Str(pk, "1700000000000000001");
      Str(pk, "hello");
      pk.pack_array(3);
      pk.pack_uint64(1700000000000000002);
      Str(pk, "world");
      pk.pack_map(1);
      Str(pk, "trace_id");
      Str(pk, "abc");
    }
  });
  Payload p;
  Status st = Decode(body, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(p.streams.size(), 2u);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "web"}, {"env", "prod"}}));
  EXPECT_EQ(p.streams[1].labels, (Labels{{"app", "api"}, {"env", "prod"}}));
  ASSERT_EQ(p.streams[1].entries.size(), 2u);
  EXPECT_EQ(p.streams[1].entries[0].ts, 1700000000000000001);
  EXPECT_EQ(p.streams[1].entries[0].line, "hello");
  EXPECT_EQ(p.streams[1].entries[0].metadata, "");
  EXPECT_EQ(p.streams[1].entries[1].ts, 1700000000000000002);
  EXPECT_EQ(p.streams[1].entries[1].line, "world");
  EXPECT_EQ(p.streams[1].entries[1].metadata, R"({"trace_id":"abc"})");
}

TEST(DecodeMsgpack, TimestampsTakeStringsIntegersAndTheTimestampExtension) {
  std::string body = OneStream(5, [](Packer& pk) {
    pk.pack_array(2);
    pk.pack_int64(-5);
    Str(pk, "negative");
    pk.pack_array(2);
    pk.pack_ext(4, -1);  // timestamp32: seconds
    pk.pack_ext_body("\x00\x00\x00\x07", 4);
    Str(pk, "ts32");
    pk.pack_array(2);
    // timestamp64: nanos(30 bits) << 34 | seconds(34 bits): 3 s + 5 ns
    uint64_t v = (uint64_t{5} << 34) | 3;
    char b8[8];
    for (int k = 0; k < 8; k++) b8[k] = static_cast<char>(v >> (56 - 8 * k));
    pk.pack_ext(8, -1);
    pk.pack_ext_body(b8, 8);
    Str(pk, "ts64");
    pk.pack_array(3);
    pk.pack_uint8(9);
    pk.pack_bin(3);
    pk.pack_bin_body("b\0n", 3);
    pk.pack_nil();  // metadata: none
    pk.pack_array(3);
    pk.pack_uint8(10);
    Str(pk, "empty metadata");
    pk.pack_map(0);
  });
  Payload p;
  Status st = Decode(body, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto& e = p.streams[0].entries;
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].ts, -5);
  EXPECT_EQ(e[1].ts, 7000000000);
  EXPECT_EQ(e[2].ts, 3000000005);
  EXPECT_EQ(e[3].ts, 9);
  EXPECT_EQ(e[3].line, std::string("b\0n", 3));
  EXPECT_EQ(e[3].metadata, "");
  EXPECT_EQ(e[4].metadata, "");
}

TEST(DecodeMsgpack, ErrorsNameTheField) {
  auto check = [](const std::string& body, const std::string& want) {
    SCOPED_TRACE(want);
    Payload p;
    Status st = Decode(body, &p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_EQ(st.message(), want);
  };
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(2);
          pk.pack_double(1.5);
          Str(pk, "x");
        }),
        "streams[0].values[0][0]: timestamp must be unix nanoseconds (string or integer) or a msgpack timestamp, "
        "got float");
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(2);
          Str(pk, "12x");
          Str(pk, "x");
        }),
        "streams[0].values[0][0]: timestamp \"12x\" is not a decimal int64 of nanoseconds");
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(2);
          pk.pack_uint64(~uint64_t{0});
          Str(pk, "x");
        }),
        "streams[0].values[0][0]: timestamp 18446744073709551615 does not fit an int64 of nanoseconds");
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(2);
          pk.pack_int(1);
          pk.pack_int(2);
        }),
        "streams[0].values[0][1]: line must be a string, got integer");
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(3);
          pk.pack_int(1);
          Str(pk, "x");
          pk.pack_map(1);
          Str(pk, "k");
          pk.pack_int(3);
        }),
        "streams[0].values[0][2][\"k\"]: structured metadata value must be a string, got integer");
  check(OneStream(1, [](Packer& pk) {
          pk.pack_array(1);
          pk.pack_int(1);
        }),
        "streams[0].values[0]: want a [timestamp, line] array, optionally followed by a metadata map");
  check(Pack([](Packer& pk) {
          pk.pack_map(1);
          Str(pk, "streams");
          pk.pack_map(0);
        }),
        "streams: want an array of streams, got map");
  check(Pack([](Packer& pk) { pk.pack_array(0); }), "body: want a map with a \"streams\" array, got array");
  check(Pack([](Packer& pk) {
          pk.pack_map(1);
          Str(pk, "streams");
          pk.pack_array(0);
        }),
        "streams: missing or empty");
}

TEST(DecodeMsgpack, HostileCountsDoNotAllocate) {
  // An array header claiming 4 billion values, then nothing: a tree-building
  // unpack would reserve ~96 GiB here; the decoder must just report truncation.
  std::string body = OneStream(0, [](Packer&) {});
  body.back() = '\xdd';
  body += std::string("\xff\xff\xff\xff", 4);
  Payload p;
  Status st = Decode(body, &p);
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("ends inside a value"), std::string::npos) << st.message();
}

// One rule for every format (docs/push-formats.md, "Invalid UTF-8").
TEST(DecodeMsgpack, InvalidUtf8BecomesReplacementCharacters) {
  std::string body = OneStream(1, [](Packer& pk) {
    pk.pack_array(2);
    Str(pk, "1");
    Str(pk, "a\xffz");
  });
  Payload p;
  Status st = Decode(body, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.streams[0].entries[0].line, "a\xef\xbf\xbdz");
}

TEST(DecodeMsgpack, RejectsGarbage) {
  auto check = [](const std::string& body) {
    SCOPED_TRACE(testing::PrintToString(body));
    Payload p;
    Status st = Decode(body, &p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  };
  check("");
  check("\xc1");                               // never-used type byte
  check("{\"streams\":[]}");                   // JSON is not msgpack
  check(std::string("\x81\xa7streams\x90\x00", 11));  // trailing byte
  check(std::string("\x81\xa7streams", 9));    // truncated
  check(std::string(100, '\x91'));             // 100 nested arrays
  check(std::string("\xdb\xff\xff\xff\xff", 5));      // str32 of 4 GiB, absent
  std::string deep;
  for (int i = 0; i < 40; i++) deep += "\x81\xa1k";
  deep += '\xc0';
  check(deep);  // nested deeper than the limit under an ignored key
}

}  // namespace
}  // namespace loge::ingest
