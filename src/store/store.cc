#include "store/store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <map>

#include "io/file_system.h"
#include "storage/catalog_worker.h"
#include "storage/fuse_filter.h"
#include "storage/segment_writer.h"
#include "store/filename.h"
#include "store/push_observer.h"
#include "store/store_impl.h"

namespace loge::store {

namespace {

// A failed flush is retried after StoreOptions::flush_retry_delay (200 ms),
// doubling up to kMaxRetryDelay.
constexpr auto kMaxRetryDelay = std::chrono::seconds(10);
// How often a stalled flush re-checks the backlog besides merge wake-ups.
constexpr auto kStallRecheck = std::chrono::milliseconds(500);

}  // namespace

Result<int> CompressionLevel(std::string_view name) {
  if (name == "fastest") return 1;
  if (name == "default") return 3;
  if (name == "better") return 9;
  if (name == "best") return 19;
  return Status::InvalidArgument("unknown compression \"" + std::string(name) +
                                 "\" (want fastest, default, better or best)");
}

storage::FilePtr Store::Impl::MakeHandle(storage::CatalogEntry e) {
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
  return storage::FileHandle::Make(std::move(e), std::move(local), fs, filter_cache);
}

size_t Store::Impl::FlushFileCount() {
  size_t n = 0;
  for (const auto& f : files.Snapshot()) n += f->entry.kind == storage::FileKind::kFlush;
  return n;
}

// Writes one sealed batch as a flush file (level 0), crash-safely:
//  1. build the image in memory: streams sorted by labels, lines by ts,
//     filters over the text, and in meta which WAL record parts it holds;
//  2. compress it into flush-<bucket>-<seq>.sqlite.zst.tmp, fsync, rename,
//     fsync the directory (SegmentWriter::WriteFile);
//  3. one catalog insert (durable) names it.
// A crash after 2 leaves a finished file the catalog does not name: recovery
// re-registers it (its WAL seqs are above the persisted watermark) and
// replay skips the record parts it holds. When step 3 fails, FlushLoop
// retries step 3 for the same file — never writes a second copy.
Result<storage::FilePtr> Store::Impl::WriteBatch(const ingest::Batch& batch, std::string* name,
                                                 storage::CatalogEntry* pending) {
  if (name->empty()) {
    storage::SegmentWriterOptions wo;
    wo.group_lines = opts.group_lines;
    wo.trigram_filters = false;  // id keys only: see FilterBuilder
    wo.keep_block_id_keys = true;  // its merge reuses them (docs/merges.md)
    storage::SegmentWriter w(wo);
    std::vector<const ingest::StreamBuf*> order;
    for (const auto& [fp, s] : batch.streams) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](const ingest::StreamBuf* a, const ingest::StreamBuf* b) {
      return a->labels_json < b->labels_json;
    });
    std::vector<const Entry*> entries;
    for (const ingest::StreamBuf* s : order) {
      // The batch is shared with queries (read-only): order pointers, not entries.
      entries.clear();
      for (const auto& e : s->entries) entries.push_back(&e);
      auto by_ts = [](const Entry* a, const Entry* b) { return a->ts < b->ts; };
      if (!std::is_sorted(entries.begin(), entries.end(), by_ts)) {
        std::stable_sort(entries.begin(), entries.end(), by_ts);
      }
      LOGE_RETURN_IF_ERROR(w.AddStream(s->labels, entries));
    }
    w.SetMeta("wal_buckets", std::to_string(head->buckets()));
    w.SetMeta("wal_bucket", std::to_string(batch.bucket));
    w.SetMeta("wal_seqs", EncodeSeqRanges(batch.seqs));
    w.SetMeta("level", "0");
    const std::string file = FlushFileName(static_cast<uint64_t>(batch.bucket), next_file_seq++);
    storage::SegmentInfo info;
    LOGE_RETURN_IF_ERROR(w.WriteFile(fs, io::JoinPath(opts.output_path, file), opts.flush_level, &info));
    *pending = storage::EntryFor(storage::FileKind::kFlush, file, info, info.bytes);
    pending->max_wal_seq = batch.seqs.empty() ? 0 : *std::max_element(batch.seqs.begin(), batch.seqs.end());
    *name = file;
  }
  storage::CatalogEntry e = *pending;
  LOGE_RETURN_IF_ERROR(catalog->Add(&e));
  return MakeHandle(std::move(e));
}

