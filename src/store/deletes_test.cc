// Delete requests through the store: hidden from queries at once, kept
// across a restart, cancelled while pending, physically removed by the
// rewrite (the decompressed bytes of every file no longer hold the secret)
// with every other row kept once, and a crash at each step of a rewrite
// neither loses a kept row nor brings a deleted one back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "query/logql.h"
#include "query/metric.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = 1700000000 * kSec;
constexpr const char* kSecret = "password=hunter2";

std::string TempDir() { return NewTestDir("deletes"); }

StoreOptions Opts(const std::string& dir) {
  StoreOptions o = WhenToldOptions(dir);
  o.retention.interval = Duration(0);
  o.deletes.cancel_period = Duration(0);
  o.deletes.interval = Duration(0);  // passes only when told
  return o;
}

// 100 rows of {app=<app>}, one a second from kT0 + offset; row 50 of "web"
// at offset 0 carries the secret. Flushed into a file.
void PushFile(Store* s, const std::string& app, int64_t offset) {
  Payload p;
  Stream st;
  st.labels = {{"app", app}};
  for (int i = 0; i < 100; i++) {
    const int64_t ts = kT0 + offset + i * kSec;
    std::string line = app + " request " + std::to_string(i) + " ok";
    if (app == "web" && offset == 0 && i == 50) line = std::string("login user=bob ") + kSecret;
    st.entries.push_back({ts, line, ""});
  }
  p.streams.push_back(std::move(st));
  ASSERT_TRUE(s->Push(std::move(p)).ok());
  ASSERT_TRUE(s->FlushAll().ok());
}

std::vector<query::Hit> Hits(Store* s, const std::string& selector) {
  query::Engine engine(query::EngineOptions{}, s);
  query::Query q;
  q.limit = query::kMaxLimit;
  auto sel = query::ParseSelector(selector);
  EXPECT_TRUE(sel.ok()) << sel.status().ToString();
  q.SetSelector(std::move(*sel));
  auto r = engine.Run(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->hits : std::vector<query::Hit>{};
}

// Every row but the secret, each once: 199 of the 200 pushed.
void ExpectAllButSecretOnce(Store* s) {
  std::map<std::string, int> seen;
  for (const auto& h : Hits(s, "{app=~\".+\"}")) {
    EXPECT_EQ(h.line.find(kSecret), std::string::npos) << h.line;
    EXPECT_EQ(++seen[std::to_string(h.ts) + h.labels_json + h.line], 1) << h.line;
  }
  EXPECT_EQ(seen.size(), 199u);
}

uint64_t CountOverTime(Store* s, const std::string& selector) {
  query::Engine engine(query::EngineOptions{}, s);
  auto e = query::ParseExpr("sum(count_over_time(" + selector + "[1h]))", query::ParseOptions{});
  EXPECT_TRUE(e.ok());
  query::MetricQuery mq;
  mq.expr = *e;
  mq.start = mq.end = kT0 + 3000 * kSec;
  mq.instant = true;
  auto m = engine.RunMetric(mq);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok() || m->series.empty()) return 0;
  return static_cast<uint64_t>(m->series[0].points.back().second);
}

