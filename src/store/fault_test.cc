// Walks every file-system call the store makes, failing one at a time (and,
// as a full disk does, every call after it until space is freed): whatever
// fails, a push that was acknowledged is never lost, no row is stored twice,
// the directory still opens, and once the fault clears the store flushes and
// merges again without a restart (io/fault_file_system.h).
#include <errno.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>

#include "io/fault_file_system.h"
#include "query/engine.h"
#include "store/store.h"
#include "store/test_files.h"

namespace loge::store {
namespace {

std::string TempDir() { return NewTestDir("fault"); }

StoreOptions Opts(const std::string& dir, io::FileSystem* fs) {
  StoreOptions o = WhenToldOptions(dir);
  o.fs = fs;
  o.buckets = 2;
  o.flush_retry_delay = std::chrono::milliseconds(2);
  return o;
}

// Batch b: 20 lines over two streams.
Payload Batch(int b, std::vector<std::string>* lines) {
  Payload p;
  for (int s = 0; s < 2; s++) {
    Stream st;
    st.labels = {{"app", s == 0 ? "web" : "db"}};
    for (int i = 0; i < 10; i++) {
      std::string line = "batch " + std::to_string(b) + " stream " + std::to_string(s) + " row " + std::to_string(i);
      st.entries.push_back({1000 * b + 10 * s + i, line, ""});
      lines->push_back(line);
    }
    p.streams.push_back(std::move(st));
  }
  return p;
}

struct Outcome {
  std::set<std::string> acked;  // lines of pushes answered OK
  bool opened = false;
  uint64_t calls_exposed = 0;   // calls made before the fault cleared
};

// The scenario: open, push, flush, push, merge while the fault may strike
// (a failed flush is retried, and a burst of faults ends); then the fault
// clears, and the same store must flush, merge and take a push again; then
// a clean close.
Outcome Scenario(const std::string& dir, io::FaultFileSystem* fs) {
  Outcome run;
  auto st = Store::Open(Opts(dir, fs));
  if (!st.ok()) {
    fs->Clear();
    st = Store::Open(Opts(dir, fs));  // what a restart after freeing space does
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!st.ok()) return run;
  }
  run.opened = true;
  Store* s = st->get();
  auto push = [&](int b) {
    std::vector<std::string> lines;
    if (s->Push(Batch(b, &lines)).ok()) run.acked.insert(lines.begin(), lines.end());
  };
  for (int b = 0; b < 3; b++) push(b);
  (void)s->FlushAll();
  for (int b = 3; b < 6; b++) push(b);
  (void)s->CompactNow();
  run.calls_exposed = fs->calls();
  fs->Clear();  // space is freed
  EXPECT_TRUE(s->FlushAll().ok());
  Status c = s->CompactNow();
  EXPECT_TRUE(c.ok()) << c.ToString() << " after " << fs->first_fault();
  if (s->Stats().wal_healthy) {
    push(6);
    EXPECT_TRUE(run.acked.contains("batch 6 stream 0 row 0")) << "a push after the fault cleared, " << fs->first_fault();
  }
  (void)s->Close();
  return run;
}

void CheckDirectory(const std::string& dir, const Outcome& run, const std::string& what) {
  auto st = Store::Open(Opts(dir, nullptr));
  ASSERT_TRUE(st.ok()) << what << ": " << st.status().ToString();
  query::Engine engine(query::EngineOptions{}, st->get());
  query::Query q;
  q.limit = query::kMaxLimit;
  auto r = engine.Run(q);
  ASSERT_TRUE(r.ok()) << what << ": " << r.status().ToString();
  std::map<std::string, int> seen;
  for (const auto& h : r->hits) seen[h.line]++;
  for (const auto& line : run.acked) EXPECT_EQ(seen[line], 1) << what << ": acknowledged " << line;
  for (const auto& [line, n] : seen) EXPECT_EQ(n, 1) << what << ": " << line;
  // Stored once, not just returned once: the rows as counted from files.
  ASSERT_TRUE((*st)->CompactNow().ok());
  EXPECT_EQ((*st)->Stats().rows_total, seen.size()) << what;
  auto names = io::DefaultFileSystem()->ListDir(dir);
  ASSERT_TRUE(names.ok());
  for (const auto& n : *names) EXPECT_FALSE(n.ends_with(".tmp")) << what << ": leftover " << n;
}

// Fails call n, and the times-1 after it, for every n of the scenario.
void Walk(int err, uint64_t times) {
  // The calls a clean run makes before the fault would clear; a fault moves
  // later calls a little, so walk a few past the end too.
  io::FaultFileSystem counter(io::DefaultFileSystem());
  Outcome clean = Scenario(TempDir(), &counter);
  ASSERT_TRUE(clean.opened);
  ASSERT_EQ(clean.acked.size(), 140u);
  const uint64_t calls = clean.calls_exposed;
  ASSERT_GT(calls, 20u);
  uint64_t injected = 0;
  for (uint64_t n = 1; n <= calls + 3; n++) {
    io::FaultFileSystem fs(io::DefaultFileSystem());
    fs.FailAt(n, err, times);
    const std::string dir = TempDir();
    Outcome run = Scenario(dir, &fs);
    const std::string what = "call " + std::to_string(n) + " (" + fs.first_fault() + ")";
    injected += fs.injected() > 0;
    CheckDirectory(dir, run, what);
    if (::testing::Test::HasFailure()) return;  // one clear report, not hundreds
  }
  EXPECT_GE(injected, calls);
}

TEST(FaultWalk, EveryCallFailingOnceWithEIOLosesAndDuplicatesNothing) { Walk(EIO, 1); }

TEST(FaultWalk, AFullDiskForFourCallsFromAnyCallLosesAndDuplicatesNothing) { Walk(ENOSPC, 4); }

// A disk that stays full: pushes fail rather than being acknowledged, and
// after space is freed (no restart) the store flushes what it acknowledged.
TEST(FaultWalk, AFullDiskUntilFreedFromAnyPushOnLosesNothing) {
  for (uint64_t n = 1; n <= 12; n++) {
    io::FaultFileSystem fs(io::DefaultFileSystem());
    const std::string dir = TempDir();
    Outcome run;
    {
      auto st = Store::Open(Opts(dir, &fs));
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      fs.FailAt(n, ENOSPC, 0);
      for (int b = 0; b < 6; b++) {
        std::vector<std::string> lines;
        if ((*st)->Push(Batch(b, &lines)).ok()) run.acked.insert(lines.begin(), lines.end());
      }
      EXPECT_LT(run.acked.size(), 120u) << "call " << n << ": every push acknowledged on a full disk";
      fs.Clear();
      EXPECT_TRUE((*st)->FlushAll().ok());
      (void)(*st)->Close();
    }
    CheckDirectory(dir, run, "full from call " + std::to_string(n) + " (" + fs.first_fault() + ")");
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace loge::store
