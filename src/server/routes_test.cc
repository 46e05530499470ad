// The route table (routes.h): every registered route × no / wrong / right
// API key, and a wrong method, by iterating Server::Routes() itself, so a
// route added later is covered without touching this file.
#include "server/routes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "server/server.h"
#include "server/test_server.h"

namespace loge::server {
namespace {

constexpr char kKey[] = "s3cret";

std::unique_ptr<Server> StartServer() { return StartTestServer(kKey, "routes"); }

// A concrete path for a pattern: its parameter becomes "x" ("/x" in a subtree).
std::string Example(std::string_view pattern) {
  const size_t open = pattern.find('{');
  if (open == std::string_view::npos) return std::string(pattern);
  const size_t close = pattern.find('}', open);
  const bool subtree = pattern[open + 1] == '/';
  return std::string(pattern.substr(0, open)) + (subtree ? "/x" : "x") + std::string(pattern.substr(close + 1));
}

std::string FirstMethod(std::string_view methods) {
  if (methods == "*") return "GET";
  return std::string(methods.substr(0, methods.find(',')));
}

// A request the route takes: its example path, its first method, and what
// a route's `when` looks for (an Elasticsearch client's Accept).
HttpRequest RequestFor(const Route& r, std::string method, std::string authorization) {
  HttpRequest req;
  req.method = std::move(method);
  req.path = Example(r.pattern);
  req.target = req.path;
  req.headers.emplace_back("accept", "application/json");
  req.headers.emplace_back("x-scope-orgid", "tenant-1");  // accepted and ignored
  if (!authorization.empty()) req.headers.emplace_back("authorization", std::move(authorization));
  return req;
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Routes, PatternsMatchTheirParameter) {
  EXPECT_EQ(MatchPattern("/ready", "/ready"), std::string_view());
  EXPECT_FALSE(MatchPattern("/ready", "/ready/"));
  EXPECT_EQ(MatchPattern("/loki/api/v1/label/{name}/values", "/loki/api/v1/label/app/values"), "app");
  EXPECT_FALSE(MatchPattern("/loki/api/v1/label/{name}/values", "/loki/api/v1/label//values"));
  EXPECT_FALSE(MatchPattern("/loki/api/v1/label/{name}/values", "/loki/api/v1/label/a/b/values"));
  EXPECT_EQ(MatchPattern("/api/v1/label/{name...}/values", "/api/v1/label/a/b/values"), "a/b");
  EXPECT_EQ(MatchPattern("/insert/elasticsearch{/path...}", "/insert/elasticsearch"), "");
  EXPECT_EQ(MatchPattern("/insert/elasticsearch{/path...}", "/insert/elasticsearch/_license"), "/_license");
  EXPECT_FALSE(MatchPattern("/insert/elasticsearch{/path...}", "/insert/elasticsearchx"));
  EXPECT_FALSE(MatchPattern("/{index...}/_bulk", "/_bulk"));
}

// Each route's example path reaches that route, not an earlier one that
// shadows it.
TEST(Routes, EveryRouteIsReachable) {
  for (const Route& r : Server::Routes()) {
    HttpRequest req = RequestFor(r, FirstMethod(r.methods), "");
    RouteMatch m = FindRoute(Server::Routes(), req);
    EXPECT_EQ(m.route, &r) << r.pattern << " is shadowed by " << (m.route ? m.route->pattern : "nothing");
  }
}

TEST(Routes, EveryRouteUnderNoWrongAndRightKey) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  const std::string right = std::string("Bearer ") + kKey;
  int keyed = 0, open = 0;
  for (const Route& r : Server::Routes()) {
    SCOPED_TRACE(std::string(r.pattern));
    for (const std::string& auth : {std::string(), std::string("Bearer wrong"), right}) {
      SCOPED_TRACE("authorization: " + auth);
      HttpRequest req = RequestFor(r, FirstMethod(r.methods), auth);
      HttpResponse resp = s->Handle(req);
      if (r.access == Access::kApiKey && auth != right) {
        EXPECT_EQ(resp.status, 401) << resp.body;
        EXPECT_EQ(Header(resp, "WWW-Authenticate"), "Bearer realm=\"loge\"");
        EXPECT_NE(resp.body.find(auth.empty() ? "missing API key" : "wrong API key"), std::string::npos)
            << resp.body;
      } else {
        // Past the gate: the handler answers (its own 2xx/4xx), never 401/405.
        EXPECT_NE(resp.status, 401) << resp.body;
        EXPECT_NE(resp.status, 405) << resp.body;
      }
    }
    (r.access == Access::kApiKey ? keyed : open)++;
  }
  EXPECT_GT(keyed, 20);  // the read API
  EXPECT_GT(open, 8);    // pushes and probes
}

TEST(Routes, WrongMethodIs405WithTheRoutesMethodsAfterTheKey) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  const std::string right = std::string("Bearer ") + kKey;
  for (const Route& r : Server::Routes()) {
    if (r.methods == "*") continue;
    SCOPED_TRACE(std::string(r.pattern));
    // A method the route does not take (the delete API takes DELETE).
    const std::string wrong = r.methods.find("DELETE") == std::string_view::npos ? "DELETE" : "PATCH";
    HttpRequest req = RequestFor(r, wrong, right);
    if (FindRoute(Server::Routes(), req).route != &r) continue;  // `when` refuses DELETE (then the UI)
    HttpResponse resp = s->Handle(req);
    EXPECT_EQ(resp.status, 405) << resp.body;
    EXPECT_EQ(Header(resp, "Allow"), r.methods);
    if (r.access == Access::kApiKey) {  // without the key: 401 first, so nothing about the path leaks
      HttpRequest nokey = RequestFor(r, wrong, "");
      EXPECT_EQ(s->Handle(nokey).status, 401);
    }
  }
}

TEST(Routes, UnknownApiPathsAreJson404AndOtherPathsTheUi) {
  auto s = StartServer();
  ASSERT_NE(s, nullptr);
  auto get = [&](std::string path, std::string auth) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.target = path;
    if (!auth.empty()) req.headers.emplace_back("authorization", auth);
    return s->Handle(req);
  };
  const std::string right = std::string("Bearer ") + kKey;
  for (std::string p : {"/api/v1/nope", "/loki/api/v1/nope", "/loki/api/v1/label/a/b/values"}) {
    EXPECT_EQ(get(p, "").status, 401) << p;
    HttpResponse r = get(p, right);
    EXPECT_EQ(r.status, 404) << p;
    EXPECT_NE(r.body.find("\"status\":\"error\""), std::string::npos) << r.body;
  }
  for (std::string p : {"/otlp/v2/logs", "/prometheus/api/v1/query", "/loki", "/api"}) {
    HttpResponse r = get(p, "");
    EXPECT_EQ(r.status, 404) << p;
    EXPECT_NE(r.body.find("\"status\":\"error\""), std::string::npos) << r.body;
  }
  HttpResponse ui = get("/explore/some/client/route", "");
  EXPECT_EQ(ui.status, 200);
  EXPECT_EQ(ui.content_type.rfind("text/html", 0), 0u) << ui.content_type;
}

}  // namespace
}  // namespace loge::server
