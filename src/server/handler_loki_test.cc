// POST /loki/api/v1/push and GET /ready through Server::Handle (no socket).
#include <gtest/gtest.h>
#include <unistd.h>

#include "server/server.h"
#include "server/test_server.h"

namespace loge::server {
namespace {

std::unique_ptr<Server> StartServer(std::string api_key = "") { return StartTestServer(std::move(api_key), "loki"); }

HttpRequest Request(std::string method, std::string path, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.target = r.path;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(HandlerLoki, ReadyIs200UntilShutdownThen503) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto req = Request("GET", "/ready");
  HttpResponse r = s->Handle(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  ASSERT_TRUE(s->Shutdown().ok());
  r = s->Handle(req);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "shutting down\n");
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
}

TEST(HandlerLoki, PushAnswers204OrATextReason) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto ok = Request("POST", "/loki/api/v1/push", R"({"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]})",
                    {{"content-type", "application/json"}, {"x-scope-orgid", "t1"}});
  HttpResponse r = s->Handle(ok);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");

  auto bad = Request("POST", "/loki/api/v1/push", R"({"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]})",
                     {{"content-type", "application/json"}});
  r = s->Handle(bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_EQ(r.body, "streams[0].values[0][0]: timestamp must be a string of unix nanoseconds, got number\n");

  auto garbage = Request("POST", "/loki/api/v1/push", "not snappy");  // no Content-Type: protobuf
  r = s->Handle(garbage);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("snappy"), std::string::npos) << r.body;
}

// Found by logql_fuzz's neighbours: times and steps past int64 once scaled
// to ns (or once aligned to the step) were signed overflows; now each is a
// 400 naming the parameter, or an answer.
TEST(HandlerLoki, QueryTimesAndStepsPastInt64AreA400NotAnOverflow) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto get = [&](const std::string& path, const std::string& query) {
    HttpRequest r = Request("GET", path);
    r.query = query;
    r.target = path + "?" + query;
    return s->Handle(r);
  };
  const std::string q = "query=count_over_time(%7Ba%3D%22b%22%7D%5B1m%5D)";
  for (const std::string& params : {
           q + "&time=9999999999",
           q + "&time=-9999999999",
           q + "&start=9999999999&end=9999999999",
           q + "&start=-9223372036854775808&end=9223372036854775807&step=9000000000",
           q + "&start=9223372036854775000&end=9223372036854775807&step=3600",
           q + "&end=-9223372036854775808&since=99999999h",
           q + "&start=1&end=2&step=1e300",
           q + "&start=1&end=2&step=-1e300",
           q + "&start=1.5&end=1e300.5",
       }) {
    SCOPED_TRACE(params);
    const bool instant = params.find("time=") != std::string::npos;
    HttpResponse r = get(instant ? "/loki/api/v1/query" : "/loki/api/v1/query_range", params);
    EXPECT_TRUE(r.status == 400 || r.status == 200) << r.status << " " << r.body;
  }
  HttpResponse r = get("/loki/api/v1/query", q + "&time=9999999999");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("out of range"), std::string::npos) << r.body;
  r = get("/loki/api/v1/query_range", q + "&start=9223372036854775000&end=9223372036854775807&step=3600");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("out of range"), std::string::npos) << r.body;

  auto post = [&](const std::string& body) {
    HttpRequest r = Request("POST", "/api/v1/query", body, {{"content-type", "application/json"}});
    return s->Handle(r);
  };
  for (const char* body : {
           R"j({"query":"count_over_time({a=\"b\"}[1m])","start":-9223372036854775807,"end":9223372036854775807,"step":"3000000000000000000"})j",
           R"j({"query":"count_over_time({a=\"b\"}[1m])","end":-9223372036854775807})j",
           R"j({"query":"count_over_time({a=\"b\"}[1m])","start":9223372036854775000,"end":9223372036854775807,"step":3600})j",
           R"j({"query":"count_over_time({a=\"b\"}[1m])","start":1,"end":9223372036854775807,"instant":true})j",
       }) {
    SCOPED_TRACE(body);
    r = post(body);
    EXPECT_EQ(r.status, 400) << r.body;
  }
}

