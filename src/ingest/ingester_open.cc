// Ingester startup: reconcile the output directory with the catalog, then
// replay the WAL into the head, then start the threads.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "ingest/ingester_impl.h"
#include "io/file_system.h"
#include "storage/catalog_worker.h"
#include "storage/segment_reader.h"

namespace loge::ingest {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool ParseFlushName(std::string_view name, uint64_t* seq) {
  if (name.rfind(kFlushPrefix, 0) != 0 || !EndsWith(name, kFileSuffix)) return false;
  std::string_view prefix(kFlushPrefix), suffix(kFileSuffix);
  std::string_view mid = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  size_t dash = mid.find('-');
  if (dash == std::string_view::npos) return false;
  int64_t b, s;
  if (!ParseInt64(mid.substr(0, dash), &b) || !ParseInt64(mid.substr(dash + 1), &s) || s < 0 || b < 0) return false;
  *seq = static_cast<uint64_t>(s);
  return true;
}

namespace {

// The WAL record parts a flush file holds, from its meta (see FlushedSeqs).
// Returns false (and nothing added) for files without that meta.
Result<uint64_t> LoadWalSeqs(storage::SegmentReader* r, FlushedSeqs* flushed) {
  auto nb = r->ReadMeta("wal_buckets");
  if (!nb.ok()) return nb.status().code() == Code::kNotFound ? Result<uint64_t>(uint64_t{0}) : nb.status();
  LOGE_ASSIGN_OR_RETURN(std::string b, r->ReadMeta("wal_bucket"));
  LOGE_ASSIGN_OR_RETURN(std::string seqs, r->ReadMeta("wal_seqs"));
  int64_t nbv, bv;
  if (!ParseInt64(*nb, &nbv) || !ParseInt64(b, &bv) || nbv < 1 || bv < 0 || bv >= nbv) {
    return Status::Corruption("meta wal_buckets/wal_bucket are malformed");
  }
  LOGE_ASSIGN_OR_RETURN(auto ranges, DecodeSeqRanges(seqs));
  flushed->Add(static_cast<uint32_t>(nbv), static_cast<uint32_t>(bv), ranges);
  uint64_t max = 0;
  for (auto [lo, hi] : ranges) max = std::max(max, hi);
  return max;
}

}  // namespace

// A catalog entry rebuilt from a file's own meta (and filters, for segments).
Result<storage::CatalogEntry> Ingester::Impl::EntryFromFile(const std::string& path, const std::string& name,
                                                           storage::FileKind kind) {
  auto reader = storage::SegmentReader::Open(path);
  Result<storage::SegmentInfo> info =
      reader.ok() ? (*reader)->ReadInfo() : Result<storage::SegmentInfo>(reader.status());
  if (!info.ok()) return info.status().WithContext("reconcile: cannot read " + path + " (move it away to start)");
  LOGE_ASSIGN_OR_RETURN(uint64_t bytes, fs->FileSize(path));
  storage::CatalogEntry e = storage::EntryFor(kind, name, *info, bytes);
  if (kind == storage::FileKind::kFlush) {
    FlushedSeqs scratch;
    LOGE_ASSIGN_OR_RETURN(e.max_wal_seq, LoadWalSeqs(reader->get(), &scratch));
  } else {
    auto tf = (*reader)->ReadMeta("token_filter");
    if (tf.ok()) e.token_filter = std::move(*tf);
    auto gf = (*reader)->ReadMeta("trigram_filter");
    if (gf.ok()) e.trigram_filter = std::move(*gf);
  }
  return e;
}

// A segment's compaction committed iff at least one of its sources is gone:
// sources are unlinked only after the catalog transaction.
Result<bool> Ingester::Impl::SegmentCommitted(const std::string& path, const std::set<std::string>& on_disk) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(path));
  auto sources = reader->ReadMeta("sources");
  if (!sources.ok()) return false;
  std::string_view rest = *sources;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string src(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!on_disk.count(src)) return true;
  }
  return false;
}

