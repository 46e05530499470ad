// Store startup: take the directory lock, reconcile the directory with the
// catalog, replay the WAL into the head, then start the threads.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "io/file_system.h"
#include "storage/catalog_worker.h"
#include "storage/segment_reader.h"
#include "storage/verify.h"
#include "store/filename.h"
#include "store/store_impl.h"

namespace loge::store {

namespace {

// The WAL record parts a flush file holds, from its meta (see FlushedSeqs).
// Returns 0 (and adds nothing) for files without that meta.
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

namespace {

// The pid written in LOCK by its holder, or "" when the file holds none
// (an older loge, or a holder that has not written it yet).
std::string ReadLockHolder(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string pid(buf, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  for (char c : pid) {
    if (c < '0' || c > '9') return "";
  }
  return pid;
}

}  // namespace

// One process owns a data directory: LOCK is flock()ed before anything in
// the directory is read, and held until the store is destroyed. The holder
// writes its pid into it, so a second process can name it. The flock is the
// lock, not the file: a LOCK left by a killed process is stale content and
// is simply taken over (the kernel released its flock).
Status Store::Impl::Lock() {
  const std::string path = io::JoinPath(opts.output_path, kLockName);
  lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = err == EWOULDBLOCK ? ReadLockHolder(lock_fd) : "";
    ::close(lock_fd);
    lock_fd = -1;
    if (err == EWOULDBLOCK) {
      return Status::Unavailable("another loge process" + (holder.empty() ? "" : " (pid " + holder + ")") +
                                 " is using " + opts.output_path + " (it holds " + path +
                                 "); stop it or choose another --output-path");
    }
    return Status::IOError("lock " + path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd, 0) != 0 ||
      ::pwrite(lock_fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is held all the same; only the message of a second process
    // loses the pid.
    spdlog::warn("could not write this process's pid into {}: {}", path, std::strerror(errno));
  }
  return Status::OK();
}

void Store::Impl::Unlock() {
  if (lock_fd >= 0) {
    ::close(lock_fd);  // releases the flock
    lock_fd = -1;
  }
}

// A catalog entry rebuilt from a file's own meta and filters.
Result<storage::CatalogEntry> Store::Impl::EntryFromFile(const std::string& path, const std::string& name,
                                                        storage::FileKind kind) {
  auto reader = storage::SegmentReader::Open(path);
  Result<storage::SegmentInfo> info =
      reader.ok() ? (*reader)->ReadInfo() : Result<storage::SegmentInfo>(reader.status());
  if (!info.ok()) return info.status().WithContext("reconcile: cannot read " + path);
  LOGE_ASSIGN_OR_RETURN(uint64_t bytes, fs->FileSize(path));
  LOGE_ASSIGN_OR_RETURN(info->filters, (*reader)->ReadFilters());
  storage::CatalogEntry e = storage::EntryFor(kind, name, *info, bytes);
  if (auto lv = (*reader)->ReadMeta("level"); lv.ok()) {
    int64_t v = 0;
    if (ParseInt64(*lv, &v)) e.level = static_cast<int>(v);
  } else {
    e.level = kind == storage::FileKind::kFlush ? 0 : 1;
  }
  if (kind == storage::FileKind::kFlush) {
    FlushedSeqs scratch;
    LOGE_ASSIGN_OR_RETURN(e.max_wal_seq, LoadWalSeqs(reader->get(), &scratch));
  } else if (auto ms = (*reader)->ReadMeta("max_wal_seq"); ms.ok()) {
    int64_t v = 0;
    if (ParseInt64(*ms, &v) && v > 0) e.max_wal_seq = static_cast<uint64_t>(v);
  }
  return e;
}

// Opens catalog.sqlite and checks that it reads (quick_check, every row,
// the watermark). One that does not is moved to quarantine/ with its
// journal, and a new one is rebuilt from the files (Reconcile); so is a
// catalog that did not exist.
Status Store::Impl::OpenCatalog() {
  const std::string path = io::JoinPath(opts.output_path, kCatalogName);
  const bool existed = fs->Exists(path);
  Status st;
  {
    auto c = storage::Catalog::Open(opts.output_path);
    st = c.ok() ? (*c)->Check() : c.status();
    Result<int64_t> w = st.ok() ? (*c)->GetState(kWatermarkKey, 0) : Result<int64_t>(st);
    if (w.ok()) {
      catalog = std::move(*c);
      persisted_watermark = static_cast<uint64_t>(*w);
      rebuild_catalog = !existed;
      return Status::OK();
    }
    st = w.status();
  }  // the damaged catalog is closed here
  // Only damage rebuilds it: a lock another process holds, a permission or
  // a full disk stop startup with the catalog untouched.
  if (st.code() != Code::kCorruption) return st.WithContext("open the catalog");
  spdlog::warn("catalog {} is unreadable ({}); moving it to {}/ and rebuilding it from the files", path,
               st.ToString(), kQuarantineDirName);
  for (const std::string suffix : {"", "-wal"}) {
    const std::string name = std::string(kCatalogName) + suffix;
    if (fs->Exists(io::JoinPath(opts.output_path, name))) LOGE_RETURN_IF_ERROR(MoveToQuarantine(name, st).status());
  }
  if (const std::string shm = path + "-shm"; fs->Exists(shm)) LOGE_RETURN_IF_ERROR(fs->Remove(shm));
  catalog_rebuilds++;
  LOGE_ASSIGN_OR_RETURN(catalog, storage::Catalog::Open(opts.output_path));
  persisted_watermark = 0;
  rebuild_catalog = true;
  return Status::OK();
}

// Brings the directory and the catalog into agreement (DESIGN.md invariants),
// logging every fix:
//  1. *.tmp files (and merge scratch images) are unfinished writes: delete
//     them (their rows are in the WAL or in the files being merged); one
//     that cannot be deleted (a directory) is left alone with a warning.
//  2. A file a merge retired (its rows are in the merge's output): delete
//     it and forget the name. Never re-registered, so never a second copy.
//  3. A local catalog row whose file is missing: report and drop the row.
//  4. Uncataloged data files: AdoptUncataloged (the catalog is the one
//     this directory had) or RebuildFromFiles (it was lost or unreadable).
//  5. The cataloged files are loaded (LoadFiles); one found damaged is
//     quarantined, and a flush file's rows still in the WAL are replayed.
Status Store::Impl::Reconcile() {
  LOGE_ASSIGN_OR_RETURN(auto entries, catalog->List());
  LOGE_ASSIGN_OR_RETURN(auto names, fs->ListDir(opts.output_path));
  std::sort(names.begin(), names.end());
  LOGE_ASSIGN_OR_RETURN(auto retired_list, catalog->ListRetired());
  const std::set<std::string> retired(retired_list.begin(), retired_list.end());
  std::set<std::string> on_disk;
  uint64_t max_flush_seq = 0, max_segment_id = 0;
  for (const auto& name : names) {
    const std::string path = io::JoinPath(opts.output_path, name);
    const ParsedName p = ParseFileName(name);
    if (p.type == FileType::kTemp) {
      spdlog::warn("reconcile: deleting unfinished file {}", path);
      if (Status st = fs->Remove(path); !st.ok()) {
        spdlog::warn("reconcile: cannot delete {} ({}); leaving it (loge never reads a *.tmp name)", path,
                     st.ToString());
      }
      continue;
    }
    if (retired.count(name)) {
      spdlog::info("reconcile: deleting {}: a committed merge holds its rows", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    if (p.type == FileType::kFlush) max_flush_seq = std::max(max_flush_seq, p.seq);
    if (p.type == FileType::kSegment) max_segment_id = std::max(max_segment_id, p.id);
    on_disk.insert(name);
  }
  if (!retired_list.empty()) LOGE_RETURN_IF_ERROR(catalog->ForgetRetired(retired_list));
  next_file_seq = max_flush_seq + 1;
  // A merge never reuses the id of a segment on disk (a lost catalog
  // restarts the counter).
  LOGE_ASSIGN_OR_RETURN(int64_t next_id, catalog->GetState(storage::kNextSegmentIdKey, 1));
  if (static_cast<uint64_t>(next_id) <= max_segment_id) {
    LOGE_RETURN_IF_ERROR(catalog->SetState(storage::kNextSegmentIdKey, static_cast<int64_t>(max_segment_id + 1)));
  }

  std::set<std::string> cataloged;
  std::set<std::string> rotated;  // file names of remote rows (the last segment of the URL's path)
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
  std::vector<std::string> uncataloged;
  for (const auto& name : on_disk) {
    const ParsedName p = ParseFileName(name);
    if (cataloged.count(name) || (p.type != FileType::kFlush && p.type != FileType::kSegment)) continue;
    if (rotated.count(name)) {
      spdlog::info("reconcile: deleting {}: it was rotated to S3 and the catalog names the remote copy", name);
      LOGE_RETURN_IF_ERROR(fs->Remove(io::JoinPath(opts.output_path, name)));
      continue;
    }
    uncataloged.push_back(name);
  }
  LOGE_RETURN_IF_ERROR(rebuild_catalog ? RebuildFromFiles(uncataloged, &kept) : AdoptUncataloged(uncataloged, &kept));
  return LoadFiles(std::move(kept));
}

// The catalog is the one this directory had, so it is the truth:
//  - a segment it does not name never committed (a merge commits its
//    output and retires its inputs in one transaction): delete it, whether
//    or not its sources are still there — a failed commit's output whose
//    sources a later merge consumed would otherwise come back as a second
//    copy of their rows;
//  - a flush file it does not name finished but lost its catalog insert if
//    its WAL seqs are above the persisted watermark (they were never marked
//    done, and replay skips the parts it holds): re-register it; at or
//    below, it is the source of a committed merge of a catalog written
//    before retired names were recorded: delete it;
//  - a file that does not read as a data file: quarantine.
Status Store::Impl::AdoptUncataloged(const std::vector<std::string>& names, std::vector<storage::CatalogEntry>* kept) {
  for (const auto& name : names) {
    const std::string path = io::JoinPath(opts.output_path, name);
    if (ParseFileName(name).type == FileType::kSegment) {
      spdlog::warn("reconcile: deleting {}: its merge never committed to the catalog", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    auto e = EntryFromFile(path, name, storage::FileKind::kFlush);
    if (!e.ok()) {
      LOGE_RETURN_IF_ERROR(QuarantineAtStartup(name, e.status()));
      continue;
    }
    if (e->max_wal_seq <= persisted_watermark) {
      spdlog::warn("reconcile: deleting {}: already merged into a cataloged segment", path);
      LOGE_RETURN_IF_ERROR(fs->Remove(path));
      continue;
    }
    LOGE_RETURN_IF_ERROR(catalog->Add(&*e));
    spdlog::warn("reconcile: re-registered finished flush file {} ({} rows)", path, e->rows);
    kept->push_back(std::move(*e));
  }
  return Status::OK();
}

// Quarantines a file found damaged before it was published; IOError and
// the like (not damage) stop startup as before.
Status Store::Impl::QuarantineAtStartup(const std::string& name, const Status& why) {
  if (why.code() != Code::kCorruption && why.code() != Code::kNotFound) return why;
  return MoveToQuarantine(name, why).status();
}

// Loads the cataloged files into the FileSet (local format-2 files with
// their filters, read from the file) and notes which WAL record parts the
// flush files hold. A flush file whose parts are still to be skipped by
// replay is read whole first (storage::VerifyDataFile): if it is damaged,
// it is quarantined and its parts are replayed from the WAL instead of
// being lost. Any file whose meta or filters do not read is quarantined.
Status Store::Impl::LoadFiles(std::vector<storage::CatalogEntry> kept) {
  std::vector<int64_t> dropped;
  for (auto& e : kept) {
    if (e.tier == storage::Tier::kLocal && (e.format >= 2 || e.kind == storage::FileKind::kFlush)) {
      const std::string path = io::JoinPath(opts.output_path, e.path);
      const bool needs_seqs = e.kind == storage::FileKind::kFlush && e.max_wal_seq > persisted_watermark;
      Status st = needs_seqs ? storage::VerifyDataFile(fs, path) : Status::OK();
      if (st.ok()) {
        auto reader = storage::SegmentReader::Open(path);
        st = reader.status();
        if (st.ok() && e.format >= 2 && !e.filters) {
          // Filters of a local file live in the file; load them for queries.
          auto f = (*reader)->ReadFilters();
          st = f.status();
          if (f.ok()) e.filters = std::move(*f);
        }
        // Adds nothing unless it succeeds.
        if (st.ok() && needs_seqs) st = LoadWalSeqs(reader->get(), &flushed).status();
      }
      if (!st.ok()) {
        st = st.WithContext("reconcile: " + path);
        LOGE_RETURN_IF_ERROR(QuarantineAtStartup(e.path, st));
        if (needs_seqs) spdlog::warn("reconcile: the rows of {} still in the WAL are replayed", e.path);
        dropped.push_back(e.id);
        continue;
      }
    }
    files.Add(MakeHandle(std::move(e)));
  }
  if (!dropped.empty()) LOGE_RETURN_IF_ERROR(catalog->Remove(dropped));
  return Status::OK();
}

// Replays every intact WAL record above the persisted watermark into the
// head, skipping the parts that flush files already hold.
Status Store::Impl::Replay() {
  wal::Options wo;
  wo.dir = io::JoinPath(opts.output_path, kWalDirName);
  wo.sync = opts.durable;
  wo.fs = fs;
  uint64_t max_known = persisted_watermark;
  for (const auto& f : files.Snapshot()) max_known = std::max(max_known, f->entry.max_wal_seq);
  wo.min_next_seq = max_known + 1;
  wal::ReplayStats rs;
  const uint64_t floor = persisted_watermark;
  auto replay = [&](uint64_t seq, std::string_view rec) -> Status {
    if (seq <= floor) {
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
    auto by_bucket = head->SplitByBucket(&*p, &nparts);
    tracker.Begin(seq, nparts);
    uint64_t bytes = 0;
    for (const auto& s : p->streams) bytes += s.entries.empty() ? 0 : s.Bytes();
    head->Charge(bytes);
    head->Insert(seq, by_bucket);
    if (nparts > 0) replayed++;
    return Status::OK();
  };
  LOGE_ASSIGN_OR_RETURN(wal, wal::Wal::Open(wo, replay, &rs));
  for (const wal::Damage& dmg : rs.damage) {
    wal_corrupt_bytes += dmg.bytes;
    if (dmg.first_seq + dmg.records - 1 <= floor) {
      // Every record of the region is at or below the persisted watermark:
      // flush files hold them, nothing is lost.
      spdlog::warn("wal replay: {} is damaged at offset {}: {} bytes skipped; their records were already in "
                   "flush files, nothing is lost", dmg.file, dmg.offset, dmg.bytes);
      continue;
    }
    wal_corrupt_records += dmg.records;
    spdlog::error("wal replay: {} is damaged at offset {}: {} bytes dropped ({} acknowledged record{} lost); "
                  "replay resumed at the next intact record",
                  dmg.file, dmg.offset, dmg.bytes, dmg.records, dmg.records == 1 ? "" : "s");
  }
  wal_torn_bytes = rs.dropped_bytes;
  if (rs.files > 0) {
    spdlog::info("wal replay: {} records from {} files ({} already in files); {} bytes of torn tail dropped "
                 "(never acknowledged); {} damaged records skipped",
                 rs.records, rs.files, rs.records - replayed, rs.dropped_bytes, rs.corrupt_records);
  }
  flushed = FlushedSeqs();  // startup only
  return Status::OK();
}

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& opts) {
  if (opts.buckets < 1) return Status::InvalidArgument("--buckets must be at least 1");
  if (opts.payload_size < 1) return Status::InvalidArgument("--payload-size must be at least 1");
  if (opts.flush_workers < 1) return Status::InvalidArgument("--flush-workers must be at least 1");
  if (opts.flush_queue < 1) return Status::InvalidArgument("--flush-queue must be at least 1");
  if (opts.flush_interval <= Duration(0)) return Status::InvalidArgument("--flush-interval must be positive");
  if (opts.checkpoint_interval <= Duration(0)) {
    return Status::InvalidArgument("--checkpoint-interval must be positive");
  }
  if (opts.merge_threads < 1) return Status::InvalidArgument("--merge-threads must be at least 1");
  if (opts.segment_bytes < 1) return Status::InvalidArgument("--segment-size must be positive");
  if (opts.disk_check_interval <= Duration(0)) return Status::InvalidArgument("disk check interval must be positive");
  std::unique_ptr<Store> store(new Store());
  Impl* d = store->impl_.get();
  d->opts = opts;
  d->fs = opts.fs != nullptr ? opts.fs : io::DefaultFileSystem();
  d->filter_cache = std::make_shared<storage::FilterCache>(opts.filter_cache_bytes);
  d->resident_filters = std::make_unique<ResidentFilters>(opts.filter_resident_bytes, io::FileResidentBytes);
  ingest::HeadOptions ho;
  ho.buckets = opts.buckets;
  ho.seal_rows = opts.payload_size;
  // Two batches per bucket fit the budget: one filling while one flushes.
  ho.seal_bytes = std::max<size_t>(opts.max_head_bytes / (2 * static_cast<size_t>(opts.buckets)), 64 << 10);
  ho.seal_age = opts.flush_interval;
  ho.queue_limit = opts.flush_queue;
  ho.max_bytes = opts.max_head_bytes;
  ho.backpressure_wait = opts.backpressure_wait;
  ho.drop_on_backpressure = opts.drop_on_backpressure;
  d->head = std::make_unique<ingest::Head>(ho);
  LOGE_RETURN_IF_ERROR(d->fs->CreateDirs(opts.output_path));
  LOGE_RETURN_IF_ERROR(d->Lock());
  DiskGuardOptions dg = opts.disk;
  dg.path = opts.output_path;
  d->disk = std::make_unique<DiskGuard>(std::move(dg));
  d->disk->Check();  // a server started on a full disk is read-only from its first push
  LOGE_RETURN_IF_ERROR(d->OpenCatalog());
  LOGE_RETURN_IF_ERROR(d->Reconcile());
  // Sealed batches may exceed flush_queue during replay; workers start next.
  LOGE_RETURN_IF_ERROR(d->Replay());

  // The merger exists before the checkpointer, which wakes it; it starts
  // last.
  MergerOptions mo;
  mo.dir = opts.output_path;
  mo.interval = opts.merge_interval;
  mo.threads = opts.merge_threads;
  mo.nice = opts.merge_nice;
  mo.level = opts.merge_level;
  mo.group_lines = opts.group_lines;
  mo.policy.segment_bytes = opts.segment_bytes;
  mo.policy.flush_merge_files = std::max<size_t>(opts.flush_merge_files, 1);
  mo.policy.flush_merge_age_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opts.flush_merge_age).count();
  mo.fs = d->fs;
  mo.safe_wal_seq = [d] { return d->persisted_watermark.load(); };
  mo.filter_cache = d->filter_cache;
  mo.on_damaged = [d](int64_t id, const std::string& name, const Status& why) {
    d->QuarantinePublished(id, name, why);
  };
  mo.remote = opts.catalog_worker;  // rewrites of remote segments (delete requests, retention rules)
  d->merger = std::make_unique<Merger>(mo, d->catalog.get(), &d->files);
  wal::CheckpointerOptions co;
  co.interval = std::chrono::duration_cast<std::chrono::milliseconds>(opts.checkpoint_interval);
  co.output_dir = opts.output_path;
  co.fs = d->fs;
  co.persist_watermark = [d](uint64_t w) -> Status {
    if (w <= d->persisted_watermark) return Status::OK();
    LOGE_RETURN_IF_ERROR(d->catalog->SetState(kWatermarkKey, static_cast<int64_t>(w)));
    d->persisted_watermark = w;
    // Flush files up to w may be merged now.
    if (d->merger) d->merger->Wake();
    return Status::OK();
  };
  co.on_idle = [d] {
    if (Status st = d->catalog->TruncateJournal(); !st.ok()) {
      spdlog::warn("catalog: could not truncate its journal (retried when idle again): {}", st.ToString());
    }
  };
  d->checkpointer = std::make_unique<wal::Checkpointer>(co, &d->tracker, d->wal.get());
  for (int i = 0; i < opts.flush_workers; i++) {
    d->workers.emplace_back([d](std::stop_token st) { d->FlushLoop(st); });
  }
  d->ticker = std::jthread([d](std::stop_token st) { d->TickLoop(st); });

  // The S3 uploader (if any) starts before merges: its startup reconcile
  // may raise the next segment id above ids found in the bucket.
  if (opts.catalog_worker) LOGE_RETURN_IF_ERROR(opts.catalog_worker->Start(d->catalog.get(), &d->files));

  d->retention = std::make_unique<Retention>(opts.retention, opts.output_path, d->fs, d->catalog.get(), &d->files,
                                             opts.catalog_worker,
                                             [d] { return d->persisted_watermark.load(); }, d->merger.get());
  DeletesOptions dop = opts.deletes;
  Store* self = store.get();
  dop.flush_and_checkpoint = [self, d]() -> Status {
    LOGE_RETURN_IF_ERROR(self->FlushAll());
    return d->checkpointer->TEST_RunOnce();
  };
  d->deletes = std::make_unique<Deletes>(dop, d->catalog.get(), &d->files, d->merger.get());
  LOGE_RETURN_IF_ERROR(d->deletes->Load());
  d->merger->Start();
  d->retention->Start();
  d->deletes->Start();
  return store;
}

}  // namespace loge::store
