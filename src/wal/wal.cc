// Wal: group-commit writer, rotation and deletion of WAL files.
//
// Threads (see also wal.h):
//   - Callers of Append frame their record into pending_ under mu_ and, with
//     wait=true, sleep on durable_cv_ until durable_seq_ covers their seq or
//     error_ is set.
//   - The writer thread sleeps on work_cv_ until pending_ is non-empty or the
//     log is closing. It swaps pending_ out under mu_, then with mu_ released
//     writes the batch with one Append and one Sync, then publishes
//     durable_seq_ under mu_ and wakes every waiter. Between batches it rotates
//     the active file once it has passed segment_bytes.
//   - DeleteUpTo picks files under mu_ and removes them with mu_ released.
#include "wal/wal.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/mutex.h"
#include "io/file_system.h"
#include "wal/reader.h"
#include "wal/record.h"

namespace loge::wal {

struct Wal::Impl {
  // Seconds of each fsync of a group commit (GET /metrics).
  Histogram fsync_seconds;
  // One WAL file on disk.
  struct FileInfo {
    uint64_t first_seq = 0;  // from the name; the first record's seq is >= this
    uint64_t last_seq = 0;   // seq of its last record; 0 = no records (deletable at any watermark)
    uint64_t bytes = 0;      // size on disk
  };

  Options opts_;
  io::FileSystem* fs_ = nullptr;

  mutable Mutex mu_;
  CondVar work_cv_;     // wakes the writer: pending_ non-empty or closing_
  CondVar durable_cv_;  // wakes Append waiters: durable_seq_ advanced or error_ set
  std::string pending_ GUARDED_BY(mu_);   // framed records not yet taken by the writer
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;  // seq the next Append gets
  // Every seq <= this is written, and synced if opts_.sync.
  uint64_t durable_seq_ GUARDED_BY(mu_) = 0;
  Status error_ GUARDED_BY(mu_);           // sticky: the first write/sync/rotate failure
  bool closing_ GUARDED_BY(mu_) = false;   // Close began: no new Appends, writer drains and exits
  bool rotate_idle_ GUARDED_BY(mu_) = false;  // RotateIfIdle asked the writer to start a new file
  // The writer decided to start a new file and has not published it in
  // files_ yet: until then files_.back() is the old file, which must not be
  // judged idle again (a second rotation to the same first seq would
  // publish the live file twice, and DeleteUpTo would unlink it).
  bool rotating_ GUARDED_BY(mu_) = false;
  std::vector<FileInfo> files_ GUARDED_BY(mu_);  // by first_seq; back() is the active file
  uint64_t bytes_on_disk_ GUARDED_BY(mu_) = 0;   // sum of files_[i].bytes

  // Owned by the writer thread while it runs; by Close after the join.
  std::unique_ptr<io::WritableFile> active_;

  Mutex close_mu_;                         // serialises Close
  bool closed_ GUARDED_BY(close_mu_) = false;
  Status close_status_ GUARDED_BY(close_mu_);  // what the first Close returned

  std::jthread writer_;  // last: started after everything above exists

