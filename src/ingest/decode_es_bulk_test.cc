#include "ingest/decode_es_bulk.h"

#include <gtest/gtest.h>

#include "ingest/decode_jsonline.h"

namespace loge::ingest {
namespace {

struct Bulk {
  Status st;
  Payload p;
  std::vector<EsBulkItem> items;
};

Bulk Decode(std::string_view body, EsBulkOptions opts = {}, Limits limits = {}) {
  Bulk b;
  b.st = DecodeEsBulk(body, opts, limits, /*now_ns=*/99, &b.p, &b.items);
  return b;
}

TEST(DecodeEsBulk, FilebeatDocumentsBecomeEntriesWithStreamFieldsAsLabels) {
  Bulk b = Decode(
      R"({"create":{"_index":"filebeat-8.11.0"}})"
      "\n"
      R"({"@timestamp":"2024-01-02T03:04:05.123Z","message":"GET /a 200","host":{"name":"web-1"},)"
      R"("log":{"file":{"path":"/var/log/a.log"},"offset":12},"tags":["x","y"],"ok":true,"ratio":0.5,"none":null})"
      "\n"
      R"({"index":{"_index":"filebeat-8.11.0","_id":"abc"}})"
      "\n"
      R"({"@timestamp":1704164645123,"message":"second","service":{"name":"api"},"host.name":"web-1"})"
      "\n");
  ASSERT_TRUE(b.st.ok()) << b.st.ToString();
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].action, "create");
  EXPECT_EQ(b.items[0].index, "filebeat-8.11.0");
  EXPECT_EQ(b.items[0].status, 201);
  EXPECT_EQ(b.items[1].id, "abc");
  ASSERT_EQ(b.p.streams.size(), 2u);
  EXPECT_EQ(b.p.streams[0].labels, (Labels{{"host_name", "web-1"}}));
  const Entry& e = b.p.streams[0].entries[0];
  EXPECT_EQ(e.ts, 1704164645123000000);
  EXPECT_EQ(e.line, "GET /a 200");
  EXPECT_EQ(e.metadata,
            R"({"log_file_path":"/var/log/a.log","log_offset":"12","tags":"[\"x\",\"y\"]","ok":"true","ratio":"0.5"})");
  EXPECT_EQ(b.p.streams[1].labels, (Labels{{"host_name", "web-1"}, {"service_name", "api"}}));
  EXPECT_EQ(b.p.streams[1].entries[0].ts, 1704164645123000000);
  EXPECT_EQ(b.p.streams[1].entries[0].metadata, "");
}

TEST(DecodeEsBulk, MessageFallsBackToLogThenMsgThenTheWholeDocument) {
  auto check = [](std::string_view doc, std::string_view want_line) {
    SCOPED_TRACE(doc);
    Bulk b = Decode(std::string("{\"index\":{}}\n") + std::string(doc) + "\n");
    ASSERT_TRUE(b.st.ok()) << b.st.ToString();
    ASSERT_EQ(b.p.streams.size(), 1u);
    EXPECT_EQ(b.p.streams[0].entries[0].line, want_line);
    EXPECT_EQ(b.p.streams[0].labels, (Labels{{"service_name", "unknown_service"}}));
  };
  check(R"({"message":"m","log":"l","msg":"x"})", "m");
  check(R"({"log":"l","msg":"x"})", "l");
  check(R"({"msg":"x"})", "x");
  check(R"({"message":{"a":1}})", R"({"a":1})");
  check(R"({"other":"o"} )", R"({"other":"o"})");
}

TEST(DecodeEsBulk, UnstorableDocumentsAndUnsupportedActionsFailAlone) {
  Limits limits;
  limits.max_line_bytes = 8;
  Bulk b = Decode(
      "{\"index\":{}}\n{\"message\":\"fine\"}\n"
      "{\"delete\":{\"_id\":\"1\"}}\n"
      "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n"
      "{\"index\":{}}\nnot json\n"
      "{\"index\":{}}\n[1,2]\n"
      "{\"index\":{}}\n{\"message\":\"x\",\"@timestamp\":\"yesterday\"}\n"
      "{\"create\":{}}\n{\"message\":\"far too long\"}\n",
      {}, limits);
  ASSERT_TRUE(b.st.ok()) << b.st.ToString();
  ASSERT_EQ(b.items.size(), 7u);
  std::vector<int> statuses;
  for (const auto& i : b.items) statuses.push_back(i.status);
  EXPECT_EQ(statuses, (std::vector<int>{201, 400, 400, 400, 400, 400, 400}));
  EXPECT_NE(b.items[5].error_reason.find("cannot read time \"yesterday\""), std::string::npos) << b.items[5].error_reason;
  EXPECT_NE(b.items[6].error_reason.find("exceeds the maximum of 8"), std::string::npos) << b.items[6].error_reason;
  ASSERT_EQ(b.p.streams.size(), 1u);
  EXPECT_EQ(b.p.streams[0].entries.size(), 1u);
}

