// What a connection does with a request's bytes before any handler runs
// (http_request_parse.h): the request's head, the body limit of its pool,
// and the answers to a request that cannot be read.
#include "server/http_request_parse.h"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include <limits>
#include <string>
#include <string_view>

#include "server/server.h"

namespace loge::server {
namespace {

namespace http = boost::beast::http;

// Parses the header of `raw` (the whole of it must be there).
RequestHeader ParseHeader(std::string_view raw) {
  RequestParser p;
  p.header_limit(kMaxHeaderBytes);
  p.body_limit(std::numeric_limits<uint64_t>::max());  // the limits under test apply after the header
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.is_header_done());
  return p.release().base();
}

TEST(HttpRequestParse, HeadSplitsTheTargetAndLowercasesHeaderNames) {
  const HttpRequest r =
      RequestHead(ParseHeader("GET /loki/api/v1/query?query=%7B%7D&limit=5 HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: t\r\n\r\n"));
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/loki/api/v1/query");
  EXPECT_EQ(r.query, "query=%7B%7D&limit=5");
  EXPECT_EQ(r.Header("x-scope-orgid"), "t");
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpRequestParse, AReadHasTheQueryPoolsBodyLimit) {
  ServerOptions o;
  o.http.max_body_bytes = 1 << 20;
  o.max_query_bytes = 2048;
  const HttpServerOptions h = Server::PoolsFor(o);
  auto limit_of = [&](const char* raw) {
    const HttpRequest head = RequestHead(ParseHeader(raw));
    return BodyLimitOf(h, &h.pools[PoolIndexFor(h, head, h.pools.size())]);
  };
  const BodyLimit query = limit_of("POST /loki/api/v1/query_range HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
  EXPECT_EQ(query.bytes, 2048u);
  EXPECT_EQ(query.flag, "--max-query-size");
  const BodyLimit push = limit_of("POST /loki/api/v1/push HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
  EXPECT_EQ(push.bytes, 1u << 20);
  EXPECT_EQ(push.flag, "--max-body-size");
  EXPECT_EQ(BodyLimitOf(h, nullptr).bytes, 1u << 20);  // before the header is read
}

TEST(HttpRequestParse, ADeclaredOversizeBodyIsRefusedBeforeItIsRead) {
  const BodyLimit limit{100, "--max-query-size"};
  auto refused = RefuseDeclaredLength(ParseHeader("POST /api/v1/query HTTP/1.1\r\nContent-Length: 62914560\r\n\r\n"),
                                      limit);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 413);
  EXPECT_NE(refused->body.find("--max-query-size"), std::string::npos);
  EXPECT_FALSE(RefuseDeclaredLength(ParseHeader("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n"), limit));
  EXPECT_FALSE(RefuseDeclaredLength(ParseHeader("GET /x HTTP/1.1\r\n\r\n"), limit));
}

TEST(HttpRequestParse, MalformedRequestsAre400AndAGoneClientGetsNothing) {
  const BodyLimit limit{10, "--max-body-size"};
  auto check = [&](http::error e, int want) {
    SCOPED_TRACE(http::make_error_code(e).message());
    auto a = ReadErrorAnswer(http::make_error_code(e), limit);
    if (want == 0) {
      EXPECT_FALSE(a.has_value());
      return;
    }
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->status, want);
    EXPECT_EQ(a->content_type, "application/json");
  };
  check(http::error::body_limit, 413);
  check(http::error::bad_content_length, 400);
  check(http::error::bad_chunk, 400);
  check(http::error::header_limit, 400);
  check(http::error::end_of_stream, 0);
  EXPECT_FALSE(ReadErrorAnswer(boost::asio::error::connection_reset, limit).has_value());
}

TEST(HttpRequestParse, ErrorAnswersAreJsonEvenWithControlCharacters) {
  const HttpResponse r = HttpErrorResponse(400, "bad \"x\"\n\x01");
  EXPECT_EQ(r.body, "{\"status\":\"error\",\"error\":\"bad \\\"x\\\"\\n\\u0001\"}");
}

}  // namespace
}  // namespace loge::server