HttpRequest Get(const std::string& path, const std::string& query = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r = Request("GET", path, "", std::move(headers));
  r.query = query;
  r.target = query.empty() ? path : path + "?" + query;
  return r;
}

TEST(HandlerLoki, GrafanaHealthCheckGetsOneSampleOfTwo) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto req = Get("/loki/api/v1/query", "query=vector(1)%2Bvector(1)&time=4000000000&direction=backward");
  HttpResponse r = s->Handle(req);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("resultType":"vector","result":[{"metric":{},"value":[4000000000,"2"]}])"), std::string::npos)
      << r.body;
}

TEST(HandlerLoki, LogLimitAboveTheCapIsA400) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto req = Get("/loki/api/v1/query_range", "query=%7Ba%3D%22b%22%7D&limit=5001");
  HttpResponse r = s->Handle(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)\n");
  req = Get("/loki/api/v1/query_range", "query=%7Ba%3D%22b%22%7D&limit=5000&direction=FORWARD");
  EXPECT_EQ(s->Handle(req).status, 200);
}

TEST(HandlerLoki, EveryLokiReadEndpointNeedsTheKeyAndTheTenantIsIgnored) {
  auto s = StartServer("sekret");
  ASSERT_NE(s, nullptr);
  for (const char* path : {"/loki/api/v1/query_range", "/loki/api/v1/query", "/loki/api/v1/labels",
                           "/loki/api/v1/label/app/values", "/loki/api/v1/label/__stream_shard__/values",
                           "/loki/api/v1/series", "/loki/api/v1/index/stats", "/loki/api/v1/index/volume",
                           "/loki/api/v1/index/volume_range", "/loki/api/v1/drilldown-limits",
                           "/loki/api/v1/format_query", "/loki/api/v1/status/buildinfo", "/loki/api/v1/detected_labels",
                           "/loki/api/v1/detected_fields", "/loki/api/v1/detected_field/status/values",
                           "/loki/api/v1/patterns", "/loki/api/v1/nope"}) {
    SCOPED_TRACE(path);
    // A log query is refused on /query (Loki 3): ask that one for a metric.
    const std::string q = std::string_view(path).ends_with("/query") ? "query=vector(1)" : "query=%7Ba%3D%22b%22%7D";
    auto no_key = Get(path, q, {{"x-scope-orgid", "tenant-1"}});
    HttpResponse r = s->Handle(no_key);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_NE(r.body.find(R"("status":"error")"), std::string::npos) << r.body;
    auto wrong = Get(path, q, {{"authorization", "Bearer nope"}});
    EXPECT_EQ(s->Handle(wrong).status, 401);
    auto right = Get(path, q, {{"authorization", "Bearer sekret"}, {"x-scope-orgid", "t"}});
    r = s->Handle(right);
    EXPECT_EQ(r.status, std::string_view(path).ends_with("nope") ? 404 : 200) << r.body;
  }
  // The push stays open.
  auto push = Request("POST", "/loki/api/v1/push", R"({"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]})",
                      {{"content-type", "application/json"}});
  EXPECT_EQ(s->Handle(push).status, 204);
}

TEST(HandlerLoki, UnknownApiPathsAreJson404sNeverTheUiOr405) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  for (const char* path : {"/loki/api/v1/nope", "/loki/nope", "/loki", "/api/v2/push", "/otlp/v2/logs",
                           "/prometheus/api/v1/rules"}) {
    for (const char* method : {"GET", "POST", "PUT"}) {
      SCOPED_TRACE(std::string(method) + " " + path);
      auto req = Request(method, path);
      HttpResponse r = s->Handle(req);
      EXPECT_EQ(r.status, 404) << r.body;
      EXPECT_EQ(r.content_type, "application/json");
      EXPECT_NE(r.body.find("no route for"), std::string::npos) << r.body;
    }
  }
  auto ui = Get("/some/ui/route");
  HttpResponse r = s->Handle(ui);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.content_type.find("text/html"), std::string::npos);
}

