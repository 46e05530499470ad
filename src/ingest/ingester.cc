#include "ingest/ingester.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "ingest/ingester_impl.h"
#include "io/file_system.h"
#include "storage/catalog_worker.h"
#include "storage/fuse_filter.h"
#include "storage/segment_writer.h"

namespace loge::ingest {

namespace {

// A failed flush is retried after this long, doubling up to kMaxRetryDelay.
constexpr auto kFirstRetryDelay = std::chrono::milliseconds(200);
constexpr auto kMaxRetryDelay = std::chrono::seconds(10);

void ScanBatch(const Batch& b, const query::Query& q, query::TopK* top) {
  for (const auto& [fp, s] : b.streams) {
    if (!q.MatchesLabels(s.labels)) continue;
    for (const auto& e : s.entries) {
      if (!q.InWindow(e.ts) || !top->Admits(e.ts) || !q.MatchesLine(e.line)) continue;
      if (!q.MatchesEntry(s.labels, e.metadata)) continue;
      top->Add(query::Hit{e.ts, e.line, s.labels_json, e.metadata});
    }
  }
}

}  // namespace

Result<int> CompressionLevel(std::string_view name) {
  if (name == "fastest") return 1;
  if (name == "default") return 3;
  if (name == "better") return 9;
  if (name == "best") return 19;
  return Status::InvalidArgument("unknown compression \"" + std::string(name) +
                                 "\" (want fastest, default, better or best)");
}

// Moves the bucket's open batch into the registry. Caller holds reg_mu and
// the bucket's mutex (lock order: reg_mu first).
void Ingester::Impl::SealLocked(Bucket* b, bool force_queue) {
  if (b->open->rows == 0) return;
  if (!force_queue && queue.size() >= opts.flush_queue) return;  // saturated: keep growing
  int idx = b->open->bucket;
  std::shared_ptr<const Batch> batch(std::move(b->open));
  b->open = std::make_unique<Batch>();
  b->open->bucket = idx;
  b->open->opened = std::chrono::steady_clock::now();
  sealed.push_back(batch);
  queue.push_back(std::move(batch));
  reg_cv.notify_all();
}

// Inserts one bucket's part of record `seq`. Seals at payload_size.
void Ingester::Impl::Insert(int bi, uint64_t seq, std::vector<Stream*>& parts) {
  Bucket* b = buckets[bi].get();
  bool full;
  {
    MutexLock bl(&b->mu);
    Batch* batch = b->open.get();
    for (Stream* s : parts) {
      auto [it, fresh] = batch->streams.try_emplace(Fingerprint(s->labels));
      StreamBuf& sb = it->second;
      if (fresh) {
        sb.labels = s->labels;
        sb.labels_json = LabelsToJson(s->labels);
      }
      batch->bytes += s->Bytes();
      batch->rows += s->entries.size();
      head_rows += s->entries.size();
      for (auto& e : s->entries) sb.entries.push_back(std::move(e));
    }
    batch->seqs.push_back(seq);
    full = batch->rows >= opts.payload_size;
  }
  if (full) {
    SealIf(bi, false, [&](const Batch& bt) { return bt.rows >= opts.payload_size; });
  }
}

void Ingester::Impl::InsertPayload(uint64_t seq, const std::vector<std::vector<Stream*>>& by_bucket) {
  for (size_t i = 0; i < by_bucket.size(); i++) {
    if (by_bucket[i].empty()) continue;
    auto parts = by_bucket[i];
    Insert(static_cast<int>(i), seq, parts);
  }
}

std::vector<std::vector<Stream*>> Ingester::Impl::SplitByBucket(Payload* p, uint32_t* nparts) {
  std::vector<std::vector<Stream*>> by_bucket(buckets.size());
  for (auto& s : p->streams) {
    if (s.entries.empty()) continue;
    by_bucket[BucketOf(Fingerprint(s.labels))].push_back(&s);
  }
  *nparts = 0;
  for (auto& v : by_bucket) *nparts += v.empty() ? 0 : 1;
  return by_bucket;
}

Status Ingester::Impl::Reserve(uint64_t bytes) {
  MutexLock l(&budget_mu);
  auto fits = [&]() REQUIRES(budget_mu) { return head_bytes == 0 || head_bytes + bytes <= opts.max_head_bytes; };
  if (!fits()) {
    if (opts.drop_on_backpressure) {
      rejected++;
      return Status::ResourceExhausted("ingest is saturated: unflushed data is at its limit");
    }
    auto deadline = std::chrono::steady_clock::now() + opts.backpressure_wait;
    waiting++;
    bool got_room = budget_cv.wait_until(l.native(), deadline, fits);
    waiting--;
    if (!got_room) {
      rejected++;
      return Status::ResourceExhausted("ingest is saturated: flushes did not catch up within " +
                                       FormatDuration(opts.backpressure_wait));
    }
  }
  head_bytes += bytes;
  return Status::OK();
}

void Ingester::Impl::Release(uint64_t bytes) {
  MutexLock l(&budget_mu);
  head_bytes -= std::min(head_bytes, bytes);
  budget_cv.notify_all();
}

storage::FilePtr Ingester::Impl::MakeHandle(storage::CatalogEntry e) {
  // A filter the query path cannot trust is dropped: the file is then
  // always scanned, never wrongly pruned.
  for (std::string* f : {&e.token_filter, &e.trigram_filter}) {
    if (!f->empty()) {
      if (Status st = storage::FuseFilter::Validate(*f); !st.ok()) {
        spdlog::error("catalog: filter of {} is unusable ({}); the file will be scanned", e.path, st.ToString());
        f->clear();
      }
    }
  }
  std::string local = e.tier == storage::Tier::kLocal ? io::JoinPath(opts.output_path, e.path) : std::string();
  return std::make_shared<const storage::FileHandle>(std::move(e), std::move(local), fs);
}

// Writes one sealed batch as a flush file and registers it in the catalog:
//  1. build the SQLite image (streams sorted by labels, lines by ts);
//  2. WriteSegmentFile: temp file, fsync, rename, fsync the directory;
//  3. one catalog insert (durable) names it.
// A crash after 2 leaves a finished file the catalog does not name: startup
// re-registers it. Its rows are also still in the WAL; replay skips them by
// the file's wal_seqs.
Result<storage::FilePtr> Ingester::Impl::WriteBatch(const Batch& batch) {
  storage::SegmentWriter w;
  std::vector<const StreamBuf*> order;
  for (const auto& [fp, s] : batch.streams) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const StreamBuf* a, const StreamBuf* b) { return a->labels_json < b->labels_json; });
  std::vector<const Entry*> entries;
  for (const StreamBuf* s : order) {
    // The batch is shared with queries (read-only): order pointers, not entries.
    entries.clear();
    for (const auto& e : s->entries) entries.push_back(&e);
    if (!std::is_sorted(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->ts < b->ts; })) {
      std::stable_sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) { return a->ts < b->ts; });
    }
    LOGE_RETURN_IF_ERROR(w.AddStream(s->labels, entries));
  }
  w.SetMeta("wal_buckets", std::to_string(buckets.size()));
  w.SetMeta("wal_bucket", std::to_string(batch.bucket));
  w.SetMeta("wal_seqs", EncodeSeqRanges(batch.seqs));
  storage::SegmentInfo info;
  LOGE_ASSIGN_OR_RETURN(std::string image, w.Finish(&info));
  std::string name =
      std::string(kFlushPrefix) + std::to_string(batch.bucket) + "-" + std::to_string(next_file_seq++) + kFileSuffix;
  storage::SeekableOptions so;
  so.level = opts.flush_level;
  LOGE_ASSIGN_OR_RETURN(uint64_t bytes, storage::WriteSegmentFile(fs, io::JoinPath(opts.output_path, name), image, so));
  storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kFlush, name, info, bytes);
  e.max_wal_seq = batch.seqs.empty() ? 0 : *std::max_element(batch.seqs.begin(), batch.seqs.end());
  LOGE_RETURN_IF_ERROR(catalog->Add(&e));
  return MakeHandle(std::move(e));
}

