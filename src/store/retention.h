// Retention: the background pass that deletes files past --retention (by the
// age of a file's newest row) and, oldest first, local files beyond
// --retention-size, local and remote alike; with --retention-rule, a file
// holding both expired and kept rows is rewritten without the expired ones
// (Merger::Rewrite; a remote one when an object store is set)
// (docs/retention.md).
//
// DESIGN (threads): one thread wakes every `interval` for a pass; RunOnce()
// (tests, the store's admin call) runs a pass on the caller's thread. Passes
// are serialised by pass_mu_. A file being merged or rotated is claimed in
// the FileSet (FileSet::Claim): a pass skips it and finds it (or what it
// became) again next time. Remote objects are deleted through the store's
// CatalogWorker (the S3 uploader), which serialises the delete with its
// rotation and reconcile passes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <thread>

#include "core/mutex.h"
#include "core/status.h"
#include "core/time.h"
#include "core/types.h"
#include "query/matcher.h"
#include "storage/file_set.h"

namespace loge::io {
class FileSystem;
}
namespace loge::storage {
class Catalog;
class CatalogWorker;
}  // namespace loge::storage

namespace loge::store {

class Merger;

// --retention-rule '{app="debug"}=24h': streams the selector matches keep
// rows for `age` instead of --retention (shorter or longer).
struct RetentionRule {
  std::string text;                           // as given, for logs and errors
  std::vector<query::LabelMatcher> matchers;  // all must hold
  Duration age = Duration(0);                 // > 0
};

// Parses one --retention-rule: "<LogQL stream selector>=<duration>"
// (durations as --retention: 24h, 7d, 2w). InvalidArgument names the part.
Result<RetentionRule> ParseRetentionRule(std::string_view text);
// A retention period: a Go-style duration or whole days, weeks or years as
// Loki writes them (30d, 4w, 1y = 365 days); never negative.
Result<Duration> ParseRetentionPeriod(std::string_view text);

struct RetentionOptions {
  // --retention (default 0 = keep forever): a file goes once its newest row
  // is older than this; queries never return rows older than now - max_age.
  Duration max_age = Duration(0);
  // --retention-size (default 0 = no bound): compressed bytes of local files
  // kept; past it the files with the oldest newest row go first.
  uint64_t max_local_bytes = 0;
  // --s3-retention-size (default 0 = no bound): the same for the bytes of
  // remote files (catalog sizes; needs the S3 tier).
  uint64_t max_remote_bytes = 0;
  // --retention-interval (default 1m): time between passes; 0 = no thread
  // (passes run only through RunOnce).
  Duration interval = std::chrono::minutes(1);
  // --retention-rule (repeatable): per-stream periods; of the rules that
  // match a stream the shortest wins, and a stream no rule matches keeps
  // max_age.
  std::vector<RetentionRule> rules;
  // The wall clock in unix ns; null = NowNanos (tests pass their own).
  std::function<int64_t()> now_ns;
};

struct RetentionStats {
  uint64_t passes = 0;
  uint64_t files_deleted = 0;   // local and remote, since start
  uint64_t rows_deleted = 0;    // catalog rows of those files
  uint64_t bytes_deleted = 0;   // their compressed bytes
  uint64_t remote_deleted = 0;  // of files_deleted, objects deleted from the bucket
  uint64_t failures = 0;        // files a pass could not delete (logged; retried next pass)
  uint64_t skipped_claimed = 0; // files left for now because a merge or rotation held them
  // Local files holding both expired and kept rows (--retention-rule)
  // rewritten without the expired ones; their rows count in rows_deleted.
  uint64_t files_rewritten = 0;
};

class Retention {
 public:
  // catalog and files outlive the Retention; remote may be null (no S3
  // tier: remote rows are then left alone). safe_wal_seq: every WAL seq at
  // or below it is in a durable file (a flush file above it is left to
  // its merge: deleting it would let WAL replay bring its rows back).
  // merger (may be null: no rewrites) rewrites a file holding both
  // expired and kept rows without the expired ones (a remote one when it
  // CanRewriteRemote).
  Retention(RetentionOptions opts, std::string dir, io::FileSystem* fs, storage::Catalog* catalog,
            storage::FileSet* files, storage::CatalogWorker* remote, std::function<uint64_t()> safe_wal_seq,
            Merger* merger = nullptr);
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  bool enabled() const {
    return opts_.max_age > Duration(0) || opts_.max_local_bytes > 0 || opts_.max_remote_bytes > 0 ||
           !opts_.rules.empty();
  }
  // The oldest timestamp any stream keeps: now minus the longest period of
  // --retention and the rules; min int64 when something is kept forever
  // (--retention 0). Files wholly older go.
  int64_t Floor() const;
  // The oldest timestamp a stream with `labels` keeps at `now` (rules, then
  // --retention); min int64 = forever.
  int64_t StreamFloor(const Labels& labels, int64_t now) const;
  // For queries: StreamFloor at the current time; null without rules.
  std::function<int64_t(const Labels&)> StreamFloors() const;
  void Start() EXCLUDES(mu_);
  void Stop() EXCLUDES(mu_);
  // One pass now: every expired file, then the size bound. The first
  // error (the others are logged and counted); files that failed stay for
  // the next pass.
  Status RunOnce() EXCLUDES(pass_mu_);
  RetentionStats stats() const EXCLUDES(mu_);