TEST(HandlerLoki, LabelsSeriesAndStatsAnswerFromThePushedStreams) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto push = Request("POST", "/loki/api/v1/push",
                      R"({"streams":[{"stream":{"app":"web","env":"prod"},"values":[["1767225600000000000","hello"],["1767225601000000000","world!"]]},)"
                      R"({"stream":{"job":"nginx"},"values":[["1767225602000000000","GET /"]]}]})",
                      {{"content-type", "application/json"}});
  ASSERT_EQ(s->Handle(push).status, 204);
  const std::string window = "start=2026-01-01T00:00:00Z&end=1767229200";
  auto get = [&](const std::string& path, const std::string& query) {
    HttpRequest req = Get(path, query);
    return s->Handle(req);
  };
  HttpResponse r;
  r = get("/loki/api/v1/labels", window);
  EXPECT_EQ(r.body, R"({"status":"success","data":["app","env","job","service_name"]})");
  r = get("/loki/api/v1/label/service_name/values", window);
  EXPECT_EQ(r.body, R"({"status":"success","data":["nginx","web"]})");
  r = get("/loki/api/v1/label/detected_level/values", window);
  EXPECT_EQ(r.body, R"({"status":"success"})");
  r = get("/loki/api/v1/series", window + "&match=%7Bjob%3D%22nginx%22%7D");
  EXPECT_EQ(r.body, R"({"status":"success","data":[{"job":"nginx","service_name":"nginx"}]})");
  r = get("/loki/api/v1/series", window + "&match[]=%7Bjob%3D%22nginx%22%7D+%7C+json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "only label matchers are supported\n");
  r = get("/loki/api/v1/index/stats", window + "&query=%7Bapp%3D%22web%22%7D");
  EXPECT_EQ(r.body, R"({"streams":1,"chunks":1,"bytes":11,"entries":2})");
  r = get("/loki/api/v1/index/volume", window + "&query=%7Bservice_name%3D~%22.%2B%22%7D");
  EXPECT_EQ(r.body, R"({"status":"success","data":{"resultType":"vector","result":[)"
                    R"({"metric":{"service_name":"web"},"value":[1767229200,"11"]},)"
                    R"({"metric":{"service_name":"nginx"},"value":[1767229200,"5"]}]}})");
}

// Found by http_request_fuzz's inputs at the ends of int64 (UBSan): the
// handlers computed end - 1, end - start, an hour before end and a step's
// stamp in int64, which overflowed. In a release build the wrapped values
// answered wrongly: [MIN, MIN) returned the whole store, the whole of int64
// was "too many steps" (400), and an end at MIN put the start after it (400).
TEST(HandlerLoki, WindowsAtTheEndsOfInt64AreAnsweredWithoutOverflow) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto push = Request("POST", "/loki/api/v1/push",
                      R"({"streams":[{"stream":{"app":"web"},"values":[["1767225600000000000","hello"]]}]})",
                      {{"content-type", "application/json"}});
  ASSERT_EQ(s->Handle(push).status, 204);
  auto get = [&](const std::string& path, const std::string& query) {
    HttpRequest req = Get(path, query);
    return s->Handle(req);
  };
  const std::string min = "-9223372036854775808", max = "9223372036854775807";
  const std::string sel = "query=%7Bapp%3D%22web%22%7D";
  // [MIN, MIN) holds nothing, for a log query and for the detected fields.
  HttpResponse r = get("/loki/api/v1/query_range", sel + "&start=" + min + "&end=" + min);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("hello"), std::string::npos) << r.body;
  r = get("/loki/api/v1/detected_fields", sel + "&start=" + min + "&end=" + min);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("detected_level"), std::string::npos) << r.body;
  // The whole of int64 is one instant volume...
  r = get("/loki/api/v1/index/volume", sel + "&start=" + min + "&end=" + max);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("value":[9223372036.854,"5"])"), std::string::npos) << r.body;
  // ... or 19 steps of 10^18 ns: the line's (the 11th) is stamped at
  // MIN + 11 * 10^18 - 1 ms, which fits although 11 * 10^18 does not.
  r = get("/loki/api/v1/index/volume_range", sel + "&start=" + min + "&end=" + max + "&step=1000000000");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("values":[[1776627963.144,"5"]])"), std::string::npos) << r.body;
  // loge's own volume: an end at MIN and no start is an empty window at MIN.
  r = get("/api/v1/volume", "end=" + min);
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace loge::server
