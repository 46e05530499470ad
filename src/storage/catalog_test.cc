#include "storage/catalog.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

namespace loge::storage {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/catalogXXXXXX";
  LOGE_ASSERT(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  return tmpl;
}

CatalogEntry Segment(const std::string& name) {
  CatalogEntry e;
  e.kind = FileKind::kSegment;
  e.path = name;
  e.min_ts = 10;
  e.max_ts = 20;
  e.rows = 5;
  e.bytes = 123;
  e.label_keys = {"app", "host"};
  e.token_filter = "tok";
  e.sealed_at = 7;
  return e;
}

// The store tells files apart by id: once the newest row is deleted (a
// merge retiring its inputs), SQLite would hand its id to the next insert,
// and a merge would then drop a flush file registered meanwhile.
TEST(Catalog, NeverGivesAnIdTwice) {
  auto c = Catalog::Open(TempDir());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  CatalogEntry a = Segment("a"), b = Segment("b"), merged = Segment("m"), flushed = Segment("f");
  ASSERT_TRUE((*c)->Add(&a).ok());
  ASSERT_TRUE((*c)->Add(&b).ok());
  ASSERT_TRUE((*c)->ReplaceRetiring({a.id, b.id}, {"a", "b"}, &merged).ok());
  ASSERT_TRUE((*c)->Add(&flushed).ok());
  std::set<int64_t> ids = {a.id, b.id, merged.id, flushed.id};
  EXPECT_EQ(ids.size(), 4u) << a.id << " " << b.id << " " << merged.id << " " << flushed.id;
  ASSERT_TRUE((*c)->Remove({flushed.id}).ok());
  CatalogEntry next = Segment("n");
  ASSERT_TRUE((*c)->Add(&next).ok());
  EXPECT_GT(next.id, flushed.id);
}

// A rewrite of a remote segment swaps its row for the local rewrite and
// records the object's URL as retired in one transaction; the URL survives
// a reopen (the reconcile deletes the object) and stays apart from the
// retired local names, which recovery forgets at every start.
TEST(Catalog, RetiredObjectsComeWithTheSwapAndSurviveAReopen) {
  std::string dir = TempDir();
  const std::string url = "http://s3/b/n/segment-10-20-1.sqlite.zst";
  {
    auto c = Catalog::Open(dir);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    CatalogEntry remote = Segment(url), rewritten = Segment("segment-10-20-2.sqlite.zst");
    remote.tier = Tier::kRemote;
    ASSERT_TRUE((*c)->Add(&remote).ok());
    ASSERT_TRUE((*c)->ReplaceRetiring({remote.id}, {}, &rewritten, {url}).ok());
  }
  auto c = Catalog::Open(dir);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto rows = (*c)->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].path, "segment-10-20-2.sqlite.zst");
  EXPECT_TRUE((*c)->ListRetired()->empty());
  EXPECT_EQ(*(*c)->ListRetiredObjects(), std::vector<std::string>{url});
  ASSERT_TRUE((*c)->ForgetRetiredObjects({url}).ok());
  EXPECT_TRUE((*c)->ListRetiredObjects()->empty());
}

TEST(Catalog, SetRemoteFlipsTierAndPathAndKeepsTheRest) {
  std::string dir = TempDir();
  auto c = Catalog::Open(dir);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  CatalogEntry e = Segment("segment-10-20-1.sqlite.zst");
  ASSERT_TRUE((*c)->Add(&e).ok());
  ASSERT_TRUE((*c)->SetRemote(e.id, "http://s3/b/n/segment-10-20-1.sqlite.zst").ok());
  // A second flip finds no local row.
  EXPECT_EQ((*c)->SetRemote(e.id, "http://other").code(), Code::kNotFound);
  EXPECT_EQ((*c)->SetRemote(e.id + 100, "http://other").code(), Code::kNotFound);
  c->reset();  // durable across a reopen
  auto again = Catalog::Open(dir);
  ASSERT_TRUE(again.ok());
  auto rows = (*again)->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const auto& r = (*rows)[0];
  EXPECT_EQ(r.tier, Tier::kRemote);
  EXPECT_EQ(r.path, "http://s3/b/n/segment-10-20-1.sqlite.zst");
  EXPECT_EQ(r.min_ts, 10);
  EXPECT_EQ(r.max_ts, 20);
  EXPECT_EQ(r.rows, 5u);
  EXPECT_EQ(r.bytes, 123u);
  EXPECT_EQ(r.label_keys, (std::vector<std::string>{"app", "host"}));
  EXPECT_TRUE(r.label_keys_known);
  EXPECT_EQ(r.token_filter, "tok");
}

TEST(Catalog, UnknownLabelKeysSurviveARoundTrip) {
  auto c = Catalog::Open(TempDir());
  ASSERT_TRUE(c.ok());
  std::vector<CatalogEntry> adds(2, Segment("a"));
  adds[1].path = "b";
  adds[1].label_keys.clear();
  adds[1].label_keys_known = false;
  ASSERT_TRUE((*c)->ReplaceMany({}, &adds).ok());
  EXPECT_GT(adds[0].id, 0);
  EXPECT_GT(adds[1].id, adds[0].id);
  auto rows = (*c)->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE((*rows)[0].label_keys_known);
  EXPECT_FALSE((*rows)[1].label_keys_known);
  EXPECT_TRUE((*rows)[1].label_keys.empty());
  // An empty but known key list is not "unknown".
  CatalogEntry none = Segment("c");
  none.label_keys.clear();
  ASSERT_TRUE((*c)->Add(&none).ok());
  rows = (*c)->List();
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->back().label_keys_known);
}

TEST(Catalog, ReplaceManyIsAllOrNothing) {
  auto c = Catalog::Open(TempDir());
  ASSERT_TRUE(c.ok());
  CatalogEntry first = Segment("a");
  ASSERT_TRUE((*c)->Add(&first).ok());
  CatalogEntry second = Segment("b");
  ASSERT_TRUE((*c)->Add(&second).ok());
  // The second add collides with a path that stays: nothing of it commits,
  // not the removal, not the first add.
  std::vector<CatalogEntry> adds = {Segment("x"), Segment("a")};
  EXPECT_FALSE((*c)->ReplaceMany({second.id}, &adds).ok());
  auto rows = (*c)->List();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].path, "a");
  EXPECT_EQ((*rows)[1].path, "b");
}

// A retried Add after a commit that reported an error but landed (an fsync
// error on catalog.sqlite) must not fail forever on the unique path, nor
// add a second row for the file.
TEST(Catalog, AddOfAPathAlreadyThereReturnsItsRow) {
  std::string dir = TempDir();
  auto c = Catalog::Open(dir);
  ASSERT_TRUE(c.ok());
  CatalogEntry first = Segment("flush-0-1.sqlite.zst");
  ASSERT_TRUE((*c)->Add(&first).ok());
  CatalogEntry retry = Segment("flush-0-1.sqlite.zst");
  ASSERT_TRUE((*c)->Add(&retry).ok());
  EXPECT_EQ(retry.id, first.id);
  auto all = (*c)->List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(*(*c)->IdOf("flush-0-1.sqlite.zst"), first.id);
  EXPECT_EQ(*(*c)->IdOf("flush-0-2.sqlite.zst"), 0);
  EXPECT_TRUE((*c)->Check().ok());
}

}  // namespace
}  // namespace loge::storage
