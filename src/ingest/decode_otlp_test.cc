#include "ingest/decode_otlp.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ingest/otlp_model.h"

namespace loge::ingest {
namespace {

// --- a minimal protobuf writer (field numbers in decode_otlp_proto.cc) ------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Len(uint32_t field, std::string_view payload) {
  return Varint(field << 3 | 2) + Varint(payload.size()) + std::string(payload);
}
std::string VarintField(uint32_t field, uint64_t v) { return Varint(field << 3) + Varint(v); }
std::string Fixed64(uint32_t field, uint64_t v) {
  std::string out = Varint(field << 3 | 1);
  char b[8];
  std::memcpy(b, &v, 8);
  return out.append(b, 8);
}
std::string AnyStr(std::string_view s) { return Len(1, s); }
std::string AnyInt(int64_t v) { return VarintField(3, static_cast<uint64_t>(v)); }
std::string KeyValue(std::string_view k, const std::string& any) { return Len(1, k) + Len(2, any); }
std::string Attr(std::string_view k, std::string_view v) { return Len(1, KeyValue(k, AnyStr(v))); }

// ResourceLogs{resource, scope_logs{scope{name}, records...}} in one request.
std::string Request(const std::string& resource_attrs, const std::string& records, std::string_view scope = "") {
  std::string scope_logs;
  if (!scope.empty()) scope_logs += Len(1, Len(1, scope));
  scope_logs += records;
  return Len(1, Len(1, resource_attrs) + Len(2, scope_logs));
}
std::string Record(uint64_t ts, const std::string& body_any, const std::string& extra = "") {
  return Len(2, (ts ? Fixed64(1, ts) : "") + Len(5, body_any) + extra);
}

struct Decoded {
  Status st;
  Payload p;
  OtlpRejects rejects;
};

Decoded Proto(const std::string& body, Limits limits = {}, int64_t now = 42) {
  Decoded d;
  d.st = DecodeOtlpLogsProto(body, OtlpOptions{}, limits, now, &d.p, &d.rejects);
  return d;
}
Decoded Json(const std::string& body, Limits limits = {}, int64_t now = 42) {
  Decoded d;
  d.st = DecodeOtlpLogsJson(body, OtlpOptions{}, limits, now, &d.p, &d.rejects);
  return d;
}

const char* kJsonRequest = R"({"resourceLogs":[{
  "resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"checkout"}},
    {"key":"k8s.namespace.name","value":{"stringValue":"shop"}},
    {"key":"host.name","value":{"stringValue":"node-1"}}]},
  "scopeLogs":[{"scope":{"name":"app.logger","version":"1.2"},
    "logRecords":[{"timeUnixNano":"1700000000000000001","severityNumber":17,"severityText":"ERROR",
      "body":{"stringValue":"payment failed"},
      "attributes":[{"key":"http.status_code","value":{"intValue":"502"}},
                    {"key":"retry","value":{"boolValue":true}}],
      "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","flags":1}]}]}]})";

TEST(DecodeOtlp, JsonMapsLabelAttributesToLabelsAndTheRestToMetadata) {
  Decoded d = Json(kJsonRequest);
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  ASSERT_EQ(d.p.streams.size(), 1u);
  EXPECT_EQ(d.p.streams[0].labels, (Labels{{"k8s_namespace_name", "shop"}, {"service_name", "checkout"}}));
  ASSERT_EQ(d.p.streams[0].entries.size(), 1u);
  const Entry& e = d.p.streams[0].entries[0];
  EXPECT_EQ(e.ts, 1700000000000000001);
  EXPECT_EQ(e.line, "payment failed");
  EXPECT_EQ(e.metadata,
            R"({"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","severity_text":"ERROR",)"
            R"("severity_number":"17","flags":"1","http_status_code":"502","retry":"true",)"
            R"("scope_name":"app.logger","scope_version":"1.2","host_name":"node-1"})");
  EXPECT_EQ(d.rejects.records, 0);
}

