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

}  // namespace
}  // namespace loge::server
