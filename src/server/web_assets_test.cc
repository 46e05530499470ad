#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "server/handler_explore.h"

namespace loge::server {
namespace {

HttpRequest Get(std::string path, std::string accept_encoding = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.target = r.path;
  if (!accept_encoding.empty()) r.headers.emplace_back("accept-encoding", std::move(accept_encoding));
  return r;
}

std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(WebAssets, AcceptsGzipHonoursQValuesAndWildcards) {
  auto check = [](std::string_view header, bool want) {
    SCOPED_TRACE(std::string(header));
    EXPECT_EQ(AcceptsGzip(header), want);
  };
  check("gzip", true);
  check("gzip, deflate, br", true);
  check("br;q=1.0, GZIP;q=0.5", true);
  check("x-gzip", true);
  check("*", true);
  check("", false);
  check("identity", false);
  check("br", false);
  check("gzip;q=0", false);
  check("gzip;q=0.0, *", false);
  check("*;q=0", false);
  check("deflate, *;q=0.1", true);
}

TEST(WebAssets, ContentTypesByExtension) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/app-ABC.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/app-ABC.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("noext"), "application/octet-stream");
}

TEST(WebAssets, EmbeddedTableIsSortedAndHasTheBundle) {
  auto files = EmbeddedFiles();
  for (size_t i = 1; i < files.size(); i++) EXPECT_LT(std::string_view(files[i - 1].path), files[i].path);
  if (files.empty()) GTEST_SKIP() << "built without webdist/";
  ASSERT_NE(FindEmbeddedFile("index.html"), nullptr);
  ASSERT_NE(FindEmbeddedFile("index.html.gz"), nullptr);
  EXPECT_EQ(FindEmbeddedFile("nope.html"), nullptr);
}

TEST(WebAssets, UnknownPathsFallBackToIndexAndAssetsAreImmutable) {
  if (EmbeddedFiles().empty()) GTEST_SKIP() << "built without webdist/";
  HttpResponse index = ServeUi(Get("/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(index, "Cache-Control"), "no-cache");
  EXPECT_NE(index.body.find("<div id=\"app\">"), std::string::npos);
  for (const char* path : {"/some/route", "/index.html.gz", "/assets/missing.js", "/..%2f..%2fetc/passwd"}) {
    SCOPED_TRACE(path);
    HttpResponse r = ServeUi(Get(path));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, index.body);
  }
  for (const EmbeddedFile& f : EmbeddedFiles()) {
    std::string_view p = f.path;
    if (!p.starts_with("assets/") || p.ends_with(".gz")) continue;
    SCOPED_TRACE(f.path);
    HttpResponse plain = ServeUi(Get("/" + std::string(p)));
    EXPECT_EQ(HeaderOf(plain, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
    EXPECT_EQ(plain.body.size(), f.size);
    HttpResponse gz = ServeUi(Get("/" + std::string(p), "gzip"));
    EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
    EXPECT_EQ(HeaderOf(gz, "Vary"), "Accept-Encoding");
    EXPECT_LT(gz.body.size(), plain.body.size());
  }
}

TEST(WebAssets, OnlyGetAndHeadAreAllowed) {
  HttpRequest post = Get("/");
  post.method = "POST";
  HttpResponse r = ServeUi(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "GET, HEAD");
  if (EmbeddedFiles().empty()) return;
  HttpRequest head = Get("/");
  head.method = "HEAD";
  HttpResponse h = ServeUi(head);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, ServeUi(Get("/")).body);  // the server sends its length only
}

TEST(ParseQueryString, DecodesPercentEscapesAndPlus) {
  auto r = ParseQueryString("query=%7Bapp%3D%22web%22%7D+%7C%3D+%22a%26b%22&start=1&flag&&empty=");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], (std::pair<std::string, std::string>{"query", R"({app="web"} |= "a&b")"}));
  EXPECT_EQ((*r)[1], (std::pair<std::string, std::string>{"start", "1"}));
  EXPECT_EQ((*r)[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ((*r)[3], (std::pair<std::string, std::string>{"empty", ""}));
}

TEST(ParseQueryString, RejectsMalformedEscapes) {
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "%g1=x"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseQueryString(bad).ok());
  }
}

}  // namespace
}  // namespace loge::server