TEST(DecodeOtlp, ProtobufAndJsonDecodeToTheSamePayload) {
  std::string attrs = Len(1, KeyValue("service.name", AnyStr("checkout"))) +
                      Len(1, KeyValue("k8s.namespace.name", AnyStr("shop"))) +
                      Len(1, KeyValue("host.name", AnyStr("node-1")));
  std::string trace = "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c";
  std::string span = "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74";
  std::string rec = Fixed64(1, 1700000000000000001) + VarintField(2, 17) + Len(3, "ERROR") +
                    Len(5, AnyStr("payment failed")) + Len(6, KeyValue("http.status_code", AnyInt(502))) +
                    Len(6, KeyValue("retry", VarintField(2, 1))) + Varint(8 << 3 | 5) + std::string("\x01\0\0\0", 4) +
                    Len(9, trace) + Len(10, span);
  std::string scope_logs = Len(1, Len(1, "app.logger") + Len(2, "1.2")) + Len(2, rec);
  // The resource after its scope_logs: the wire allows any field order.
  std::string body = Len(1, Len(2, scope_logs) + Len(1, attrs));
  Decoded p = Proto(body), j = Json(kJsonRequest);
  ASSERT_TRUE(p.st.ok()) << p.st.ToString();
  ASSERT_TRUE(j.st.ok()) << j.st.ToString();
  ASSERT_EQ(p.p.streams.size(), 1u);
  EXPECT_EQ(p.p.streams[0].labels, j.p.streams[0].labels);
  ASSERT_EQ(p.p.streams[0].entries.size(), 1u);
  EXPECT_EQ(p.p.streams[0].entries[0].ts, j.p.streams[0].entries[0].ts);
  EXPECT_EQ(p.p.streams[0].entries[0].line, j.p.streams[0].entries[0].line);
  EXPECT_EQ(p.p.streams[0].entries[0].metadata, j.p.streams[0].entries[0].metadata);
}

TEST(DecodeOtlp, BodiesOfEveryKindBecomeTextLines) {
  auto check = [](const std::string& json_body, const std::string& want) {
    SCOPED_TRACE(json_body);
    std::string req = R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"5","body":)" + json_body +
                      "}]}]}]}";
    Decoded d = Json(req);
    ASSERT_TRUE(d.st.ok()) << d.st.ToString();
    ASSERT_EQ(d.p.streams.size(), 1u);
    EXPECT_EQ(d.p.streams[0].entries[0].line, want);
  };
  check(R"({"stringValue":"plain"})", "plain");
  check(R"({"intValue":"-7"})", "-7");
  check(R"({"intValue":12})", "12");
  check(R"({"doubleValue":1.5})", "1.5");
  check(R"({"boolValue":false})", "false");
  check(R"({"bytesValue":"aGk="})", "aGk=");
  check(R"({})", "");
  check(R"({"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"},{"doubleValue":0.25}]}})", R"(["a",1,0.25])");
  check(R"({"kvlistValue":{"values":[{"key":"user","value":{"stringValue":"ann"}},)"
        R"({"key":"n","value":{"kvlistValue":{"values":[{"key":"x","value":{"boolValue":true}}]}}}]}})",
        R"({"user":"ann","n":{"x":true}})");
}

TEST(DecodeOtlp, NestedAttributesFlattenWithUnderscores) {
  Decoded d = Json(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"5","body":{"stringValue":"x"},
    "attributes":[{"key":"http.request","value":{"kvlistValue":{"values":[
       {"key":"method","value":{"stringValue":"GET"}},
       {"key":"header.size","value":{"intValue":"10"}}]}}},
     {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}},
     {"key":"9lives","value":{"doubleValue":2}}]}]}]}]})");
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  EXPECT_EQ(d.p.streams[0].entries[0].metadata,
            R"({"http_request_method":"GET","http_request_header_size":"10","tags":"[\"a\",\"b\"]","_9lives":"2"})");
  EXPECT_EQ(d.p.streams[0].labels, (Labels{{"service_name", "unknown_service"}}));
}

TEST(DecodeOtlp, TimeFallsBackToObservedThenToTheReceiveTime) {
  Decoded d = Proto(Request("", Record(0, AnyStr("no time")) + Len(2, Fixed64(11, 77) + Len(5, AnyStr("observed")))),
                    {}, /*now=*/1234);
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  ASSERT_EQ(d.p.streams[0].entries.size(), 2u);
  EXPECT_EQ(d.p.streams[0].entries[0].ts, 1234);
  EXPECT_EQ(d.p.streams[0].entries[1].ts, 77);
}

TEST(DecodeOtlp, RecordsOverTheLineLimitAreRejectedAloneAndCounted) {
  Limits limits;
  limits.max_line_bytes = 5;
  Decoded d = Proto(Request(Attr("service.name", "svc"),
                            Record(1, AnyStr("short")) + Record(2, AnyStr("much too long")) + Record(3, AnyStr("ok"))),
                    limits);
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  ASSERT_EQ(d.p.streams.size(), 1u);
  ASSERT_EQ(d.p.streams[0].entries.size(), 2u);
  EXPECT_EQ(d.rejects.records, 1);
  EXPECT_NE(d.rejects.reason.find("13 bytes exceeds the maximum line size of 5"), std::string::npos) << d.rejects.reason;
}

