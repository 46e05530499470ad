#include "ingest/decode_loki_proto.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include "ingest/loki_push.pb.h"

namespace loge::ingest {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// The test vector of ../shared/specs/loki-push-proto.md §2: one stream
// {app="web", env="prod"}, entries (1700000000.123456789, "hello world") and
// (1700000001, "second", structuredMetadata trace_id=abc), as Promtail
// encodes them: raw protobuf, then a snappy block.
const std::string kVectorProto = FromHex(
    "0a580a177b6170703d22776562222c20656e763d2270726f64227d121a0a0b0880e2cfaa0610959aef3a120b68656c"
    "6c6f20776f726c6412210a060881e2cfaa0612067365636f6e641a0f0a0874726163655f69641203616263");
const std::string kVectorSnappy = FromHex(
    "5af03c0a580a177b6170703d22776562222c20656e763d2270726f64227d121a0a0b0880e2cfaa0610959aef3a120b"
    "68656c6c6f20776f726c6412210a060881011c6012067365636f6e641a0f0a0874726163655f69641203616263");

constexpr size_t kMax = 1 << 20;

void ExpectVectorPayload(const Payload& p) {
  ASSERT_EQ(p.streams.size(), 1u);
  const Stream& s = p.streams[0];
  EXPECT_EQ(s.labels, (Labels{{"app", "web"}, {"env", "prod"}}));
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].ts, 1700000000123456789);
  EXPECT_EQ(s.entries[0].line, "hello world");
  EXPECT_EQ(s.entries[0].metadata, "");
  EXPECT_EQ(s.entries[1].ts, 1700000001000000000);
  EXPECT_EQ(s.entries[1].line, "second");
  EXPECT_EQ(s.entries[1].metadata, R"({"trace_id":"abc"})");
}

// Builds a snappy-compressed PushRequest of one stream.
std::string Push(const std::string& labels, const std::vector<std::pair<int64_t, std::string>>& entries) {
  logproto::PushRequest req;
  auto* s = req.add_streams();
  s->set_labels(labels);
  for (const auto& [ts, line] : entries) {
    auto* e = s->add_entries();
    e->mutable_timestamp()->set_seconds(ts / 1000000000);
    e->mutable_timestamp()->set_nanos(static_cast<int32_t>(ts % 1000000000));
    e->set_line(line);
  }
  std::string raw = req.SerializeAsString();
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

TEST(DecodeLokiProto, PromtailTestVectorDecodes) {
  ASSERT_EQ(kVectorProto.size(), 90u);
  ASSERT_EQ(kVectorSnappy.size(), 92u);
  Payload p;
  Status st = DecodeLokiProtoPush(kVectorSnappy, Limits{}, kMax, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectVectorPayload(p);
}

TEST(DecodeLokiProto, RawPushRequestVectorDecodes) {
  Payload p;
  Status st = DecodePushRequest(kVectorProto, Limits{}, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectVectorPayload(p);
}

TEST(DecodeLokiProto, LabelsAreSortedAndEmptyValuesDropped) {
  Payload p;
  Status st = DecodeLokiProtoPush(Push(R"({zone="a", app="web", empty="",})", {{5, "x"}}), Limits{}, kMax, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "web"}, {"zone", "a"}}));
  EXPECT_EQ(p.streams[0].entries[0].ts, 5);
}

TEST(DecodeLokiProto, LabelsStringsTakeGoEscapesAndBackticks) {
  auto check = [](const std::string& text, const Labels& want) {
    SCOPED_TRACE(text);
    Labels got;
    Status st = ParseLokiLabels(text, &got);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(got, want);
  };
  check(R"({a="b"})", {{"a", "b"}});
  check(R"({ a = "b" , c = "d" , })", {{"a", "b"}, {"c", "d"}});
  check(R"({a="q\"uote\\ \n"})", {{"a", "q\"uote\\ \n"}});
  check(R"({a="caf\u00e9"})", {{"a", "caf\xc3\xa9"}});
  check("{a=`raw\\n`}", {{"a", "raw\\n"}});
  check(R"({_x1="1", b=""})", {{"_x1", "1"}});
}