void Ingester::Impl::FlushLoop(std::stop_token st) {
  auto delay = std::chrono::milliseconds(0);
  for (;;) {
    std::shared_ptr<const Batch> batch;
    {
      MutexLock l(&reg_mu);
      reg_cv.wait(l.native(), st, [&]() REQUIRES(reg_mu) { return !queue.empty() || stopping; });
      if (queue.empty()) return;  // stopping and drained
      batch = queue.front();
      queue.pop_front();
    }
    auto file = WriteBatch(*batch);
    if (!file.ok()) {
      spdlog::error("flush of bucket {} failed (will retry; the rows stay queryable and in the WAL): {}",
                    batch->bucket, file.status().ToString());
      delay = delay.count() == 0 ? kFirstRetryDelay : std::min<std::chrono::milliseconds>(delay * 2, kMaxRetryDelay);
      MutexLock l(&reg_mu);
      queue.push_front(batch);
      reg_cv.wait_for(l.native(), st, delay, [&]() REQUIRES(reg_mu) { return stopping; });
      if (stopping) return;  // give up; the WAL still holds these rows
      continue;
    }
    delay = std::chrono::milliseconds(0);
    // The file is durable and cataloged: account for it before publishing,
    // so whoever waits for the publication (FlushAll) sees settled counters.
    head_rows -= batch->rows;
    Release(batch->bytes);
    tracker.Done(batch->seqs);
    {
      MutexLock l(&reg_mu);
      files.Add(std::move(*file));
      sealed.remove(batch);
      reg_cv.notify_all();
    }
    // A slot in the queue opened: seal buckets that filled up meanwhile.
    for (size_t i = 0; i < buckets.size(); i++) {
      SealIf(i, false, [&](const Batch& b) { return b.rows >= opts.payload_size; });
    }
  }
}