// Holds a flush back while the flush files waiting for merges are at their
// cap and merges can reduce them: the head then fills, and pushes wait or
// get 429 (ingest::Head::Reserve) instead of the backlog growing without
// bound.
void Store::Impl::WaitForBacklog(std::stop_token st) {
  if (!merger || !merger->enabled()) return;
  auto over = [&] { return FlushFileCount() >= opts.max_backlog_files && merger->HasWork(); };
  if (!over()) return;
  flush_stalls++;
  flush_stalled = true;
  while (!st.stop_requested() && !closed && over()) {
    merger->WaitWhile(over, std::chrono::steady_clock::now() + kStallRecheck);
  }
  flush_stalled = false;
}

void Store::Impl::FlushLoop(std::stop_token st) {
  for (;;) {
    ingest::BatchPtr batch = head->NextSealed(st);
    if (!batch) return;  // stopping and drained
    WaitForBacklog(st);
    // Fresh numbers before a write: a flush frees WAL space, but the
    // pushes it makes room for should see the disk as it is now.
    disk->Check();
    std::string name;  // set once the file is on disk
    storage::CatalogEntry pending;
    auto delay = std::chrono::milliseconds(0);
    Result<storage::FilePtr> file = Status::Unavailable("not written");
    const int64_t t0 = SteadyNanos();
    for (;;) {
      file = WriteBatch(*batch, &name, &pending);
      if (file.ok()) break;
      flush_failures++;
      spdlog::error("flush of bucket {} failed ({}; will retry; the rows stay queryable and in the WAL): {}",
                    batch->bucket, name.empty() ? "writing the file" : "registering " + name,
                    file.status().ToString());
      delay = delay.count() == 0 ? opts.flush_retry_delay : std::min<std::chrono::milliseconds>(delay * 2, kMaxRetryDelay);
      if (head->WaitOrStop(delay, st)) break;  // give up: the WAL still holds these rows
    }
    if (!file.ok()) {
      head->Requeue(batch);
      return;
    }
    tracker.Done(batch->seqs);
    head->Retire(batch, [&] { files.Add(std::move(*file)); });
    flushes++;
    flush_seconds.Observe(SecondsSince(t0));
    if (merger) merger->Wake();
    // A slot in the queue opened: seal batches that filled up meanwhile.
    head->SealFull();
  }
}

void Store::Impl::CheckResidentFilters() {
  std::vector<std::shared_ptr<const io::MappedRegion>> regions;
  for (const auto& f : files.Snapshot()) {
    if (f->entry.filters && f->entry.filters->region) regions.push_back(f->entry.filters->region);
  }
  resident_filters->Check(std::move(regions));
}

void Store::Impl::TickLoop(std::stop_token st) {
  auto tick = std::max<Duration>(std::min<Duration>(opts.flush_interval / 4, opts.disk_check_interval),
                                 std::chrono::milliseconds(5));
  auto next_disk_check = std::chrono::steady_clock::now() + opts.disk_check_interval;
  std::mutex m;
  std::condition_variable_any cv;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(m);
      cv.wait_for(l, st, tick, [] { return false; });
    }
    if (st.stop_requested()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_disk_check) {
      disk->Check();
      CheckResidentFilters();
      next_disk_check = now + opts.disk_check_interval;
    }
    head->SealDue(now);
  }
}

Store::Store() : impl_(std::make_unique<Impl>()) {}

Store::~Store() {
  (void)Close();
  impl_->Unlock();
}

bool Store::durable() const { return impl_->opts.durable; }

Status Store::Push(Payload p) {
  Impl* d = impl_.get();
  if (d->closed) return Status::Unavailable("loge is shutting down");
  LOGE_RETURN_IF_ERROR(d->disk->AdmitWrite());
  uint64_t bytes = 0, lines = 0, line_bytes = 0;
  for (const auto& s : p.streams) {
    bytes += s.entries.empty() ? 0 : s.Bytes();
    lines += s.entries.size();
    for (const auto& e : s.entries) line_bytes += e.line.size();
  }
  LOGE_RETURN_IF_ERROR(d->head->Reserve(bytes));
  uint32_t nparts;
  auto by_bucket = d->head->SplitByBucket(&p, &nparts);
  std::string rec;
  EncodePayload(p, &rec);
  auto seq = d->wal->Append(rec, d->opts.durable, [&](uint64_t s) { d->tracker.Begin(s, nparts); });
  if (!seq.ok()) {
    d->head->Release(bytes);
    return seq.status();
  }
  // Capture before Insert (which moves the entries out of p); publish once
  // the rows are visible (push_observer.h).
  std::unique_ptr<PushObserver::Captured> watched;
  if (d->opts.push_observer != nullptr) watched = d->opts.push_observer->Capture(p);
  d->head->Insert(*seq, by_bucket);
  d->ingested_lines += lines;
  d->ingested_bytes += line_bytes;
  if (watched) d->opts.push_observer->Publish(std::move(watched));
  return Status::OK();
}

