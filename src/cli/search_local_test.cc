// GET /api/v1/search/plan and `loge search --local` against a real server
// (HTTP on a port) whose catalog holds a remote segment in a real MinIO.
// The remote row is written into catalog.sqlite before the server starts,
// as the uploader would leave it (tier = remote, path = the public URL).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>

#include "cli/search.h"
#include "server/remote_test_util.h"
#include "server/server.h"
#include "storage/catalog.h"
#include "storage/zstd_vfs.h"
#include "tier/remote_reads.h"

namespace loge::cli {
namespace {

using testutil::Segment;

constexpr const char* kApiKey = "plan-test-key";
constexpr const char* kKey = "node-1/segment-1.sqlite.zst";

server::HttpRequest Get(const std::string& target) {
  server::HttpRequest r;
  r.method = "GET";
  r.target = target;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.headers = {{"authorization", std::string("Bearer ") + kApiKey}};
  return r;
}

class SearchLocalMinio : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cold_.Start("search-local", kKey, 8, 2000);
  }
  static void TearDownTestSuite() { cold_.Stop(); }

  void SetUp() override {
    if (cold_.binary.empty()) GTEST_SKIP() << "MinIO is not installed: run scripts/minio.sh install";
    ASSERT_TRUE(cold_.start.ok()) << cold_.start.ToString();
    ASSERT_TRUE(tier::EnableRemoteReads({}).ok());
    storage::TEST_ClearRemoteCache();
  }
  void TearDown() override {
    if (server_) (void)server_->Shutdown();
    server_.reset();
    if (!out_.empty()) std::filesystem::remove_all(out_);
  }

  // A server whose catalog holds the remote segment, with `hot` rows pushed
  // into its head: app0..app3 lines newer than the segment's. adopted: the
  // row as reconcile makes it from a bucket listing (bounds and bytes only:
  // label keys unknown, no filters, rows 0).
  void StartServer(tier::ObjectStore* store, bool adopted = false) {
    out_ = testutil::TempDir("search-local-out");
    {
      auto catalog = storage::Catalog::Open(out_);
      ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
      storage::CatalogEntry e = cold_.segment->entry;
      e.tier = storage::Tier::kRemote;
      e.path = cold_.store->PublicUrl(kKey);
      if (adopted) {
        e.label_keys.clear();
        e.label_keys_known = false;
        e.token_filter.clear();
        e.trigram_filter.clear();
        e.rows = 0;
      }
      ASSERT_TRUE((*catalog)->Add(&e).ok());
    }
    server::ServerOptions o;
    o.api_key = kApiKey;
    o.store.output_path = out_;
    o.http.address = "127.0.0.1";
    o.http.port = 0;
    o.object_store = store;
    auto s = server::Server::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    // Hot rows: 30 per app for app0..app3, just after the segment's last row.
    std::string body = R"({"streams":[)";
    for (int app = 0; app < 4; app++) {
      if (app > 0) body += ",";
      body += R"({"stream":{"app":"app)" + std::to_string(app) + R"(","env":"test"},"values":[)";
      for (int i = 0; i < 30; i++) {
        if (i > 0) body += ",";
        int64_t ts = cold_.segment->entry.max_ts + 1000 + i * 10 + app;
        body += "[\"" + std::to_string(ts) + "\",\"hot app" + std::to_string(app) + " req=" + std::to_string(i) + "\"]";
      }
      body += "]}";
    }
    body += "]}";
    server::HttpRequest push;
    push.method = "POST";
    push.path = push.target = "/api/v1/push";
    push.headers = {{"content-type", "application/json"}};
    push.body = body;
    auto r = server_->Handle(push);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  server::HttpResponse Call(const std::string& target) {
    server::HttpRequest req = Get(target);
    return server_->Handle(req);
  }

  // Runs `loge search` in this process and returns what it printed.
  std::string Search(const std::string& selector, int limit, bool local, std::string extra_start = "",
                     std::string extra_end = "") {
    SearchFlags f;
    f.selector = selector;
    f.addr = "http://127.0.0.1:" + std::to_string(server_->port());
    f.limit = limit;
    f.output = "json";
    f.api_key = kApiKey;
    f.local = local;
    f.start = extra_start;
    f.end = extra_end;
    ::testing::internal::CaptureStdout();
    int rc = RunSearch(f);
    std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, 0) << selector;
    return out;
  }