TEST(DecodeLokiProto, RejectsBadLabelsStrings) {
  auto check = [](const std::string& labels, const std::string& want) {
    SCOPED_TRACE(labels);
    Payload p;
    Status st = DecodeLokiProtoPush(Push(labels, {{1, "x"}}), Limits{}, kMax, &p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
  };
  check(R"({a=~"b"})", "a stream's labels take only =");
  check(R"({a!="b"})", "take only =");
  check(R"({a="b"} |= "x")", "want only {name=\"value\", ...}");
  check(R"({a="b")", "couldn't parse labels");
  check(R"(a="b")", "couldn't parse labels");
  check(R"({1a="b"})", "couldn't parse labels");
  check(R"({a='b'})", "couldn't parse labels");
  check(R"({a="b", a="c"})", "duplicate label name");
  check(R"({})", "no labels");
  check(R"({a=""})", "no labels");
  check("", "couldn't parse labels");
}

TEST(DecodeLokiProto, StreamsWithoutEntriesAreSkippedAsInLoki) {
  logproto::PushRequest req;
  req.add_streams()->set_labels(R"({a="empty"})");
  auto* s = req.add_streams();
  s->set_labels(R"({a="full"})");
  s->add_entries()->set_line("x");  // no timestamp: 0
  Payload p;
  Status st = DecodePushRequest(req.SerializeAsString(), Limits{}, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"a", "full"}}));
  EXPECT_EQ(p.streams[0].entries[0].ts, 0);
}

// One rule for every format (docs/push-formats.md, "Invalid UTF-8"):
// invalid UTF-8 becomes U+FFFD, other bytes (a NUL) stay.
TEST(DecodeLokiProto, InvalidUtf8BecomesReplacementCharacters) {
  const char kLine[] = "bad utf8 \xff\xfe and a nul \0 byte";
  const std::string line(kLine, sizeof(kLine) - 1);
  Payload p;
  Status st = DecodeLokiProtoPush(Push("{a=\"b\xff\"}", {{1, line}}), Limits{}, kMax, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const char kWant[] = "bad utf8 \xef\xbf\xbd\xef\xbf\xbd and a nul \0 byte";
  EXPECT_EQ(p.streams[0].entries[0].line, std::string(kWant, sizeof(kWant) - 1));
  EXPECT_EQ(p.streams[0].labels, (Labels{{"a", "b\xef\xbf\xbd"}}));
}

TEST(DecodeLokiProto, RejectsBadTimestampsAndLongLines) {
  logproto::PushRequest req;
  auto* s = req.add_streams();
  s->set_labels(R"({a="b"})");
  auto* e = s->add_entries();
  e->mutable_timestamp()->set_nanos(1000000000);
  Payload p;
  Status st = DecodePushRequest(req.SerializeAsString(), Limits{}, &p);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("streams[0].values[0][0]: nanos"), std::string::npos) << st.message();

  e->mutable_timestamp()->set_nanos(0);
  e->mutable_timestamp()->set_seconds(int64_t{1} << 62);
  st = DecodePushRequest(req.SerializeAsString(), Limits{}, &p);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);

  e->mutable_timestamp()->set_seconds(1);
  e->set_line(std::string(100, 'x'));
  Limits small;
  small.max_line_bytes = 99;
  st = DecodePushRequest(req.SerializeAsString(), small, &p);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("exceeds the maximum"), std::string::npos) << st.message();
}

TEST(DecodeLokiProto, OversizedDeclaredLengthIsPayloadTooLargeBeforeDecoding) {
  Payload p;
  Status st = DecodeLokiProtoPush(kVectorSnappy, Limits{}, 89, &p);
  EXPECT_EQ(st.code(), Code::kPayloadTooLarge) << st.ToString();
}

TEST(DecodeLokiProto, RejectsGarbage) {
  auto check = [](const std::string& body) {
    SCOPED_TRACE(testing::PrintToString(body));
    Payload p;
    Status st = DecodeLokiProtoPush(body, Limits{}, kMax, &p);
    EXPECT_FALSE(st.ok());
    EXPECT_TRUE(st.code() == Code::kInvalidArgument || st.code() == Code::kPayloadTooLarge) << st.ToString();
  };
  check("");
  check("x");
  check("{\"streams\":[]}");
  check(kVectorProto);                                  // not snappy
  check(kVectorSnappy.substr(0, 50));                   // truncated block
  check(std::string("\xff\x06\x00\x00sNaPpY", 10));     // framed format
  check(std::string("\xff\xff\xff\xff\x0f", 5));        // 4 GiB declared
  check(std::string("\x80\x80\x80\x80\x80\x80", 6));    // unterminated varint
  std::string raw = "garbage that is not a protobuf message at all \x07\x08";
  std::string sn;
  snappy::Compress(raw.data(), raw.size(), &sn);
  check(sn);
  raw = kVectorProto.substr(0, 60);                     // truncated message
  sn.clear();
  snappy::Compress(raw.data(), raw.size(), &sn);
  check(sn);
  sn.clear();
  snappy::Compress("", 0, &sn);  // empty PushRequest: no streams
  check(sn);
}

}  // namespace
}  // namespace loge::ingest