TEST(DecodeEsBulk, FieldOptionsChooseMessageTimeAndLabels) {
  EsBulkOptions o;
  o.doc.message_fields = {"event.original"};
  o.doc.time_field = "ts";
  o.doc.stream_fields = {"kubernetes.pod"};
  Bulk b = Decode("{\"index\":{}}\n{\"event\":{\"original\":\"raw\"},\"ts\":\"2024-01-02 03:04:05+0100\","
                  "\"kubernetes\":{\"pod\":\"p-1\"},\"message\":\"kept as metadata\"}\n",
                  o);
  ASSERT_TRUE(b.st.ok()) << b.st.ToString();
  const Entry& e = b.p.streams[0].entries[0];
  EXPECT_EQ(e.line, "raw");
  EXPECT_EQ(e.ts, 1704161045000000000);
  EXPECT_EQ(e.metadata, R"({"message":"kept as metadata"})");
  EXPECT_EQ(b.p.streams[0].labels, (Labels{{"kubernetes_pod", "p-1"}}));
}

TEST(DecodeEsBulk, RejectsGarbage) {
  auto check = [](std::string_view body) {
    SCOPED_TRACE(body);
    Bulk b = Decode(body);
    EXPECT_EQ(b.st.code(), Code::kInvalidArgument) << b.st.ToString();
  };
  check("not json\n");
  check("{\"index\":{}}\n");                      // no source
  check("{\"upsert\":{}}\n{}\n");                 // unknown action
  check("{\"index\":{},\"create\":{}}\n{}\n");    // two actions in one line
  check("{\"index\":\"x\"}\n{}\n");               // action is not an object
  check("[]\n");
  Bulk empty = Decode("\n\n");
  EXPECT_TRUE(empty.st.ok());
  EXPECT_TRUE(empty.items.empty());
}

TEST(DecodeJsonLines, VictoriaLogsParametersPickMessageTimeAndStream) {
  DocumentOptions o = DefaultJsonLineOptions();
  o.stream_fields = {"app", "env"};
  o.ignore_fields = {"secret"};
  Payload p;
  Status st = DecodeJsonLines(
      "{\"_msg\":\"one\",\"_time\":\"2024-01-02T03:04:05.5Z\",\"app\":\"web\",\"env\":\"prod\",\"user\":\"ann\","
      "\"secret\":\"s\"}\n\r\n"
      "{\"_msg\":\"two\",\"_time\":1704164645,\"app\":\"web\",\"env\":\"prod\"}\n"
      "{\"_msg\":\"three\",\"app\":\"db\"}",
      o, Limits{}, 7, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(p.streams.size(), 2u);
  EXPECT_EQ(p.streams[0].labels, (Labels{{"app", "web"}, {"env", "prod"}}));
  ASSERT_EQ(p.streams[0].entries.size(), 2u);
  EXPECT_EQ(p.streams[0].entries[0].ts, 1704164645500000000);
  EXPECT_EQ(p.streams[0].entries[0].metadata, R"({"user":"ann"})");
  EXPECT_EQ(p.streams[0].entries[1].ts, 1704164645000000000);
  EXPECT_EQ(p.streams[1].entries[0].ts, 7);
  EXPECT_EQ(p.streams[1].entries[0].line, "three");
}

// One rule for every format (docs/push-formats.md, "Invalid UTF-8"): the
// JSON-based ones replace invalid UTF-8 before parsing, lines stay lines.
TEST(DecodeJsonLines, InvalidUtf8BecomesReplacementCharacters) {
  Payload p;
  Status st = DecodeJsonLines("{\"_msg\":\"a\xffz\"}\n{\"_msg\":\"second \xc3\"}", DefaultJsonLineOptions(), Limits{},
                              1, &p);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(p.streams.size(), 1u);
  ASSERT_EQ(p.streams[0].entries.size(), 2u);
  EXPECT_EQ(p.streams[0].entries[0].line, "a\xef\xbf\xbdz");
  EXPECT_EQ(p.streams[0].entries[1].line, "second \xef\xbf\xbd");
}

TEST(DecodeEsBulk, InvalidUtf8BecomesReplacementCharacters) {
  Bulk b = Decode("{\"create\":{}}\n{\"message\":\"a\xffz\",\"app\":\"w\xfe\"}\n{\"index\":{}}\n{\"message\":\"ok\"}\n");
  ASSERT_TRUE(b.st.ok()) << b.st.ToString();
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].status, 201);
  EXPECT_EQ(b.items[1].status, 201);
  ASSERT_GE(b.p.streams.size(), 1u);
  bool found = false;
  for (const auto& s : b.p.streams) {
    for (const auto& e : s.entries) found |= e.line == "a\xef\xbf\xbdz";
  }
  EXPECT_TRUE(found);
}

TEST(DecodeJsonLines, RejectsGarbageNamingTheLine) {
  auto check = [](std::string_view body, std::string_view want) {
    SCOPED_TRACE(body);
    Payload p;
    Status st = DecodeJsonLines(body, DefaultJsonLineOptions(), Limits{}, 1, &p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_NE(st.message().find(want), std::string::npos) << st.message();
  };
  check("{\"_msg\":\"ok\"}\n{\"_msg\":", "line 2: malformed JSON");
  check("\n\n[1]", "line 3: want a JSON object");
  check("{\"_msg\":\"a\",\"_time\":\"noon\"}", "line 1: field \"_time\": cannot read time");
  check("{\"_msg\":\"a\",\"_time\":true}", "cannot read time");
  check("", "no JSON lines");
  check(" \n\t\n", "no JSON lines");
}

}  // namespace
}  // namespace loge::ingest