TEST(Deletes, HiddenAtOnceOnEveryReadPathAndKeptAcrossRestart) {
  const std::string dir = TempDir();
  {
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Store* st = s->get();
    PushFile(st, "web", 0);
    PushFile(st, "api", 0);
    ASSERT_EQ(Hits(st, "{app=\"web\"} |= \"hunter2\"").size(), 1u);
    ASSERT_EQ(CountOverTime(st, "{app=\"web\"}"), 100u);
    auto r = st->CreateDelete("{app=\"web\"} |= \"hunter2\"", kT0, kT0 + 1000 * kSec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(Hits(st, "{app=\"web\"} |= \"hunter2\"").empty());
    ExpectAllButSecretOnce(st);
    EXPECT_EQ(CountOverTime(st, "{app=\"web\"}"), 99u);  // a count from block headers would say 100
    EXPECT_EQ(st->Stats().deletes.pending, 1u);
    ASSERT_TRUE(st->Close().ok());
  }
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ((*s)->ListDeletes().size(), 1u);
  EXPECT_FALSE((*s)->ListDeletes()[0].processed);
  EXPECT_TRUE(Hits(s->get(), "{app=\"web\"} |= \"hunter2\"").empty());
  ExpectAllButSecretOnce(s->get());
}

TEST(Deletes, AWholeStreamLeavesLabelValuesAndCancelBringsItBack) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  Store* st = s->get();
  PushFile(st, "web", 0);
  PushFile(st, "api", 0);
  query::Engine engine(query::EngineOptions{}, st);
  query::Query all;
  auto values = [&] {
    auto v = engine.LabelValuesOf(all, "app", 100);
    EXPECT_TRUE(v.ok());
    return v.ok() ? v->values : std::vector<std::string>{};
  };
  EXPECT_EQ(values(), (std::vector<std::string>{"api", "web"}));
  auto r = st->CreateDelete("{app=\"api\"}", 0, kT0 + 1000 * kSec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(values(), (std::vector<std::string>{"web"}));
  EXPECT_TRUE(Hits(st, "{app=\"api\"}").empty());
  ASSERT_TRUE(st->CancelDelete(r->id).ok());
  EXPECT_EQ(values(), (std::vector<std::string>{"api", "web"}));
  EXPECT_EQ(Hits(st, "{app=\"api\"}").size(), 100u);
  EXPECT_EQ(st->CancelDelete(r->id).code(), Code::kNotFound);
  EXPECT_TRUE(st->ListDeletes().empty());
}

TEST(Deletes, RejectsAnythingButASelectorWithLineFilters) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  for (const char* bad : {"", "|= \"x\"", "{app=\"web\"} | json", "{app=\"web\"} | level=\"error\"",
                          "{app=\"web\"} | line_format \"x\"", "sum(rate({app=\"web\"}[1m]))", "{app="}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ((*s)->CreateDelete(bad, 0, kT0).status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ((*s)->CreateDelete("{app=\"web\"}", kT0, kT0 - 1).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE((*s)->ListDeletes().empty());
}

TEST(Deletes, TheRewriteRemovesTheBytesAndKeepsEveryOtherRowOnce) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  Store* st = s->get();
  PushFile(st, "web", 0);
  PushFile(st, "api", 0);
  PushFile(st, "web", 5000 * kSec);  // outside the window: not rewritten
  ASSERT_NE(DecompressedDataFiles(dir).find(kSecret), std::string::npos);
  auto r = st->CreateDelete("{app=\"web\"} |= \"hunter2\"", kT0, kT0 + 1000 * kSec);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(st->RunDeletesNow().ok());
  const auto stats = st->Stats().deletes;
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.processed, 1u);
  EXPECT_EQ(stats.rows_deleted, 1u);
  EXPECT_EQ(stats.bytes_deleted, (std::string("login user=bob ") + kSecret).size());  // the line's text
  EXPECT_EQ(stats.files_rewritten, 1u);
  ASSERT_EQ(st->ListDeletes().size(), 1u);
  EXPECT_TRUE(st->ListDeletes()[0].processed);
  EXPECT_EQ(st->ListDeletes()[0].rows_deleted, 1u);
  EXPECT_EQ(st->CancelDelete(r->id).code(), Code::kInvalidArgument);
  // Gone from the files themselves, not only hidden (the tombstone is dropped).
  EXPECT_EQ(DecompressedDataFiles(dir).find(kSecret), std::string::npos);
  EXPECT_EQ(Hits(st, "{app=~\".+\"}").size(), 299u);
  EXPECT_EQ(Hits(st, "{app=\"web\"} |= \"hunter2\"").size(), 0u);
  // Nothing comes back after a restart either.
  ASSERT_TRUE(st->Close().ok());
  s->reset();  // lets go of the directory's lock
  auto again = Store::Open(Opts(dir));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Hits(again->get(), "{app=~\".+\"}").size(), 299u);
  EXPECT_EQ(DecompressedDataFiles(dir).find(kSecret), std::string::npos);
}

TEST(Deletes, AFileWithNothingLeftIsRetiredWhole) {
  const std::string dir = TempDir();
  auto s = Store::Open(Opts(dir));
  ASSERT_TRUE(s.ok());
  Store* st = s->get();
  PushFile(st, "web", 0);
  PushFile(st, "api", 0);
  ASSERT_EQ(st->Stats().files, 2u);
  ASSERT_TRUE(st->CreateDelete("{app=\"api\"}", 0, kT0 + 1000 * kSec).ok());
  ASSERT_TRUE(st->RunDeletesNow().ok());
  EXPECT_EQ(st->Stats().files, 1u);
  EXPECT_EQ(st->Stats().deletes.rows_deleted, 100u);
  EXPECT_EQ(Hits(st, "{app=~\".+\"}").size(), 100u);
}

TEST(Deletes, ACrashAtEveryStepOfARewriteLosesNothingAndResurrectsNothing) {
  for (int crash_at : {1, 2, 4, 5}) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_at));
    const std::string dir = TempDir();
    {
      auto s = Store::Open(Opts(dir));
      ASSERT_TRUE(s.ok());
      Store* st = s->get();
      PushFile(st, "web", 0);
      PushFile(st, "api", 0);
      ASSERT_TRUE(st->CreateDelete("{app=\"web\"} |= \"hunter2\"", kT0, kT0 + 1000 * kSec).ok());
      st->TEST_SetMergeHook([crash_at](int step) {
        return step == crash_at ? Status::IOError("crash") : Status::OK();
      });
      EXPECT_FALSE(st->RunDeletesNow().ok());
      EXPECT_EQ(st->Stats().deletes.pending, 1u);
      ExpectAllButSecretOnce(st);
      st->TEST_SetMergeHook(nullptr);
      ASSERT_TRUE(st->Close().ok());
    }
    auto s = Store::Open(Opts(dir));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExpectAllButSecretOnce(s->get());
    ASSERT_TRUE((*s)->RunDeletesNow().ok());
    EXPECT_EQ((*s)->Stats().deletes.pending, 0u);
    ExpectAllButSecretOnce(s->get());
    EXPECT_EQ(DecompressedDataFiles(dir).find(kSecret), std::string::npos);
  }
}

}  // namespace
}  // namespace loge::store