TEST(DecodeOtlp, EveryRecordRejectedLeavesAnEmptyPayload) {
  Limits limits;
  limits.max_line_bytes = 1;
  Decoded d = Proto(Request(Attr("service.name", "svc"), Record(1, AnyStr("long"))), limits);
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  EXPECT_TRUE(d.p.streams.empty());
  EXPECT_EQ(d.rejects.records, 1);
}

TEST(DecodeOtlp, EmptyRequestsDecodeToNothing) {
  for (const std::string& body : {std::string(), Len(1, "")}) {
    Decoded d = Proto(body);
    EXPECT_TRUE(d.st.ok()) << d.st.ToString();
    EXPECT_TRUE(d.p.streams.empty());
  }
  for (const char* body : {"{}", R"({"resourceLogs":[]})", R"({"resourceLogs":[{"scopeLogs":[{}]}]})"}) {
    Decoded d = Json(body);
    EXPECT_TRUE(d.st.ok()) << body << ": " << d.st.ToString();
    EXPECT_TRUE(d.p.streams.empty()) << body;
  }
}

TEST(DecodeOtlp, ResourcesWithTheSameLabelsShareAStream) {
  std::string body = Request(Attr("service.name", "a") + Attr("other", "1"), Record(1, AnyStr("x"))) +
                     Request(Attr("service.name", "a") + Attr("other", "2"), Record(2, AnyStr("y"))) +
                     Request(Attr("service.name", "b"), Record(3, AnyStr("z")));
  Decoded d = Proto(body);
  ASSERT_TRUE(d.st.ok()) << d.st.ToString();
  ASSERT_EQ(d.p.streams.size(), 2u);
  EXPECT_EQ(d.p.streams[0].entries.size(), 2u);
  EXPECT_EQ(d.p.streams[0].entries[1].metadata, R"({"other":"2"})");
}

// One rule for every format (docs/push-formats.md, "Invalid UTF-8").
TEST(DecodeOtlp, InvalidUtf8BecomesReplacementCharactersInBothEncodings) {
  Decoded proto = Proto(Request(Attr("service.name", "svc\xff"), Record(5, AnyStr("a\xffz"))));
  ASSERT_TRUE(proto.st.ok()) << proto.st.ToString();
  ASSERT_EQ(proto.p.streams.size(), 1u);
  EXPECT_EQ(proto.p.streams[0].labels, (Labels{{"service_name", "svc\xef\xbf\xbd"}}));
  EXPECT_EQ(proto.p.streams[0].entries[0].line, "a\xef\xbf\xbdz");
  Decoded json = Json(
      "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"5\",\"body\":{\"stringValue\":\"a\xffz\"}}]}]}]}");
  ASSERT_TRUE(json.st.ok()) << json.st.ToString();
  EXPECT_EQ(json.p.streams[0].entries[0].line, "a\xef\xbf\xbdz");
}

TEST(DecodeOtlp, RejectsGarbage) {
  auto check_proto = [](const std::string& body) {
    SCOPED_TRACE(testing::PrintToString(body));
    Decoded d = Proto(body);
    EXPECT_EQ(d.st.code(), Code::kInvalidArgument) << d.st.ToString();
  };
  check_proto("\x0a\x05" "abc");                       // length past the end
  check_proto("\x0a");                                 // truncated length
  check_proto(std::string("\x00", 1));                 // field number 0
  check_proto("\x0b");                                 // a group start (wire type 3)
  check_proto("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");  // an 11-byte varint
  check_proto(Len(1, Len(2, Len(2, Len(5, "\x0a\x09" "x")))));  // a body string past its message
  check_proto("GET / HTTP/1.1\r\n\r\n");

  auto check_json = [](const std::string& body) {
    SCOPED_TRACE(body);
    Decoded d = Json(body);
    EXPECT_EQ(d.st.code(), Code::kInvalidArgument) << d.st.ToString();
  };
  check_json("");
  check_json("[]");
  check_json("{\"resourceLogs\":{}}");
  check_json(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]})");
  check_json(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]})");
  check_json(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":1}}]}]}]})");
  check_json(R"({"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":"b"}]}}]})");
  check_json("{\"resourceLogs\":[");
}

TEST(DecodeOtlp, NestingPastTheLimitIsRejected) {
  std::string v = AnyStr("leaf");
  for (int i = 0; i < kMaxOtlpDepth + 2; i++) v = Len(5, Len(1, v));  // array of array of …
  Decoded d = Proto(Request("", Record(1, v)));
  EXPECT_EQ(d.st.code(), Code::kInvalidArgument);
  std::string j = R"({"stringValue":"leaf"})";
  for (int i = 0; i < kMaxOtlpDepth + 2; i++) j = R"({"arrayValue":{"values":[)" + j + "]}}";
  d = Json(R"({"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":)" + j + "}]}]}]}");
  EXPECT_EQ(d.st.code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace loge::ingest