  // Called between the crash-safe steps of a file's deletion (DeleteLocal,
  // DeleteRemote in retention.cc) with the step number; a non-OK status
  // abandons that deletion right there, as a crash would (tests).
  std::function<Status(int step)> TEST_step_hook;

 private:
  Status DeleteFile(const storage::FilePtr& f) REQUIRES(pass_mu_);
  Status DeleteLocal(const storage::FilePtr& f) REQUIRES(pass_mu_);
  Status DeleteRemote(const storage::FilePtr& f) REQUIRES(pass_mu_);
  bool Deletable(const storage::FilePtr& f) const;
  int64_t Now() const;
  // What the rules leave of the file `f` (local, or remote through the
  // remote-read VFS): whether some stream keeps a row in it, and whether
  // some stream has a row past its floor.
  struct Verdict {
    bool kept = false;
    bool expired = false;
    int64_t next = std::numeric_limits<int64_t>::max();  // when a row of it expires next (unix ns)
  };
  Result<Verdict> Judge(const storage::FilePtr& f, int64_t now) const;

  // Rewrites `f` without its expired rows (Merger::Rewrite).
  Status RewriteExpired(const storage::FilePtr& f, int64_t now) REQUIRES(pass_mu_);
  // Deletes files of `tier` (not in `gone`), oldest newest row first, until
  // their bytes are at most `bound`.
  Status BoundSize(const std::vector<storage::FilePtr>& all, const std::vector<int64_t>& gone, storage::Tier tier,
                   uint64_t bound) REQUIRES(pass_mu_);
  void Loop(std::stop_token st);

  const RetentionOptions opts_;
  const std::string dir_;
  io::FileSystem* const fs_;
  storage::Catalog* const catalog_;
  storage::FileSet* const files_;
  storage::CatalogWorker* const remote_;
  const std::function<uint64_t()> safe_wal_seq_;
  Merger* const merger_;
  // Per file id: before this time no row of it expires, so the
  // rules pass need not open it again (Judge's Verdict::next).
  std::map<int64_t, int64_t> next_judge_ GUARDED_BY(pass_mu_);

  Mutex pass_mu_;  // one pass at a time
  mutable Mutex mu_;
  std::condition_variable_any cv_;  // stop
  bool stopping_ GUARDED_BY(mu_) = false;
  RetentionStats stats_ GUARDED_BY(mu_);
  std::jthread thread_;
};

}  // namespace loge::store