  static inline testutil::ColdBucket cold_;
  std::string out_;
  std::unique_ptr<server::Server> server_;
};

TEST_F(SearchLocalMinio, PlanListsPresignedSegmentsAndTheServersOwnRows) {
  StartServer(cold_.store);
  auto r = Call("/api/v1/search/plan?query=%7Bapp%3D%22app2%22%7D&limit=100");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::parser p;
  auto doc = p.parse(r.body);
  ASSERT_EQ(doc.error(), simdjson::SUCCESS);
  simdjson::dom::array hot = doc["hot"].get_array().value();
  EXPECT_EQ(hot.size(), 30u);  // the head's app2 rows
  simdjson::dom::array segs = doc["segments"].get_array().value();
  ASSERT_EQ(segs.size(), 1u);
  std::string_view url = segs.at(0)["url"].get_string().value();
  EXPECT_EQ(url.rfind(cold_.store->PublicUrl(kKey) + "?X-Amz-Algorithm=AWS4-HMAC-SHA256", 0), 0u) << url;
  EXPECT_NE(url.find("X-Amz-Signature="), std::string_view::npos);
  EXPECT_EQ(segs.at(0)["min_ts"].get_int64().value(), cold_.segment->entry.min_ts);
  EXPECT_EQ(segs.at(0)["max_ts"].get_int64().value(), cold_.segment->entry.max_ts);
  EXPECT_EQ(segs.at(0)["bytes"].get_uint64().value(), cold_.segment->entry.bytes);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t expires = doc["expires_at"].get_int64().value();
  EXPECT_GE(expires, now + 890);
  EXPECT_LE(expires, now + 910);
  EXPECT_FALSE(doc["partial"].get_bool().value());

  // Without the API key: 401, like every read endpoint.
  auto anon = Get("/api/v1/search/plan");
  anon.headers.clear();
  EXPECT_EQ(server_->Handle(anon).status, 401);
  // A bad selector: 400 naming the position.
  auto bad = Get("/api/v1/search/plan?query=%7Bapp%3D%7D");
  auto br = server_->Handle(bad);
  EXPECT_EQ(br.status, 400) << br.body;
}

TEST_F(SearchLocalMinio, PrunedQueriesMakeNoObjectStoreRequests) {
  StartServer(cold_.store);
  auto before = tier::GetRemoteReadStats();
  // A window after the segment, a label key it lacks, a token it lacks.
  for (std::string target :
       {"/api/v1/search/plan?start=" + std::to_string(cold_.segment->entry.max_ts + 1),
        std::string("/api/v1/search/plan?query=%7Bnope%3D%22x%22%7D"),
        std::string("/api/v1/search/plan?query=%7Benv%3D%22test%22%7D%20%7C%3D%20%22zzzzzzzzzzzz%22")}) {
    SCOPED_TRACE(target);
    auto r = Call(target);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(R"("segments":[])"), std::string::npos) << r.body;
  }
  server::HttpRequest q;
  q.method = "POST";
  q.path = q.target = "/api/v1/query";
  q.headers = {{"authorization", std::string("Bearer ") + kApiKey}};
  q.body = R"({"query":"{app=\"app1\"}","start":)" + std::to_string(cold_.segment->entry.max_ts + 1) + "}";
  auto r = server_->Handle(q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("remote_requests":0)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("partial":false,"warnings":[])"), std::string::npos) << r.body;
  // A limit the hot rows fill: the older segment cannot beat them.
  q.body = R"({"query":"{app=\"app1\"}","limit":10})";
  r = server_->Handle(q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(tier::GetRemoteReadStats().requests, before.requests);
  // One that needs the segment reads it.
  q.body = R"({"query":"{app=\"app1\"}","limit":100})";
  r = server_->Handle(q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GT(tier::GetRemoteReadStats().requests, before.requests);
  EXPECT_NE(r.body.find(R"("remote_files_opened":1)"), std::string::npos) << r.body;
}

