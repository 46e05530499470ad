#include "wal/checkpointer.h"

#include "io/file_system.h"
#include "wal/wal.h"

namespace loge::wal {

void SeqTracker::Begin(uint64_t seq, uint32_t parts) {
  MutexLock l(&mu_);
  LOGE_ASSERT(seq > max_seq_, "BUG: SeqTracker::Begin seqs must increase");
  max_seq_ = seq;
  if (parts > 0) pending_[seq] = parts;
}

void SeqTracker::Done(const std::vector<uint64_t>& seqs) {
  MutexLock l(&mu_);
  for (uint64_t seq : seqs) {
    auto it = pending_.find(seq);
    // A seq that is not pending was never registered here (this tracker
    // started after it) or is already done; neither may move the watermark.
    if (it == pending_.end()) continue;
    if (--it->second == 0) pending_.erase(it);
  }
}

uint64_t SeqTracker::Watermark() const {
  MutexLock l(&mu_);
  if (pending_.empty()) return max_seq_;
  return pending_.begin()->first - 1;
}

size_t SeqTracker::Pending() const {
  MutexLock l(&mu_);
  return pending_.size();
}

Checkpointer::Checkpointer(const CheckpointerOptions& opts, SeqTracker* tracker, Wal* wal)
    : opts_(opts),
      tracker_(tracker),
      wal_(wal),
      thread_([this](std::stop_token st) { Loop(std::move(st)); }) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Report(std::vector<uint64_t> seqs) {
  MutexLock l(&mu_);
  if (reported_.empty()) {
    reported_ = std::move(seqs);
  } else {
    reported_.insert(reported_.end(), seqs.begin(), seqs.end());
  }
}

Status Checkpointer::TEST_RunOnce() { return RunPass(); }

void Checkpointer::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // also wakes the wait in Loop
  thread_.join();
  // The final pass deletes what the last flushes made safe, so a clean
  // restart replays as little as possible. A failure here only means more
  // replay next time.
  (void)RunPass();
}

uint64_t Checkpointer::watermark() const {
  MutexLock l(&mu_);
  return watermark_;
}

// One pass, in crash-safe order:
//  1. take the seqs reported since the last pass (their flush files are
//     already fsynced and renamed into place);
//  2. mark their parts done in the tracker;
//  3. fsync the output directory, so those renames survive a crash;
//  4. read the watermark: every seq <= it is in a durable file;
//  5. persist it (opts_.persist_watermark), so replay can skip those seqs;
//  6. delete the WAL files that hold only seqs <= the watermark.
// If 3 or 5 fails nothing is deleted; the next pass fsyncs again and then covers
// these seqs too, because the watermark is read only after a successful fsync.
Status Checkpointer::RunPass() {
  MutexLock pass(&pass_mu_);
  std::vector<uint64_t> seqs;
  {
    MutexLock l(&mu_);
    seqs.swap(reported_);
  }
  if (!seqs.empty()) tracker_->Done(seqs);
  io::FileSystem* fs = opts_.fs ? opts_.fs : io::DefaultFileSystem();
  if (!opts_.output_dir.empty()) {
    LOGE_RETURN_IF_ERROR(fs->SyncDir(opts_.output_dir).WithContext("checkpoint"));
  }
  const uint64_t w = tracker_->Watermark();
  if (opts_.persist_watermark) LOGE_RETURN_IF_ERROR(opts_.persist_watermark(w).WithContext("checkpoint"));
  LOGE_ASSIGN_OR_RETURN(int deleted, wal_->DeleteUpTo(w));
  (void)deleted;
  //  7. when the WAL is caught up, rotate it: the next pass deletes the
  //     file, so an idle store keeps no WAL bytes (and calls on_idle).
  if (wal_->RotateIfIdle(w) && opts_.on_idle) opts_.on_idle();
  MutexLock l(&mu_);
  watermark_ = w;
  return Status::OK();
}

void Checkpointer::Loop(std::stop_token st) {
  while (!st.stop_requested()) {
    {
      MutexLock l(&mu_);
      // Wakes early only on stop; the predicate keeps spurious wake-ups from
      // running extra passes.
      cv_.wait_for(l.native(), st, opts_.interval, [] { return false; });
    }
    if (st.stop_requested()) return;
    // A failed pass is retried on the next tick; Stop runs the last one.
    (void)RunPass();
  }
}

}  // namespace loge::wal
