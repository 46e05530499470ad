// POST /loki/api/v1/push and GET /ready through Server::Handle (no socket).
#include <gtest/gtest.h>
#include <unistd.h>

#include "server/server.h"

namespace loge::server {
namespace {

std::unique_ptr<Server> StartServer() {
  std::string dir = ::testing::TempDir() + "/lokiXXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  ServerOptions o;
  o.store.output_path = dir;
  o.http.address = "127.0.0.1";
  o.http.port = 0;
  o.http.io_threads = 1;
  o.http.handler_threads = 1;
  auto s = Server::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

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

}  // namespace
}  // namespace loge::server