void Ingester::Impl::TickLoop(std::stop_token st) {
  auto tick = std::max<Duration>(opts.flush_interval / 4, std::chrono::milliseconds(5));
  std::mutex m;
  std::condition_variable_any cv;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(m);
      cv.wait_for(l, st, tick, [] { return false; });
    }
    if (st.stop_requested()) return;
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < buckets.size(); i++) {
      SealIf(i, false, [&](const Batch& b) { return b.rows > 0 && now - b.opened >= opts.flush_interval; });
    }
  }
}

Ingester::Ingester() : impl_(std::make_unique<Impl>()) {}

Ingester::~Ingester() { (void)Close(); }

bool Ingester::durable() const { return impl_->opts.durable; }

Status Ingester::Push(Payload p) {
  Impl* d = impl_.get();
  if (d->closed) return Status::Unavailable("loge is shutting down");
  uint64_t bytes = 0;
  for (const auto& s : p.streams) bytes += s.entries.empty() ? 0 : s.Bytes();
  LOGE_RETURN_IF_ERROR(d->Reserve(bytes));
  uint32_t nparts;
  auto by_bucket = d->SplitByBucket(&p, &nparts);
  std::string rec;
  EncodePayload(p, &rec);
  auto seq = d->wal->Append(rec, d->opts.durable, [&](uint64_t s) { d->tracker.Begin(s, nparts); });
  if (!seq.ok()) {
    d->Release(bytes);
    return seq.status();
  }
  d->InsertPayload(*seq, by_bucket);
  return Status::OK();
}

void Ingester::Snapshot(const query::Query& q, query::TopK* head, std::vector<query::FileRef>* files) {
  Impl* d = impl_.get();
  std::vector<std::shared_ptr<const Batch>> sealed;
  {
    MutexLock rl(&d->reg_mu);
    for (auto& b : d->buckets) {
      MutexLock bl(&b->mu);
      ScanBatch(*b->open, q, head);
    }
    sealed.assign(d->sealed.begin(), d->sealed.end());
    *files = d->files.Snapshot();
  }
  for (const auto& b : sealed) ScanBatch(*b, q, head);
}

std::vector<std::string> Ingester::LabelKeys() {
  Impl* d = impl_.get();
  std::set<std::string> keys;
  std::vector<storage::FilePtr> files;
  {
    MutexLock rl(&d->reg_mu);
    auto add_batch = [&](const Batch& b) {
      for (const auto& [fp, s] : b.streams) {
        for (const auto& [k, v] : s.labels) keys.insert(k);
      }
    };
    for (auto& b : d->buckets) {
      MutexLock bl(&b->mu);
      add_batch(*b->open);
    }
    for (const auto& b : d->sealed) add_batch(*b);
    files = d->files.Snapshot();
  }
  for (const auto& f : files) keys.insert(f->entry.label_keys.begin(), f->entry.label_keys.end());
  return {keys.begin(), keys.end()};
}

