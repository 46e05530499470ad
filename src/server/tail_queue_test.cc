#include "server/tail_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/request_metrics.h"

namespace loge::server {
namespace {

std::shared_ptr<const TailStream> MakeStream(int n, int64_t ts0, size_t line_bytes = 4) {
  auto s = std::make_shared<TailStream>();
  s->stream.labels = {{"app", "t"}};
  for (int i = 0; i < n; i++) s->stream.entries.push_back(Entry{ts0 + i, std::string(line_bytes, 'x'), ""});
  s->labels_json = LabelsToJson(s->stream.labels);
  return s;
}

TEST(TailQueue, DropsWhatDoesNotFitAndReportsItOnce) {
  TailQueue q(/*max_entries=*/5, /*max_bytes=*/1 << 20);
  q.Offer(MakeStream(3, 100), 1);
  q.Offer(MakeStream(4, 200), 1);  // 2 fit, 202 and 203 are dropped
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.dropped_total(), 2u);
  std::vector<TailQueue::Item> items;
  std::vector<TailQueue::Drop> drops;
  q.Take(100, 1, &items, &drops);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[3].stream->stream.entries[items[3].index].ts, 200);
  ASSERT_EQ(drops.size(), 2u);
  EXPECT_EQ(drops[0].ts, 202);
  EXPECT_EQ(drops[1].ts, 203);
  // Reported once; the total stays for /metrics; room again after Take.
  items.clear();
  drops.clear();
  q.Offer(MakeStream(1, 300), 1);
  q.Take(100, 1, &items, &drops);
  EXPECT_EQ(items.size(), 1u);
  EXPECT_TRUE(drops.empty());
  EXPECT_EQ(q.dropped_total(), 2u);
}

TEST(TailQueue, BoundsBytesButAlwaysTakesOneEntry) {
  TailQueue q(/*max_entries=*/100, /*max_bytes=*/10);
  q.Offer(MakeStream(2, 0, /*line_bytes=*/50), 1);  // the first fits an empty queue
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.dropped_total(), 1u);
}

TEST(TailQueue, ListsAtMostKMaxDroppedListedButCountsEveryDrop) {
  TailQueue q(1, 1 << 20);
  q.Offer(MakeStream(static_cast<int>(TailQueue::kMaxDroppedListed) + 11, 0), 1);
  std::vector<TailQueue::Item> items;
  std::vector<TailQueue::Drop> drops;
  q.Take(10, 1, &items, &drops);
  EXPECT_EQ(drops.size(), TailQueue::kMaxDroppedListed);
  EXPECT_EQ(q.dropped_total(), TailQueue::kMaxDroppedListed + 10);
}

TEST(TailQueue, TakesNothingBeforeTheOldestIsDueThenAtMostMax) {
  TailQueue q(100, 1 << 20);
  q.Offer(MakeStream(3, 0), /*now=*/10);
  q.Offer(MakeStream(3, 10), /*now=*/20);
  std::vector<TailQueue::Item> items;
  std::vector<TailQueue::Drop> drops;
  q.Take(100, /*ready_at=*/9, &items, &drops);
  EXPECT_TRUE(items.empty());  // the oldest waits until 10
  EXPECT_EQ(q.OldestArrival(), 10);
  q.Take(4, /*ready_at=*/10, &items, &drops);
  EXPECT_EQ(items.size(), 4u);  // the oldest is due: later ones ride along, max 4
  EXPECT_EQ(q.OldestArrival(), 20);
  q.Take(100, 15, &items, &drops);
  EXPECT_EQ(items.size(), 4u);  // the oldest left arrived at 20
  q.Take(100, 20, &items, &drops);
  EXPECT_EQ(items.size(), 6u);
  EXPECT_EQ(q.OldestArrival(), std::nullopt);
}

TEST(TailQueue, NeverBlocksTheProducerWhileNobodyConsumes) {
  TailQueue q(10, 1 << 20);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < 10000; i++) q.Offer(MakeStream(10, i * 10), 1);
    done = true;
  });
  // Nobody takes anything: the producer finishes anyway (ctest's timeout
  // is the bound), keeping the first 10 entries and dropping the rest.
  producer.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(q.size(), 10u);
  EXPECT_EQ(q.dropped_total(), 10u * 10000 - 10);
}

TEST(RequestMetrics, NamesEndpointsWithoutTheirLabelNames) {
  auto check = [](std::string_view path, std::string_view want, bool want_push) {
    SCOPED_TRACE(path);
    bool push = false;
    EXPECT_EQ(RequestMetrics::Endpoint(path, &push), want);
    EXPECT_EQ(push, want_push);
  };
  check("/loki/api/v1/push", "/loki/api/v1/push", true);
  check("/logs-2024/_bulk", "/_bulk", true);
  check("/loki/api/v1/query_range", "/loki/api/v1/query_range", false);
  check("/loki/api/v1/label/job/values", "/loki/api/v1/label/:name/values", false);
  check("/loki/api/v1/detected_field/status/values", "/loki/api/v1/detected_field/:name/values", false);
  check("/loki/api/v1/label/a/b/values", "", false);
  check("/anything/else", "", false);
  check("/metrics", "", false);
}

}  // namespace
}  // namespace loge::server