TEST_F(SearchLocalMinio, LocalSearchPrintsExactlyWhatTheServerAnswers) {
  StartServer(cold_.store);
  const std::string mid = std::to_string(cold_.segment->entry.min_ts + (cold_.segment->entry.max_ts - cold_.segment->entry.min_ts) / 2);
  struct Case {
    std::string selector;
    int limit;
    std::string start, end;
    size_t rows;  // lines printed
  };
  const std::vector<Case> cases = {
      {R"({app="app2"})", 100, "", "", 100},                // 30 hot rows, then cold ones
      {R"({env="test"})", 5000, "", "", 5000},              // everything up to the cap
      {R"({env="test"} |= "req=1234 ")", 50, "", "", 8},    // a needle in the cold segment
      {R"({app=~"app[15]"})", 20, "", mid, 20},             // a window inside the segment only
      {R"({app="app9"})", 10, "", "", 0},                   // nothing anywhere
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.selector);
    storage::TEST_ClearRemoteCache();
    std::string server_side = Search(c.selector, c.limit, false, c.start, c.end);
    storage::TEST_ClearRemoteCache();
    auto before = tier::GetRemoteReadStats().requests;
    std::string local = Search(c.selector, c.limit, true, c.start, c.end);
    EXPECT_EQ(local, server_side);
    EXPECT_EQ(static_cast<size_t>(std::count(local.begin(), local.end(), '\n')), c.rows);
    // Every case but the empty one needs the cold segment.
    if (c.rows > 0) {
      EXPECT_GT(tier::GetRemoteReadStats().requests, before);
    }
  }
}

// A segment adopted from a bucket listing (another node's upload) has no
// known label keys: the plan says so with "label_keys": null, and --local
// keeps the segment for label matchers instead of pruning it (it used to get
// [] and drop every cold row of such a segment).
TEST_F(SearchLocalMinio, LocalSearchKeepsSegmentsWhoseLabelKeysAreUnknown) {
  StartServer(cold_.store, /*adopted=*/true);
  auto r = Call("/api/v1/search/plan?query=%7Bapp%3D%22app2%22%7D&limit=100");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("label_keys":null)"), std::string::npos) << r.body;
  for (const std::string selector : {R"({app="app2"})", R"({env="test", app=~"app[37]"} |= "req=12")"}) {
    SCOPED_TRACE(selector);
    storage::TEST_ClearRemoteCache();
    std::string server_side = Search(selector, 200, false);
    storage::TEST_ClearRemoteCache();
    std::string local = Search(selector, 200, true);
    EXPECT_EQ(local, server_side);
    // Cold rows are in both answers (the hot ones are "hot app…" lines).
    EXPECT_NE(local.find(R"("line":"app)"), std::string::npos) << local.substr(0, 300);
  }
}

TEST_F(SearchLocalMinio, LabelValuesAndVolumeReadRemoteSegments) {
  StartServer(cold_.store);
  auto r = Call("/api/v1/label/app/values");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("app7")"), std::string::npos) << r.body;  // only in the segment
  const std::string window = "start=" + std::to_string(cold_.segment->entry.min_ts) +
                             "&end=" + std::to_string(cold_.segment->entry.max_ts + 1'000'000) + "&step=1s";
  r = Call("/api/v1/volume?" + window);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("total":16120)"), std::string::npos) << r.body;  // 8 x 2000 cold + 4 x 30 hot
}

// Label values and volume prune files as queries do: a segment adopted from a
// bucket listing (label keys unknown) is read for a label matcher, not skipped.
TEST_F(SearchLocalMinio, LabelValuesAndVolumeKeepSegmentsWhoseLabelKeysAreUnknown) {
  StartServer(cold_.store, /*adopted=*/true);
  const std::string window = "start=" + std::to_string(cold_.segment->entry.min_ts) +
                             "&end=" + std::to_string(cold_.segment->entry.max_ts + 1'000'000) + "&step=1s";
  auto r = Call("/api/v1/volume?query=%7Bapp%3D%22app2%22%7D&" + window);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("total":2030)"), std::string::npos) << r.body;  // 2000 cold + 30 hot
  r = Call("/api/v1/label/app/values?query=%7Benv%3D%22test%22%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("app7")"), std::string::npos) << r.body;  // only in the segment
}

TEST_F(SearchLocalMinio, WithoutAnObjectStoreThePlanSaysWhatItLeftOut) {
  StartServer(nullptr);
  auto r = Call("/api/v1/search/plan?limit=5000");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("segments":[])"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("partial":true)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("no object store configured"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace loge::cli