// Brings the directory and the catalog into agreement (DESIGN.md invariants),
// logging every fix:
//  1. *.tmp files are unfinished writes: delete them (their rows are in the WAL).
//  2. A local catalog row whose file is missing: report and drop the row.
//  3. A flush file the catalog does not name either finished but lost its
//     catalog insert (its WAL seqs are above the persisted watermark: they
//     were never marked done) - re-register it from its own meta - or is the
//     source of a committed compaction not yet unlinked (every seq at or below
//     the watermark: only such files are compacted) - delete it.
//  4. A segment file the catalog does not name: if all of its sources are
//     still on disk its compaction never committed - delete it; if some are
//     gone it did (the catalog itself was lost) - re-register it.
//  5. A segment file named like a remote row's object is a local copy whose
//     rotation committed (tier/uploader.cc step 4) but whose deletion after
//     the grace window never ran: delete it, so no segment is both local
//     and remote.
// Then loads the cataloged files into the FileSet and notes which WAL record
// parts the flush files hold.
Status Ingester::Impl::Reconcile() {
  LOGE_ASSIGN_OR_RETURN(auto entries, catalog->List());
  LOGE_ASSIGN_OR_RETURN(auto names, fs->ListDir(opts.output_path));
  std::sort(names.begin(), names.end());
  std::set<std::string> on_disk;
  uint64_t max_flush_seq = 0;
  for (const auto& name : names) {
    std::string path = io::JoinPath(opts.output_path, name);
    if (EndsWith(name, ".tmp")) {
      spdlog::warn("reconcile: deleting unfinished file {}", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    uint64_t seq;
    if (ParseFlushName(name, &seq)) max_flush_seq = std::max(max_flush_seq, seq);
    on_disk.insert(name);
  }
  next_file_seq = max_flush_seq + 1;

  std::set<std::string> cataloged;
  // File names of remote rows (the last segment of the URL's path).
  std::set<std::string> rotated;
  std::vector<int64_t> missing;
  std::vector<storage::CatalogEntry> kept;
  for (auto& e : entries) {
    cataloged.insert(e.path);
    if (e.tier == storage::Tier::kRemote) {
      std::string_view url = e.path;
      url = url.substr(0, url.find('?'));
      rotated.insert(std::string(url.substr(url.rfind('/') + 1)));
    }
    if (e.tier == storage::Tier::kLocal && !on_disk.count(e.path)) {
      spdlog::error("reconcile: catalog names {} but the file is missing; dropping it (its rows are lost)", e.path);
      missing.push_back(e.id);
      continue;
    }
    kept.push_back(std::move(e));
  }
  if (!missing.empty()) LOGE_RETURN_IF_ERROR(catalog->Remove(missing));

  for (const auto& name : on_disk) {
    if (cataloged.count(name) || !EndsWith(name, kFileSuffix)) continue;
    std::string path = io::JoinPath(opts.output_path, name);
    if (rotated.count(name)) {
      spdlog::info("reconcile: deleting {}: it was rotated to S3 and the catalog names the remote copy", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    uint64_t seq;
    bool is_segment = name.rfind(kSegmentPrefix, 0) == 0;
    if (!is_segment && !ParseFlushName(name, &seq)) continue;
    if (auto r = storage::SegmentReader::Open(path); !r.ok() || !(*r)->ReadInfo().ok()) {
      // Not ours to judge: keep the bytes for a human, out of the way.
      spdlog::error("reconcile: {} is not a readable data file ({}); moving it to {}.corrupt", path,
                    r.ok() ? "bad meta" : r.status().ToString(), path);
      LOGE_RETURN_IF_ERROR(fs->Rename(path, path + ".corrupt"));
      continue;
    }
    if (is_segment) {
      LOGE_ASSIGN_OR_RETURN(bool committed, SegmentCommitted(path, on_disk));
      if (!committed) {
        spdlog::warn("reconcile: deleting {}: its compaction never committed to the catalog", path);
        LOGE_RETURN_IF_ERROR(fs->Remove(path));
        continue;
      }
      LOGE_ASSIGN_OR_RETURN(auto e, EntryFromFile(path, name, storage::FileKind::kSegment));
      LOGE_RETURN_IF_ERROR(catalog->Add(&e));
      spdlog::warn("reconcile: re-registered segment {} ({} rows)", path, e.rows);
      kept.push_back(std::move(e));
      continue;
    }
    LOGE_ASSIGN_OR_RETURN(auto e, EntryFromFile(path, name, storage::FileKind::kFlush));
    if (e.max_wal_seq <= persisted_watermark) {
      spdlog::warn("reconcile: deleting {}: already merged into a cataloged segment", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    LOGE_RETURN_IF_ERROR(catalog->Add(&e));
    spdlog::warn("reconcile: re-registered finished flush file {} ({} rows)", path, e.rows);
    kept.push_back(std::move(e));
  }

  for (auto& e : kept) {
    if (e.kind == storage::FileKind::kFlush && e.tier == storage::Tier::kLocal &&
        e.max_wal_seq > persisted_watermark) {
      // Its WAL records may still be replayed: remember which parts it holds.
      std::string path = io::JoinPath(opts.output_path, e.path);
      LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(path));
      LOGE_RETURN_IF_ERROR(LoadWalSeqs(reader.get(), &flushed).status().WithContext("reconcile: " + path));
    }
    files.Add(MakeHandle(std::move(e)));
  }
  return Status::OK();
}

// Replays every intact WAL record above the persisted watermark into the
// head, skipping the parts that flush files already hold.
Status Ingester::Impl::Replay() {
  wal::Options wo;
  wo.dir = io::JoinPath(opts.output_path, "wal");
  wo.sync = opts.durable;
  wo.fs = fs;
  uint64_t max_known = persisted_watermark;
  for (const auto& f : files.Snapshot()) max_known = std::max(max_known, f->entry.max_wal_seq);
  wo.min_next_seq = max_known + 1;
  wal::ReplayStats rs;
  uint64_t skipped = 0;
  const uint64_t floor = persisted_watermark;
  auto replay = [&](uint64_t seq, std::string_view rec) -> Status {
    if (seq <= floor) {
      skipped++;
      tracker.Begin(seq, 0);
      return Status::OK();
    }
    auto p = DecodePayload(rec);
    if (!p.ok()) {
      spdlog::error("wal replay: record {} does not decode ({}); skipped", seq, p.status().ToString());
      tracker.Begin(seq, 0);
      return Status::OK();
    }
    std::erase_if(p->streams, [&](const Stream& s) { return flushed.Contains(seq, Fingerprint(s.labels)); });
    uint32_t nparts;
    auto by_bucket = SplitByBucket(&*p, &nparts);
    tracker.Begin(seq, nparts);
    {
      MutexLock l(&budget_mu);
      for (const auto& s : p->streams) head_bytes += s.entries.empty() ? 0 : s.Bytes();
    }
    InsertPayload(seq, by_bucket);
    if (nparts > 0) replayed++;
    return Status::OK();
  };
  LOGE_ASSIGN_OR_RETURN(wal, wal::Wal::Open(wo, replay, &rs));
  if (rs.files > 0) {
    spdlog::info("wal replay: {} records from {} files ({} already in files); {} bytes of torn or corrupt tail dropped",
                 rs.records, rs.files, rs.records - replayed, rs.dropped_bytes);
  }
  (void)skipped;
  flushed = FlushedSeqs();  // startup only
  return Status::OK();
}

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
  d->fs = io::DefaultFileSystem();
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < opts.buckets; i++) {
    auto b = std::make_unique<Bucket>();
    MutexLock l(&b->mu);
    b->open = std::make_unique<Batch>();
    b->open->bucket = i;
    b->open->opened = now;
    d->buckets.push_back(std::move(b));
  }
  LOGE_RETURN_IF_ERROR(d->fs->CreateDirs(opts.output_path));
  LOGE_ASSIGN_OR_RETURN(d->catalog, storage::Catalog::Open(opts.output_path));
  LOGE_ASSIGN_OR_RETURN(int64_t w, d->catalog->GetState(kWatermarkKey, 0));
  d->persisted_watermark = static_cast<uint64_t>(w);
  LOGE_RETURN_IF_ERROR(d->Reconcile());
  // Sealed batches may exceed flush_queue during replay; workers start next.
  LOGE_RETURN_IF_ERROR(d->Replay());

  wal::CheckpointerOptions co;
  co.interval = std::chrono::duration_cast<std::chrono::milliseconds>(opts.checkpoint_interval);
  co.output_dir = opts.output_path;
  co.fs = d->fs;
  co.persist_watermark = [d](uint64_t w) -> Status {
    if (w <= d->persisted_watermark) return Status::OK();
    LOGE_RETURN_IF_ERROR(d->catalog->SetState(kWatermarkKey, static_cast<int64_t>(w)));
    d->persisted_watermark = w;
    return Status::OK();
  };
  d->checkpointer = std::make_unique<wal::Checkpointer>(co, &d->tracker, d->wal.get());
  for (int i = 0; i < opts.flush_workers; i++) {
    d->workers.emplace_back([d](std::stop_token st) { d->FlushLoop(st); });
  }
  d->ticker = std::jthread([d](std::stop_token st) { d->TickLoop(st); });

  // The S3 uploader (if any) starts before compaction: its startup reconcile
  // may raise the next segment id above ids found in the bucket.
  if (opts.catalog_worker) LOGE_RETURN_IF_ERROR(opts.catalog_worker->Start(d->catalog.get(), &d->files));

  storage::CompactorOptions cpo;
  cpo.dir = opts.output_path;
  cpo.interval = std::chrono::duration_cast<std::chrono::milliseconds>(opts.compact_interval);
  cpo.min_files = opts.compact_min_files;
  cpo.level = opts.compact_level;
  cpo.block_filter_lines = opts.compact_block_filter_lines;
  cpo.fs = d->fs;
  cpo.safe_wal_seq = [d] { return d->persisted_watermark.load(); };
  d->compactor = std::make_unique<storage::Compactor>(cpo, d->catalog.get(), &d->files);
  d->compactor->Start();
  return ing;
}

}  // namespace loge::ingest
