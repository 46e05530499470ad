#include "ingest/ingester.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/mutex.h"
#include "ingest/flushed_seqs.h"
#include "io/file_system.h"
#include "storage/segment_reader.h"
#include "storage/segment_writer.h"
#include "wal/checkpointer.h"
#include "wal/wal.h"

namespace loge::ingest {

namespace {

constexpr const char* kFlushPrefix = "flush-";
constexpr const char* kFileSuffix = ".sqlite.zst";
// A failed flush is retried after this long, doubling up to kMaxRetryDelay.
constexpr auto kFirstRetryDelay = std::chrono::milliseconds(200);
constexpr auto kMaxRetryDelay = std::chrono::seconds(10);

bool EndsWith(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

// Parses "flush-<bucket>-<seq>.sqlite.zst"; false for other names.
bool ParseFlushName(std::string_view name, uint64_t* seq) {
  if (name.rfind(kFlushPrefix, 0) != 0 || !EndsWith(name, kFileSuffix)) return false;
  std::string_view mid = name.substr(6, name.size() - 6 - std::string_view(kFileSuffix).size());
  size_t dash = mid.find('-');
  if (dash == std::string_view::npos) return false;
  int64_t b, s;
  if (!ParseInt64(mid.substr(0, dash), &b) || !ParseInt64(mid.substr(dash + 1), &s) || s < 0) return false;
  *seq = static_cast<uint64_t>(s);
  return true;
}

struct StreamBuf {
  Labels labels;
  std::string labels_json;
  std::vector<Entry> entries;
};

// An open or sealed batch of one bucket.
struct Batch {
  int bucket = 0;
  std::unordered_map<uint64_t, StreamBuf> streams;  // by label fingerprint
  std::vector<uint64_t> seqs;                       // one entry per WAL record part
  uint64_t rows = 0;
  uint64_t bytes = 0;
  std::chrono::steady_clock::time_point opened;
};

struct Bucket {
  Mutex mu;
  std::unique_ptr<Batch> open GUARDED_BY(mu);  // never null
};

void ScanBatch(const Batch& b, const query::Query& q, query::TopK* top) {
  for (const auto& [fp, s] : b.streams) {
    if (!q.MatchesLabels(s.labels)) continue;
    for (const auto& e : s.entries) {
      if (!q.InWindow(e.ts) || !top->Admits(e.ts) || !q.MatchesLine(e.line)) continue;
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

struct Ingester::Impl {
  IngestOptions opts;
  io::FileSystem* fs = io::DefaultFileSystem();
  std::vector<std::unique_ptr<Bucket>> buckets;
  FlushedSeqs flushed;  // startup only: WAL record parts already in files

  // Registry: sealed batches and published files (invariant 1).
  Mutex reg_mu;
  std::list<std::shared_ptr<const Batch>> sealed GUARDED_BY(reg_mu);  // not yet published
  std::deque<std::shared_ptr<const Batch>> queue GUARDED_BY(reg_mu);  // not yet taken by a worker
  std::vector<query::FileRef> files GUARDED_BY(reg_mu);
  std::condition_variable_any reg_cv;  // queue non-empty, or a batch got published
  bool stopping GUARDED_BY(reg_mu) = false;
  std::atomic<uint64_t> next_file_seq{1};

  // Head byte budget (backpressure).
  Mutex budget_mu;
  std::condition_variable_any budget_cv;
  uint64_t head_bytes GUARDED_BY(budget_mu) = 0;
  std::atomic<uint64_t> head_rows{0};
  std::atomic<uint64_t> rejected{0};

  wal::SeqTracker tracker;
  std::unique_ptr<wal::Wal> wal;
  std::unique_ptr<wal::Checkpointer> checkpointer;
  uint64_t replayed = 0;
  std::atomic<bool> closed{false};
  std::vector<std::jthread> workers;
  std::jthread ticker;

  int BucketOf(uint64_t fp) const { return static_cast<int>(fp % buckets.size()); }

  // Moves the bucket's open batch into the registry. Caller holds reg_mu and
  // the bucket's mutex (lock order: reg_mu first).
  void SealLocked(Bucket* b, bool force_queue) REQUIRES(reg_mu, b->mu) {
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

  // Seals bucket i if `pred` holds for its open batch.
  template <typename Pred>
  void SealIf(size_t i, bool force_queue, Pred pred) {
    MutexLock rl(&reg_mu);
    Bucket* b = buckets[i].get();
    MutexLock bl(&b->mu);
    if (pred(*b->open)) SealLocked(b, force_queue);
  }

  // Inserts one bucket's part of record `seq`. Seals at payload_size.
  void Insert(int bi, uint64_t seq, std::vector<Stream*>& parts) {
    Bucket* b = buckets[bi].get();
    bool full;
    {
      MutexLock bl(&b->mu);
      Batch* batch = b->open.get();
      for (Stream* s : parts) {
        uint64_t fp = Fingerprint(s->labels);
        auto [it, fresh] = batch->streams.try_emplace(fp);
        StreamBuf& sb = it->second;
        if (fresh) {
          sb.labels = s->labels;
          sb.labels_json = LabelsToJson(s->labels);
        }
        batch->bytes += s->Bytes();
        for (auto& e : s->entries) sb.entries.push_back(std::move(e));
        batch->rows += s->entries.size();
        head_rows += s->entries.size();
      }
      batch->seqs.push_back(seq);
      full = batch->rows >= opts.payload_size;
    }
    if (full) {
      SealIf(bi, false, [&](const Batch& bt) { return bt.rows >= opts.payload_size; });
    }
  }

  // Splits p by bucket and inserts it as record seq.
  void InsertPayload(uint64_t seq, const std::vector<std::vector<Stream*>>& by_bucket) {
    for (size_t i = 0; i < by_bucket.size(); i++) {
      if (by_bucket[i].empty()) continue;
      auto parts = by_bucket[i];
      Insert(static_cast<int>(i), seq, parts);
    }
  }

  std::vector<std::vector<Stream*>> SplitByBucket(Payload* p, uint32_t* nparts) {
    std::vector<std::vector<Stream*>> by_bucket(buckets.size());
    for (auto& s : p->streams) {
      if (s.entries.empty()) continue;
      by_bucket[BucketOf(Fingerprint(s.labels))].push_back(&s);
    }
    *nparts = 0;
    for (auto& v : by_bucket) *nparts += v.empty() ? 0 : 1;
    return by_bucket;
  }

  Status Reserve(uint64_t bytes) {
    MutexLock l(&budget_mu);
    auto fits = [&] { return head_bytes == 0 || head_bytes + bytes <= opts.max_head_bytes; };
    if (!fits()) {
      if (opts.drop_on_backpressure) {
        rejected++;
        return Status::ResourceExhausted("ingest is saturated: unflushed data is at its limit");
      }
      auto deadline = std::chrono::steady_clock::now() + opts.backpressure_wait;
      if (!budget_cv.wait_until(l.native(), deadline, fits)) {
        rejected++;
        return Status::ResourceExhausted("ingest is saturated: flushes did not catch up within " +
                                         FormatDuration(opts.backpressure_wait));
      }
    }
    head_bytes += bytes;
    return Status::OK();
  }

  void Release(uint64_t bytes) {
    MutexLock l(&budget_mu);
    head_bytes -= std::min(head_bytes, bytes);
    budget_cv.notify_all();
  }

  // Writes one sealed batch to a flush file.
  Result<query::FileRef> WriteBatch(const Batch& batch) {
    storage::SegmentWriter w;
    std::vector<const StreamBuf*> order;
    for (const auto& [fp, s] : batch.streams) order.push_back(&s);
    std::sort(order.begin(), order.end(),
              [](const StreamBuf* a, const StreamBuf* b) { return a->labels_json < b->labels_json; });
    for (const StreamBuf* s : order) {
      std::vector<Entry> entries = s->entries;
      std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.ts < b.ts; });
      LOGE_RETURN_IF_ERROR(w.AddStream(s->labels, entries));
    }
    w.SetMeta("wal_buckets", std::to_string(buckets.size()));
    w.SetMeta("wal_bucket", std::to_string(batch.bucket));
    w.SetMeta("wal_seqs", EncodeSeqRanges(batch.seqs));
    storage::SegmentInfo info;
    LOGE_ASSIGN_OR_RETURN(std::string image, w.Finish(&info));
    uint64_t seq = next_file_seq++;
    std::string name = std::string(kFlushPrefix) + std::to_string(batch.bucket) + "-" + std::to_string(seq) + kFileSuffix;
    std::string path = io::JoinPath(opts.output_path, name);
    LOGE_ASSIGN_OR_RETURN(uint64_t bytes, storage::WriteSegmentFile(fs, path, image, opts.flush_level));
    (void)bytes;
    return query::FileRef{path, info.min_ts, info.max_ts, info.rows, info.label_keys};
  }

  void FlushLoop(std::stop_token st) {
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
      // The file is durable: account for it before publishing, so whoever
      // waits for the publication (FlushAll) sees the counters settled.
      head_rows -= batch->rows;
      Release(batch->bytes);
      tracker.Done(batch->seqs);
      {
        MutexLock l(&reg_mu);
        files.push_back(*file);
        sealed.remove(batch);
        reg_cv.notify_all();
      }
      // A slot in the queue opened: seal buckets that filled up meanwhile.
      for (size_t i = 0; i < buckets.size(); i++) {
        SealIf(i, false, [&](const Batch& b) { return b.rows >= opts.payload_size; });
      }
    }
  }

  void TickLoop(std::stop_token st) {
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

  // Notes which WAL record parts a flush file holds (see FlushedSeqs).
  Status LoadWalSeqs(storage::SegmentReader* r) {
    auto nb = r->ReadMeta("wal_buckets");
    if (!nb.ok()) return nb.status().code() == Code::kNotFound ? Status::OK() : nb.status();
    LOGE_ASSIGN_OR_RETURN(std::string b, r->ReadMeta("wal_bucket"));
    LOGE_ASSIGN_OR_RETURN(std::string seqs, r->ReadMeta("wal_seqs"));
    int64_t nbv, bv;
    if (!ParseInt64(*nb, &nbv) || !ParseInt64(b, &bv) || nbv < 1 || bv < 0 || bv >= nbv) {
      return Status::Corruption("meta wal_buckets/wal_bucket are malformed");
    }
    LOGE_ASSIGN_OR_RETURN(auto ranges, DecodeSeqRanges(seqs));
    flushed.Add(static_cast<uint32_t>(nbv), static_cast<uint32_t>(bv), ranges);
    return Status::OK();
  }

  Status LoadExistingFiles() {
    LOGE_RETURN_IF_ERROR(fs->CreateDirs(opts.output_path));
    LOGE_ASSIGN_OR_RETURN(auto names, fs->ListDir(opts.output_path));
    std::sort(names.begin(), names.end());
    uint64_t max_seq = 0;
    for (const auto& name : names) {
      std::string path = io::JoinPath(opts.output_path, name);
      if (EndsWith(name, ".tmp")) {
        // Unfinished write from before a crash: its rows are still in the WAL.
        spdlog::info("startup: deleting unfinished file {}", path);
        LOGE_RETURN_IF_ERROR(fs->Remove(path));
        continue;
      }
      uint64_t seq;
      if (!ParseFlushName(name, &seq)) continue;
      max_seq = std::max(max_seq, seq);
      auto reader = storage::SegmentReader::Open(path);
      Result<storage::SegmentInfo> info = reader.ok() ? (*reader)->ReadInfo() : Result<storage::SegmentInfo>(reader.status());
      if (!info.ok()) {
        return info.status().WithContext("startup: cannot read " + path + " (move it away to start)");
      }
      LOGE_RETURN_IF_ERROR(LoadWalSeqs(reader->get()).WithContext("startup: " + path));
      MutexLock l(&reg_mu);
      files.push_back(query::FileRef{path, info->min_ts, info->max_ts, info->rows, info->label_keys});
    }
    next_file_seq = max_seq + 1;
    return Status::OK();
  }
};

Ingester::Ingester() : impl_(std::make_unique<Impl>()) {}

Ingester::~Ingester() { (void)Close(); }

Result<std::unique_ptr<Ingester>> Ingester::Open(const IngestOptions& opts) {
  if (opts.buckets < 1) return Status::InvalidArgument("--buckets must be at least 1");
  if (opts.payload_size < 1) return Status::InvalidArgument("--payload-size must be at least 1");
  if (opts.flush_workers < 1) return Status::InvalidArgument("--flush-workers must be at least 1");
  if (opts.flush_queue < 1) return Status::InvalidArgument("--flush-queue must be at least 1");
  if (opts.flush_interval <= Duration(0)) return Status::InvalidArgument("--flush-interval must be positive");
  if (opts.checkpoint_interval <= Duration(0)) {
    return Status::InvalidArgument("--checkpoint-interval must be positive");
  }
  std::unique_ptr<Ingester> ing(new Ingester());
  Impl* d = ing->impl_.get();
  d->opts = opts;
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < opts.buckets; i++) {
    auto b = std::make_unique<Bucket>();
    MutexLock l(&b->mu);
    b->open = std::make_unique<Batch>();
    b->open->bucket = i;
    b->open->opened = now;
    d->buckets.push_back(std::move(b));
  }
  LOGE_RETURN_IF_ERROR(d->LoadExistingFiles());

  // Replay: every intact WAL record goes back into the head. Sealed batches
  // may exceed flush_queue here; the workers start right after.
  wal::Options wo;
  wo.dir = io::JoinPath(opts.output_path, "wal");
  wo.sync = opts.durable;
  wal::ReplayStats rs;
  auto replay = [d](uint64_t seq, std::string_view rec) -> Status {
    auto p = DecodePayload(rec);
    if (!p.ok()) {
      spdlog::warn("wal replay: record {} does not decode ({}); skipped", seq, p.status().ToString());
      d->tracker.Begin(seq, 0);
      return Status::OK();
    }
    // Parts already in a flush file (a crash came before the checkpoint
    // trimmed the WAL) are not stored twice.
    std::erase_if(p->streams, [&](const Stream& s) { return d->flushed.Contains(seq, Fingerprint(s.labels)); });
    uint32_t nparts;
    auto by_bucket = d->SplitByBucket(&*p, &nparts);
    d->tracker.Begin(seq, nparts);
    {
      MutexLock l(&d->budget_mu);
      for (const auto& s : p->streams) d->head_bytes += s.entries.empty() ? 0 : s.Bytes();
    }
    d->InsertPayload(seq, by_bucket);
    return Status::OK();
  };
  LOGE_ASSIGN_OR_RETURN(d->wal, wal::Wal::Open(wo, replay, &rs));
  d->replayed = rs.records;
  if (rs.files > 0) {
    spdlog::info("wal replay: {} records from {} files; {} bytes of torn or corrupt tail dropped", rs.records,
                 rs.files, rs.dropped_bytes);
  }
  wal::CheckpointerOptions co;
  co.interval = std::chrono::duration_cast<std::chrono::milliseconds>(opts.checkpoint_interval);
  co.output_dir = opts.output_path;
  d->checkpointer = std::make_unique<wal::Checkpointer>(co, &d->tracker, d->wal.get());
  for (int i = 0; i < opts.flush_workers; i++) {
    d->workers.emplace_back([d](std::stop_token st) { d->FlushLoop(st); });
  }
  d->ticker = std::jthread([d](std::stop_token st) { d->TickLoop(st); });
  return ing;
}

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
    *files = d->files;
  }
  for (const auto& b : sealed) ScanBatch(*b, q, head);
}

std::vector<std::string> Ingester::LabelKeys() {
  Impl* d = impl_.get();
  std::set<std::string> keys;
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
  for (const auto& f : d->files) keys.insert(f.label_keys.begin(), f.label_keys.end());
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
  {
    MutexLock l(&d->reg_mu);
    s.files = d->files.size();
  }
  if (d->wal) {
    s.wal_bytes = d->wal->BytesOnDisk();
    s.wal_files = d->wal->FileCount();
  }
  s.watermark = d->tracker.Watermark();
  s.replayed_records = d->replayed;
  s.rejected_backpressure = d->rejected;
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

Status Ingester::Close() {
  Impl* d = impl_.get();
  if (d->closed.exchange(true)) return Status::OK();
  Status st;
  if (d->wal) {
    // Flush with a bounded retry: a flush that keeps failing leaves its rows
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