Status Store::Writable() {
  Impl* d = impl_.get();
  if (d->closed) return Status::Unavailable("loge is shutting down");
  LOGE_RETURN_IF_ERROR(d->disk->AdmitWrite());
  if (d->wal && !d->wal->Healthy()) {
    return Status::Unavailable("the write-ahead log failed (see the log); pushes are refused until loge restarts");
  }
  return Status::OK();
}

void Store::Snapshot(const query::Query& q, query::TopK* head, std::vector<query::FileRef>* files) {
  impl_->head->Scan(q, head, [&] { *files = impl_->files.Snapshot(); });
}

std::vector<std::string> Store::LabelKeys() {
  std::vector<std::string> keys;
  std::vector<storage::FilePtr> files;
  impl_->head->LabelKeys(&keys, [&] { files = impl_->files.Snapshot(); });
  for (const auto& f : files) keys.insert(keys.end(), f->entry.label_keys.begin(), f->entry.label_keys.end());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

int64_t Store::OldestKept() {
  return impl_->retention ? impl_->retention->Floor() : std::numeric_limits<int64_t>::min();
}

std::function<int64_t(const Labels&)> Store::StreamFloors() {
  return impl_->retention ? impl_->retention->StreamFloors() : nullptr;
}

query::Tombstones Store::PendingDeletes() { return impl_->deletes ? impl_->deletes->Pending() : nullptr; }

Result<storage::DeleteRequestRow> Store::CreateDelete(std::string_view query, int64_t start, int64_t end) {
  if (impl_->closed) return Status::Unavailable("loge is shutting down");
  return impl_->deletes->Create(query, start, end);
}

std::vector<storage::DeleteRequestRow> Store::ListDeletes() { return impl_->deletes->List(); }

Status Store::CancelDelete(const std::string& id) {
  if (impl_->closed) return Status::Unavailable("loge is shutting down");
  return impl_->deletes->Cancel(id);
}

Status Store::RunDeletesNow() {
  if (impl_->closed) return Status::Unavailable("loge is shutting down");
  return impl_->deletes->RunOnce();
}

Status Store::RunRetentionNow() {
  Impl* d = impl_.get();
  if (d->closed) return Status::Unavailable("loge is shutting down");
  if (!d->retention || !d->retention->enabled()) return Status::OK();
  return d->retention->RunOnce();
}

void Store::TEST_SetRetentionHook(std::function<Status(int)> hook) {
  impl_->retention->TEST_step_hook = std::move(hook);
}

StoreStats Store::Stats() {
  Impl* d = impl_.get();
  StoreStats s;
  const ingest::HeadStats hs = d->head->Stats();
  s.head_rows = hs.rows;
  s.head_bytes = hs.bytes;
  s.rejected_backpressure = hs.rejected;
  s.backpressure_waiting = hs.waiting;
  if (d->wal) {
    s.wal_bytes = d->wal->BytesOnDisk();
    s.wal_files = d->wal->FileCount();
  }
  s.watermark = d->tracker.Watermark();
  std::map<int, std::pair<uint64_t, uint64_t>> levels;  // level -> (files, bytes)
  bool any = false;
  const storage::FilterCache::Stats cache = d->filter_cache->GetStats();
  s.filter_cache_bytes = cache.bytes;
  s.filter_cache_hits = cache.hits;
  s.filter_cache_misses = cache.misses;
  const ResidentFilters::Stats resident = d->resident_filters->GetStats();
  s.filter_resident_bytes = resident.resident_bytes;
  s.filter_released_bytes = resident.released_bytes;
  const auto files = d->files.Snapshot();
  s.files = files.size();
  for (const auto& f : files) {
    const auto& e = f->entry;
    (e.kind == storage::FileKind::kSegment ? s.segments : s.flush_files)++;
    if (e.tier == storage::Tier::kRemote) {
      s.segments_remote++;
      s.remote_bytes += e.bytes;
      s.rows_remote += e.rows;
    } else {
      s.local_bytes += e.bytes;
      s.rows_local += e.rows;
      s.line_bytes += e.line_bytes;
    }
    uint64_t filter_bytes = 0;
    if (e.filters) filter_bytes += e.filters->HeapBytes() + e.filters->groups.size() * sizeof(storage::GroupFilter);
    if (e.filters && e.filters->mapped()) s.filter_mapped_bytes += e.filters->Bytes();
    if (e.block_id_keys) filter_bytes += e.block_id_keys->Bytes();
    s.filter_memory_bytes += filter_bytes;
    if (e.kind == storage::FileKind::kFlush) s.filter_memory_flush_bytes += filter_bytes;
    auto& level = levels[e.kind == storage::FileKind::kFlush ? 0 : std::max(e.level, 1)];
    level.first++;
    level.second += e.bytes;
    s.rows_total += e.rows;
    s.min_ts = any ? std::min(s.min_ts, e.min_ts) : e.min_ts;
    s.max_ts = any ? std::max(s.max_ts, e.max_ts) : e.max_ts;
    any = true;
  }
  for (const auto& [level, fb] : levels) {
    s.files_by_level.emplace_back(level, fb.first);
    s.bytes_by_level.emplace_back(level, fb.second);
  }
  s.ingested_lines = d->ingested_lines;
  s.ingested_bytes = d->ingested_bytes;
  s.flushes = d->flushes;
  s.flush_seconds = d->flush_seconds.Take();
  if (d->wal) {
    s.wal_fsync_seconds = d->wal->FsyncSeconds();
    s.wal_healthy = d->wal->Healthy();
  }
  if (d->merger) {
    const MergerStats ms = d->merger->stats();
    s.merged_rows = ms.rows;
    s.merges = ms.merges;
    s.merge_seconds = ms.seconds;
    s.merge_cpu_seconds = ms.cpu_seconds;
    s.merges_running = ms.running;
    s.merge_failures = ms.failures;
    const Backlog b = d->merger->backlog();
    s.backlog_files = b.files;
    s.backlog_bytes = b.bytes;
    s.merge_lag_seconds = b.lag_seconds;
  }
  s.flush_stalls = d->flush_stalls;
  s.flush_failures = d->flush_failures;
  s.files_quarantined = d->files_quarantined;
  s.quarantine_failures = d->quarantine_failures;
  s.catalog_rebuilds = d->catalog_rebuilds;
  s.flush_stalled = d->flush_stalled;
  s.replayed_records = d->replayed;
  s.disk = d->disk->state();
  s.wal_corrupt_records = d->wal_corrupt_records;
  s.wal_corrupt_bytes = d->wal_corrupt_bytes;
  s.wal_torn_bytes = d->wal_torn_bytes;
  if (d->deletes) s.deletes = d->deletes->stats();
  if (d->retention) {
    s.retention = d->retention->stats();
    const int64_t floor = d->retention->Floor();
    s.retention_floor = floor == std::numeric_limits<int64_t>::min() ? 0 : floor;
  }
  return s;
}

Status Store::FlushAll() {
  Impl* d = impl_.get();
  d->head->SealAll();
  if (!d->head->WaitRetired(std::chrono::steady_clock::time_point::max())) {
    return Status::Unavailable("shutting down before every batch was flushed");
  }
  return Status::OK();
}

Status Store::TEST_Checkpoint() { return impl_->checkpointer->TEST_RunOnce(); }

void Store::TEST_SetMergeHook(std::function<Status(int)> hook) { impl_->merger->TEST_step_hook = std::move(hook); }

Result<std::vector<std::pair<std::string, int64_t>>> Store::RunCatalogWorkerNow() {
  Impl* d = impl_.get();
  if (!d->opts.catalog_worker) return Status::Unavailable("no S3 tier is configured: start loge with --s3-bucket");
  if (d->closed) return Status::Unavailable("loge is shutting down");
  return d->opts.catalog_worker->RunNow();
}

Status Store::CompactNow() {
  LOGE_RETURN_IF_ERROR(FlushAll());
  LOGE_RETURN_IF_ERROR(impl_->checkpointer->TEST_RunOnce());
  return impl_->merger->MergeAll();
}

Status Store::Close() {
  Impl* d = impl_.get();
  if (d->closed.exchange(true)) return Status::OK();
  // First: a delete pass flushes the head and rewrites through the merger.
  if (d->deletes) d->deletes->Stop();
  Status st;
  if (d->wal && d->head) {
    // Flush with a bounded wait: a flush that keeps failing leaves its rows
    // in the WAL, where the next start finds them.
    d->head->SealAll();
    if (!d->head->WaitRetired(std::chrono::steady_clock::now() + std::chrono::seconds(30))) {
      st = Status::IOError("shutdown: some batches could not be flushed; they stay in the WAL");
    }
  }
  if (d->head) d->head->Stop();
  // Before the uploader stops: a pass may be deleting through it.
  if (d->retention) d->retention->Stop();
  // Before the catalog closes (with the store): the worker uses it.
  if (d->opts.catalog_worker) d->opts.catalog_worker->Stop();
  if (d->merger) d->merger->Stop();
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

}  // namespace loge::store