  std::string PathFor(uint64_t first_seq) const {
    return io::JoinPath(opts_.dir, FileName(first_seq));
  }
  Status StickyError() const REQUIRES(mu_) {
    return Status::Unavailable("write-ahead log failed earlier: " + error_.ToString() +
                               "; restart loge");
  }
  void WriterLoop();
  Status Rotate(uint64_t first_seq);
};

void Wal::Impl::WriterLoop() {
  std::string batch;  // swapped with pending_, so both buffers keep their capacity
  for (;;) {
    uint64_t batch_last_seq = 0;
    uint64_t rotate_idle_to = 0;  // RotateIfIdle: the first seq of the new file
    {
      MutexLock l(&mu_);
      work_cv_.wait(l.native(), [this]() REQUIRES(mu_) { return !pending_.empty() || closing_ || rotate_idle_; });
      if (!error_.ok()) {
        // Nothing more is written after a failure; Append already refuses,
        // and waiters of these records were woken when error_ was set.
        pending_.clear();
        rotate_idle_ = false;
        if (closing_) return;
        continue;
      }
      if (rotate_idle_ && pending_.empty() && !closing_ && files_.back().first_seq != next_seq_) {
        // The next record gets next_seq_, and nothing with a lower seq is
        // pending, so the new file is named right. (An active file that
        // already starts at next_seq_ holds nothing: no new one.)
        rotate_idle_to = next_seq_;
        rotating_ = true;
      }
      rotate_idle_ = false;
      if (rotate_idle_to == 0) {
        if (pending_.empty()) return;  // closing, and everything is written
        batch.swap(pending_);
        batch_last_seq = next_seq_ - 1;
      }
    }
    if (rotate_idle_to != 0) {
      if (Status rs = Rotate(rotate_idle_to); !rs.ok()) {
        {
          MutexLock l(&mu_);
          error_ = rs.WithContext("rotate wal");
        }
        durable_cv_.notify_all();
      }
      continue;
    }

    Status s = active_->Append(batch);
    if (s.ok() && opts_.sync) {
      const int64_t t0 = SteadyNanos();
      s = active_->Sync();
      fsync_seconds.Observe(SecondsSince(t0));
    }
    const uint64_t size = active_->Size();
    batch.clear();

    bool rotate = false;
    {
      MutexLock l(&mu_);
      FileInfo& f = files_.back();
      bytes_on_disk_ += size - f.bytes;
      f.bytes = size;
      if (s.ok()) {
        f.last_seq = batch_last_seq;
        durable_seq_ = batch_last_seq;
        rotate = size >= opts_.segment_bytes;
        rotating_ = rotate;
      } else {
        error_ = s.WithContext("wal " + opts_.dir);
      }
    }
    durable_cv_.notify_all();

    if (rotate) {
      // The next record's seq is batch_last_seq + 1: it was assigned after
      // this batch was swapped out, or is yet to be.
      Status rs = Rotate(batch_last_seq + 1);
      if (!rs.ok()) {
        {
          MutexLock l(&mu_);
          error_ = rs.WithContext("rotate wal");
        }
        durable_cv_.notify_all();
      }
    }
  }
}

// Crash-safe order (every record in the old file is already written, and
// synced when opts_.sync):
//  1. create the new file, named by the seq its first record will have;
//  2. fsync the directory (if opts_.sync), so its name survives a crash
//     before any record in it is acknowledged;
//  3. close the old file and publish the new one as active.
// A crash after 1 leaves an empty file, which Open reuses or DeleteUpTo removes.
Status Wal::Impl::Rotate(uint64_t first_seq) {
  LOGE_ASSIGN_OR_RETURN(auto next, fs_->NewWritableFile(PathFor(first_seq), /*append=*/false));
  if (opts_.sync) LOGE_RETURN_IF_ERROR(fs_->SyncDir(opts_.dir));
  Status closed = active_->Close();
  active_ = std::move(next);
  {
    MutexLock l(&mu_);
    files_.push_back(FileInfo{first_seq, 0, 0});
    rotating_ = false;
  }
  return closed;
}

// Open:
//  1. create the directory; list it and keep names of the form <seq>.wal;
//  2. replay the files in seq order (ReplayFile: a damaged record is skipped
//     up to the next intact one; a torn tail ends that file);
//  3. pick the first seq for appends: max_seq + 1, or the highest file name
//     if that is larger (an empty newest file, whose older neighbours were
//     deleted, must not let seqs go back);
//  4. create that file (truncating it if it is the empty newest file from
//     step 3) and fsync the directory; appends never go to an old file;
//  5. start the writer.
Result<std::unique_ptr<Wal>> Wal::Open(const Options& opts, const ReplayFn& fn,
                                       ReplayStats* stats) {
  ReplayStats local;
  if (stats == nullptr) stats = &local;
  *stats = ReplayStats();
  if (opts.dir.empty()) return Status::InvalidArgument("wal: dir is empty");

  auto impl = std::make_unique<Impl>();
  impl->opts_ = opts;
  io::FileSystem* fs = opts.fs ? opts.fs : io::DefaultFileSystem();
  impl->fs_ = fs;

  LOGE_RETURN_IF_ERROR(fs->CreateDirs(opts.dir));
  LOGE_ASSIGN_OR_RETURN(auto names, fs->ListDir(opts.dir));
  std::vector<uint64_t> firsts;
  for (const std::string& name : names) {
    uint64_t first = 0;
    if (ParseFileName(name, &first)) firsts.push_back(first);
  }
  std::sort(firsts.begin(), firsts.end());

  std::vector<Impl::FileInfo> files;
  for (uint64_t first : firsts) {
    FileReplay r;
    LOGE_RETURN_IF_ERROR(ReplayFile(fs, impl->PathFor(first), first, stats->max_seq, fn, &r));
    stats->files++;
    stats->records += r.records;
    stats->dropped_bytes += r.dropped_bytes;
    for (Damage& d : r.damage) {
      stats->corrupt_records += d.records;
      stats->corrupt_bytes += d.bytes;
      stats->damage.push_back(std::move(d));
    }
    if (r.records > 0) stats->max_seq = r.last_seq;
    files.push_back(Impl::FileInfo{first, r.last_seq, r.size});
  }

  uint64_t next = std::max(stats->max_seq + 1, opts.min_next_seq);
  if (!files.empty()) next = std::max(next, files.back().first_seq);
  if (!files.empty() && files.back().first_seq == next) {
    // Every intact record in a file named N has seq >= N > max_seq, so this
    // file holds none: reuse its name.
    LOGE_ASSERT(files.back().last_seq == 0, "BUG: wal file to reuse holds records");
    files.pop_back();
  }
  LOGE_ASSIGN_OR_RETURN(impl->active_, fs->NewWritableFile(impl->PathFor(next), /*append=*/false));
  if (opts.sync) LOGE_RETURN_IF_ERROR(fs->SyncDir(opts.dir));
  files.push_back(Impl::FileInfo{next, 0, 0});

  {
    MutexLock l(&impl->mu_);
    impl->files_ = std::move(files);
    for (const Impl::FileInfo& f : impl->files_) impl->bytes_on_disk_ += f.bytes;
    impl->next_seq_ = next;
    impl->durable_seq_ = next - 1;
  }
  Impl* d = impl.get();
  impl->writer_ = std::jthread([d] { d->WriterLoop(); });

  std::unique_ptr<Wal> wal(new Wal());
  wal->impl_ = std::move(impl);
  return wal;
}

Wal::~Wal() {
  if (impl_) (void)Close();
}

Result<uint64_t> Wal::Append(std::string_view payload, bool wait,
                             const std::function<void(uint64_t)>& on_assigned) {
  if (payload.size() > kMaxPayloadBytes) {
    return Status::PayloadTooLarge("wal record of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kMaxPayloadBytes));
  }
  Impl& d = *impl_;
  MutexLock l(&d.mu_);
  if (!d.error_.ok()) return d.StickyError();
  if (d.closing_) return Status::Unavailable("write-ahead log is closed");
  const uint64_t seq = d.next_seq_++;
  if (on_assigned) on_assigned(seq);
  // The writer sleeps only while pending_ is empty, so only the record that
  // makes it non-empty needs to wake it.
  const bool wake = d.pending_.empty();
  AppendRecord(seq, payload, &d.pending_);
  if (wake) d.work_cv_.notify_one();
  if (!wait) return seq;
  d.durable_cv_.wait(l.native(), [&d, seq]() REQUIRES(d.mu_) {
    return d.durable_seq_ >= seq || !d.error_.ok();
  });
  if (d.durable_seq_ >= seq) return seq;
  return d.StickyError();
}

Result<int> Wal::DeleteUpTo(uint64_t watermark) {
  Impl& d = *impl_;
  std::vector<Impl::FileInfo> doomed;
  {
    MutexLock l(&d.mu_);
    std::vector<Impl::FileInfo> keep;
    for (size_t i = 0; i < d.files_.size(); i++) {
      const Impl::FileInfo& f = d.files_[i];
      const bool active = i + 1 == d.files_.size();
      if (!active && f.last_seq <= watermark) {
        doomed.push_back(f);
        d.bytes_on_disk_ -= f.bytes;
      } else {
        keep.push_back(f);
      }
    }
    d.files_ = std::move(keep);
  }
  if (doomed.empty()) return 0;

  int deleted = 0;
  Status first_error;
  std::vector<Impl::FileInfo> failed;
  for (const Impl::FileInfo& f : doomed) {
    Status s = d.fs_->Remove(d.PathFor(f.first_seq));
    if (s.ok() || s.code() == Code::kNotFound) {
      deleted++;
    } else {
      failed.push_back(f);
      if (first_error.ok()) first_error = s;
    }
  }
  // Without the fsync a crash could bring the names back; replay would then
  // hand over records that are already in flushed files.
  Status synced = d.opts_.sync ? d.fs_->SyncDir(d.opts_.dir) : Status::OK();
  if (!failed.empty()) {
    // Still on disk: track them again so a later pass retries.
    MutexLock l(&d.mu_);
    for (const Impl::FileInfo& f : failed) {
      auto at = std::lower_bound(
          d.files_.begin(), d.files_.end(), f.first_seq,
          [](const Impl::FileInfo& a, uint64_t seq) { return a.first_seq < seq; });
      d.files_.insert(at, f);
      d.bytes_on_disk_ += f.bytes;
    }
  }
  LOGE_RETURN_IF_ERROR(first_error);
  LOGE_RETURN_IF_ERROR(synced);
  return deleted;
}

bool Wal::RotateIfIdle(uint64_t watermark) {
  Impl& d = *impl_;
  MutexLock l(&d.mu_);
  if (d.closing_ || !d.error_.ok() || d.files_.empty() || !d.pending_.empty()) return false;
  const Impl::FileInfo& active = d.files_.back();
  // Every record written, and all at or below the watermark.
  if (d.durable_seq_ + 1 != d.next_seq_ || active.last_seq > watermark) return false;
  // A new file is asked for, or being made: files_.back() may still be the
  // old one, so asking again would start a second new file with the same
  // first seq (the one that unlinked the live file: docs/format-wal.md).
  if (d.rotate_idle_ || d.rotating_) return true;
  if (active.last_seq > 0) {
    d.rotate_idle_ = true;
    d.work_cv_.notify_all();
  }
  return true;
}

bool Wal::TEST_RotationAsked() const {
  MutexLock l(&impl_->mu_);
  return impl_->rotate_idle_;
}

uint64_t Wal::BytesOnDisk() const {
  MutexLock l(&impl_->mu_);
  return impl_->bytes_on_disk_;
}

size_t Wal::FileCount() const {
  MutexLock l(&impl_->mu_);
  return impl_->files_.size();
}

Histogram::Snapshot Wal::FsyncSeconds() const { return impl_->fsync_seconds.Take(); }

bool Wal::Healthy() const {
  MutexLock l(&impl_->mu_);
  return impl_->error_.ok();
}

Status Wal::Close() {
  Impl& d = *impl_;
  MutexLock cl(&d.close_mu_);
  if (d.closed_) return d.close_status_;
  {
    MutexLock l(&d.mu_);
    d.closing_ = true;
  }
  d.work_cv_.notify_all();
  if (d.writer_.joinable()) d.writer_.join();

  Status s;
  {
    MutexLock l(&d.mu_);
    s = d.error_;
  }
  // Every batch was synced as it was written (when opts_.sync), so closing
  // needs no further fsync. If the active file holds records, end on a new
  // empty file named by the next seq: DeleteUpTo can then remove every file
  // whose records are flushed, while the empty file's name keeps seqs from
  // going back at the next Open (flush files remember the seqs they hold).
  uint64_t next_seq = 0;
  bool active_has_records = false;
  {
    MutexLock l(&d.mu_);
    next_seq = d.next_seq_;
    active_has_records = !d.files_.empty() && d.files_.back().last_seq != 0;
  }
  if (s.ok() && d.active_ && active_has_records) s = d.Rotate(next_seq);
  if (d.active_) {
    Status c = d.active_->Close();
    if (s.ok()) s = c;
    d.active_.reset();
  }
  d.closed_ = true;
  d.close_status_ = s;
  return s;
}

}  // namespace loge::wal
