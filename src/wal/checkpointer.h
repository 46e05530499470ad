// SeqTracker and Checkpointer: how the WAL learns which records are safely in
// flushed files, so it can delete the files that hold only those.
//
// A WAL record (one push) is split into parts, one per bucket it touched.
// Begin(seq, parts) registers it; each flush reports the seqs whose part it
// wrote; a record is done when all of its parts are. The durable watermark is
// the largest W such that every registered seq <= W is done (contiguous), so
// a slow bucket holds the watermark back and nothing unflushed is deleted.
//
// Threads: SeqTracker is locked internally. Checkpointer owns one thread that
// wakes every `interval` (or on TEST_RunOnce / Stop), applies the reported
// seqs, fsyncs the output directory, advances the watermark and calls
// Wal::DeleteUpTo.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace loge::io {
class FileSystem;
}

namespace loge::wal {

class Wal;

class SeqTracker {
 public:
  // Registers seq with `parts` outstanding parts; parts == 0 is done at once.
  // Seqs are registered in increasing order.
  void Begin(uint64_t seq, uint32_t parts) EXCLUDES(mu_);
  // Marks one part of each listed seq done (a seq may be listed several times).
  void Done(const std::vector<uint64_t>& seqs) EXCLUDES(mu_);
  // Largest W such that every registered seq <= W is done; the highest seq
  // ever registered when nothing is pending; 0 before any registration.
  uint64_t Watermark() const EXCLUDES(mu_);
  size_t Pending() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<uint64_t, uint32_t> pending_ GUARDED_BY(mu_);  // seq -> parts left
  uint64_t max_seq_ GUARDED_BY(mu_) = 0;                  // highest seq registered
};

struct CheckpointerOptions {
  std::chrono::milliseconds interval{2000};  // --checkpoint-interval
  std::string output_dir;                    // fsynced once per pass
  io::FileSystem* fs = nullptr;              // nullptr = io::DefaultFileSystem()
  // Called with the new watermark before any WAL file below it is deleted;
  // a non-OK status skips the deletion this pass. Ingest persists the
  // watermark here so replay can skip every record at or below it.
  std::function<Status(uint64_t)> persist_watermark;
  // Called after a pass that found the WAL caught up (every record in
  // flushed files): a quiet moment for housekeeping such as truncating the
  // catalog's own journal. Failures are the callee's to log.
  std::function<void()> on_idle;
};

class Checkpointer {
 public:
  // Does not own tracker or wal; both must outlive it. Starts the thread.
  Checkpointer(const CheckpointerOptions& opts, SeqTracker* tracker, Wal* wal);
  ~Checkpointer();  // Stop()s
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Called by the flush writer after a flush file holding parts of `seqs` is
  // fsynced and renamed into place. Cheap: queues them for the next pass.
  void Report(std::vector<uint64_t> seqs) EXCLUDES(mu_);

  // Runs one pass now, on the calling thread (tests; and the final pass at Stop).
  Status TEST_RunOnce() EXCLUDES(mu_);
  // Runs a last pass and joins the thread.
  void Stop();

  uint64_t watermark() const EXCLUDES(mu_);

 private:
  Status RunPass();
  void Loop(std::stop_token st);

  const CheckpointerOptions opts_;
  SeqTracker* const tracker_;
  Wal* const wal_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;
  std::vector<uint64_t> reported_ GUARDED_BY(mu_);  // seqs awaiting the next pass
  uint64_t watermark_ GUARDED_BY(mu_) = 0;
  Mutex pass_mu_;  // serialises passes (the thread, TEST_RunOnce, Stop)
  std::jthread thread_;
};

}  // namespace loge::wal