IngestStats Ingester::Stats() {
  Impl* d = impl_.get();
  IngestStats s;
  s.head_rows = d->head_rows;
  {
    MutexLock l(&d->budget_mu);
    s.head_bytes = d->head_bytes;
  }
  s.files = d->files.size();
  if (d->wal) {
    s.wal_bytes = d->wal->BytesOnDisk();
    s.wal_files = d->wal->FileCount();
  }
  s.watermark = d->tracker.Watermark();
  bool any = false;
  for (const auto& f : d->files.Snapshot()) {
    const auto& e = f->entry;
    (e.kind == storage::FileKind::kSegment ? s.segments : s.flush_files)++;
    if (e.tier == storage::Tier::kRemote) s.segments_remote++;
    s.rows_total += e.rows;
    s.min_ts = any ? std::min(s.min_ts, e.min_ts) : e.min_ts;
    s.max_ts = any ? std::max(s.max_ts, e.max_ts) : e.max_ts;
    any = true;
  }
  if (d->compactor) {
    auto cs = d->compactor->stats();
    s.compacted_rows = cs.rows;
    s.compaction_seconds = cs.seconds;
  }
  s.replayed_records = d->replayed;
  s.rejected_backpressure = d->rejected;
  s.backpressure_waiting = d->waiting;
  return s;
}

Status Ingester::FlushAll() {
  Impl* d = impl_.get();
  for (size_t i = 0; i < d->buckets.size(); i++) {
    d->SealIf(i, /*force_queue=*/true, [](const Batch& b) { return b.rows > 0; });
  }
  MutexLock l(&d->reg_mu);
  d->reg_cv.wait(l.native(), [&]() REQUIRES(d->reg_mu) { return d->sealed.empty() || d->stopping; });
  if (!d->sealed.empty()) return Status::Unavailable("shutting down before every batch was flushed");
  return Status::OK();
}

Status Ingester::TEST_Checkpoint() { return impl_->checkpointer->TEST_RunOnce(); }

void Ingester::TEST_SetCompactionHook(std::function<Status(int)> hook) {
  impl_->compactor->TEST_step_hook = std::move(hook);
}

Result<std::vector<std::pair<std::string, int64_t>>> Ingester::RunCatalogWorkerNow() {
  Impl* d = impl_.get();
  if (!d->opts.catalog_worker) return Status::Unavailable("no S3 tier is configured: start loge with --s3-bucket");
  if (d->closed) return Status::Unavailable("loge is shutting down");
  return d->opts.catalog_worker->RunNow();
}

Status Ingester::CompactNow() {
  LOGE_RETURN_IF_ERROR(impl_->checkpointer->TEST_RunOnce());
  return impl_->compactor->CompactAll();
}

Status Ingester::Close() {
  Impl* d = impl_.get();
  if (d->closed.exchange(true)) return Status::OK();
  Status st;
  if (d->wal) {
    // Flush with a bounded wait: a flush that keeps failing leaves its rows
    // in the WAL, where the next start finds them.
    for (size_t i = 0; i < d->buckets.size(); i++) {
      d->SealIf(i, true, [](const Batch& b) { return b.rows > 0; });
    }
    MutexLock l(&d->reg_mu);
    bool drained = d->reg_cv.wait_for(l.native(), std::chrono::seconds(30),
                                      [&]() REQUIRES(d->reg_mu) { return d->sealed.empty(); });
    if (!drained) st = Status::IOError("shutdown: some batches could not be flushed; they stay in the WAL");
    d->stopping = true;
    d->reg_cv.notify_all();
  }
  // Before the catalog closes (with the ingester): the worker uses it.
  if (d->opts.catalog_worker) d->opts.catalog_worker->Stop();
  if (d->compactor) d->compactor->Stop();
  d->ticker = std::jthread();
  d->workers.clear();  // jthread: request stop and join
  if (d->checkpointer) d->checkpointer->Stop();
  if (d->wal) {
    Status ws = d->wal->Close();
    // Everything flushed: the closed WAL files can all go, so the next start
    // replays nothing.
    if (ws.ok()) ws = d->wal->DeleteUpTo(d->tracker.Watermark()).status();
    if (st.ok()) st = ws;
  }
  return st;
}

}  // namespace loge::ingest
