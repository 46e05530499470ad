// Structured metadata from push to query: decoded (protobuf, JSON), stored in
// the head and in flushed files, returned with each hit, and matched by
// label filter stages both in the head scan and in the file scan.
#include <gtest/gtest.h>
#include <snappy.h>
#include <unistd.h>

#include "ingest/decode_json.h"
#include "ingest/decode_loki_proto.h"
#include "store/store.h"
#include "ingest/loki_push.pb.h"
#include "query/logql.h"

namespace loge::store {
using ingest::DecodeJsonPush;
using ingest::DecodeLokiProtoPush;
using ingest::Limits;
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/smetaXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// 100 protobuf entries; entry i carries trace_id=t<i%10>, and every even one
// also user=u<i%3>.
Payload ProtoPayload() {
  logproto::PushRequest req;
  auto* s = req.add_streams();
  s->set_labels(R"({app="web", env="prod"})");
  for (int i = 0; i < 100; i++) {
    auto* e = s->add_entries();
    e->mutable_timestamp()->set_seconds(1700000000 + i);
    e->set_line("line " + std::to_string(i));
    auto* kv = e->add_structuredmetadata();
    kv->set_name("trace_id");
    kv->set_value("t" + std::to_string(i % 10));
    if (i % 2 == 0) {
      kv = e->add_structuredmetadata();
      kv->set_name("user");
      kv->set_value("u" + std::to_string(i % 3));
    }
  }
  std::string raw = req.SerializeAsString(), body;
  snappy::Compress(raw.data(), raw.size(), &body);
  Payload p;
  Status st = DecodeLokiProtoPush(body, Limits{}, 1 << 20, &p);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

Payload JsonPayload() {
  Payload p;
  Status st = DecodeJsonPush(
      R"({"streams":[{"stream":{"app":"api"},"values":[["1800000000000000000","json line",{"trace_id":"t3"}]]}]})",
      Limits{}, &p);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

std::vector<query::Hit> Run(Store* ing, const std::string& selector) {
  auto sel = query::ParseSelector(selector);
  EXPECT_TRUE(sel.ok()) << sel.status().ToString();
  query::Query q;
  q.SetSelector(std::move(*sel));
  q.limit = query::kMaxLimit;
  query::Engine engine(query::EngineOptions{}, ing);
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->hits : std::vector<query::Hit>{};
}

void ExpectFiltersWork(Store* ing) {
  auto hits = Run(ing, R"({app="web"} | trace_id="t3")");
  ASSERT_EQ(hits.size(), 10u);
  for (const auto& h : hits) EXPECT_NE(h.metadata.find(R"("trace_id":"t3")"), std::string::npos) << h.metadata;
  EXPECT_EQ(hits.front().line, "line 93");

  EXPECT_EQ(Run(ing, R"({app=~".+"} | trace_id="t3")").size(), 11u);  // + the JSON entry
  EXPECT_EQ(Run(ing, R"({app="web"} | trace_id="t4" | user="u1")").size(), 4u);  // i = 4, 34, 64, 94
  EXPECT_EQ(Run(ing, R"({app="web"} | user="")").size(), 50u);  // the odd ones carry no user
  EXPECT_EQ(Run(ing, R"({app="web"} | trace_id=~"t[12]" |= "line 1")").size(), 3u);  // i = 1, 11, 12
  EXPECT_EQ(Run(ing, R"({app="web"} | env="prod" | trace_id="t0")").size(), 10u);
  EXPECT_EQ(Run(ing, R"({app="web"} | env="dev")").size(), 0u);
}

TEST(StructuredMetadata, IsStoredReturnedAndMatchedInTheHeadAndInFiles) {
  std::string dir = TempDir();
  StoreOptions o;
  o.output_path = dir;
  o.flush_interval = std::chrono::hours(1);
  o.checkpoint_interval = std::chrono::hours(1);
  auto ing = Store::Open(o);
  ASSERT_TRUE(ing.ok()) << ing.status().ToString();
  ASSERT_TRUE((*ing)->Push(ProtoPayload()).ok());
  ASSERT_TRUE((*ing)->Push(JsonPayload()).ok());
  {
    SCOPED_TRACE("head");
    ExpectFiltersWork(ing->get());
  }
  ASSERT_TRUE((*ing)->FlushAll().ok());
  ASSERT_EQ((*ing)->Stats().head_rows, 0u);
  {
    SCOPED_TRACE("flushed files");
    ExpectFiltersWork(ing->get());
  }
}

}  // namespace
}  // namespace loge::store
