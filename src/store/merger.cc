#include "store/merger.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include "core/time.h"
#include "io/file_system.h"
#include "storage/catalog.h"
#include "storage/catalog_worker.h"
#include "storage/file_set.h"
#include "storage/merge.h"
#include "storage/verify.h"
#include "store/filename.h"

namespace loge::store {

namespace {

// A failed merge waits this long before the next attempt, doubling up to
// kMaxBackoff: a broken input must not turn into a busy loop.
constexpr auto kFirstBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(60);

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Line bytes of a file whose catalog row predates the column: estimated
// from its compressed size (about 8:1 for log text), so the policy still
// sizes its merges sensibly.
uint64_t LineBytes(const storage::CatalogEntry& e) { return e.line_bytes ? e.line_bytes : e.bytes * 8; }

// Removes the files *paths names when it goes out of scope: a rewrite's
// downloads of remote segments go whatever happens (recovery deletes one a
// crash left: a *.tmp name).
class RemoveOnExit {
 public:
  RemoveOnExit(io::FileSystem* fs, const std::vector<std::string>* paths) : fs_(fs), paths_(paths) {}
  ~RemoveOnExit() {
    for (const auto& p : *paths_) {
      if (Status st = fs_->Remove(p); !st.ok() && st.code() != Code::kNotFound) {
        spdlog::warn("rewrite: cannot remove the download {} (the next start deletes it): {}", p, st.ToString());
      }
    }
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  io::FileSystem* const fs_;
  const std::vector<std::string>* const paths_;
};

}  // namespace

Merger::Merger(const MergerOptions& opts, storage::Catalog* catalog, storage::FileSet* files)
    : opts_(opts), catalog_(catalog), files_(files), fs_(opts.fs ? opts.fs : io::DefaultFileSystem()) {}

Merger::~Merger() { Stop(); }

void Merger::Start() {
  if (!enabled() || !threads_.empty()) return;
  for (int i = 0; i < std::max(opts_.threads, 1); i++) {
    threads_.emplace_back([this](std::stop_token st) { Loop(st); });
  }
}

void Merger::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  threads_.clear();  // jthread: request stop and join
}

void Merger::Wake() {
  MutexLock l(&mu_);
  wake_ = true;
  cv_.notify_all();
}

void Merger::Loop(std::stop_token st) {
  if (opts_.nice != 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), opts_.nice) != 0) {
    spdlog::warn("merge thread: could not set nice {} (merges run at the process's priority): {}", opts_.nice,
                 std::strerror(errno));
  }
  for (;;) {
    {
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), st, opts_.interval, [&]() REQUIRES(mu_) { return wake_ || stopping_; });
      if (stopping_ || st.stop_requested()) return;
      wake_ = false;
      if (std::chrono::steady_clock::now() < retry_after_) continue;
    }
    for (;;) {
      auto ran = RunOne(false);
      if (!ran.ok() || !*ran || st.stop_requested()) break;
    }
  }
}

std::vector<MergeFile> Merger::Candidates() const {
  const uint64_t safe = opts_.safe_wal_seq ? opts_.safe_wal_seq() : UINT64_MAX;
  std::vector<MergeFile> out;
  for (const auto& f : files_->Snapshot()) {
    const auto& e = f->entry;
    if (e.tier != storage::Tier::kLocal) continue;
    MergeFile m;
    m.id = e.id;
    m.level = e.kind == storage::FileKind::kFlush ? 0 : std::max(e.level, 1);
    m.line_bytes = LineBytes(e);
    m.min_ts = e.min_ts;
    m.max_ts = e.max_ts;
    m.sealed_at = e.sealed_at;
    m.mergeable = !files_->Claimed(e.id) && (m.level > 0 || e.max_wal_seq <= safe);
    out.push_back(m);
  }
  return out;
}

Backlog Merger::backlog() const {
  std::vector<MergeFile> files;
  {
    MutexLock l(&mu_);
    files = Candidates();
  }
  return BacklogOf(files, opts_.policy, NowNanos());
}

MergerStats Merger::stats() const {
  MutexLock l(&mu_);
  MergerStats s = stats_;
  return s;
}

// One merge, in crash-safe order:
//  1. pick the files (policy) and mark them busy;
//  2. merge them into segment-<minTs>-<maxTs>-<id>.sqlite.zst: the image is
//     built in <name>.scratch.tmp, compressed into <name>.tmp, fsynced,
//     renamed, and the directory fsynced (storage::MergeFiles);
//  4. (the file is durable under its name)
//  5. one catalog transaction removes the inputs' rows, records their names
//     as retired and adds the segment's row;
//  6. publish the swap to queries; each input is unlinked when the last
//     query reading it lets go (FileHandle), and its retired name is
//     forgotten once it is gone.
// A crash before 5 leaves an uncataloged segment whose sources are all still
// cataloged: recovery deletes it. A crash after 5 leaves retired inputs on
// disk: recovery deletes them (never re-registers them). Either way every
// row is in exactly one cataloged file.
Result<bool> Merger::RunOne(bool force) {
  std::vector<storage::FilePtr> inputs;
  MergePick pick;
  int64_t id = 0;
  {
    MutexLock l(&mu_);
    if (stopping_) return false;
    auto picked = PickMerge(Candidates(), opts_.policy, NowNanos(), force);
    if (!picked) return false;
    pick = std::move(*picked);
    for (const auto& f : files_->Snapshot()) {
      if (std::find(pick.ids.begin(), pick.ids.end(), f->entry.id) != pick.ids.end()) inputs.push_back(f);
    }
    if (inputs.size() != pick.ids.size()) return Status::Unavailable("merge: a picked file left the catalog");
    // The S3 rotation may have claimed one since Candidates(): try later.
    if (!files_->Claim(pick.ids)) return false;
    auto next = catalog_->GetState(storage::kNextSegmentIdKey, 1);
    Status st = next.ok() ? catalog_->SetState(storage::kNextSegmentIdKey, *next + 1) : next.status();
    if (!st.ok()) {
      files_->Unclaim(pick.ids);
      return st;
    }
    id = *next;
    stats_.running++;
  }
  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = ThreadCpuSeconds();
  uint64_t rows = 0;
  Status st = MergeClaimed(std::move(inputs), pick.ids, id, pick.output_level, pick.reason, nullptr, &rows, nullptr);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = ThreadCpuSeconds() - cpu0;
  files_->Unclaim(pick.ids);
  // A damaged input is quarantined; the next pick goes on without it. (A
  // merge that failed left its inputs in the query set.)
  bool quarantined = false;
  if (st.code() == Code::kCorruption) {
    std::vector<storage::FilePtr> failed;
    for (const auto& f : files_->Snapshot()) {
      if (std::find(pick.ids.begin(), pick.ids.end(), f->entry.id) != pick.ids.end()) failed.push_back(f);
    }
    quarantined = QuarantineDamagedInputs(failed);
  }
  MutexLock l(&mu_);
  stats_.running--;
  stats_.cpu_seconds += cpu;
  if (!st.ok() && quarantined) {
    stats_.failures++;
    cv_.notify_all();
    spdlog::error("merge of {} files failed on a damaged input, now quarantined; merging the rest: {}",
                  pick.ids.size(), st.ToString());
    return true;
  }
  if (!st.ok()) {
    stats_.failures++;
    backoff_ = backoff_.count() == 0 ? Duration(kFirstBackoff) : std::min<Duration>(backoff_ * 2, kMaxBackoff);
    retry_after_ = std::chrono::steady_clock::now() + backoff_;
    cv_.notify_all();
    spdlog::error("merge of {} files failed (they stay as they are; retry in {}): {}", pick.ids.size(),
                  FormatDuration(backoff_), st.ToString());
    return st;
  }
  backoff_ = Duration(0);
  stats_.merges++;
  stats_.files_in += pick.ids.size();
  stats_.rows += rows;
  stats_.seconds += secs;
  cv_.notify_all();
  return true;
}

// Steps 2-6 of a merge (above RunOne) for claimed `inputs` (their ids in
// `ids`), into segment id `id` at `output_level`; with `drop`, the rows it
// names are left out, and when none is left the inputs are retired with
// no output (the catalog transaction of step 5 then only removes them).
//
// A remote input (Rewrite of a segment in S3) is downloaded first and its
// object deleted last: merger_rewrite.cc has those steps and their crash
// order.
Status Merger::MergeClaimed(std::vector<storage::FilePtr> inputs, const std::vector<int64_t>& ids, int64_t id,
                            int output_level, const std::string& reason, const RowDropFn& drop, uint64_t* rows,
                            RewriteResult* deleted) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  const auto start = std::chrono::steady_clock::now();
  LOGE_RETURN_IF_ERROR(step(1));
  int64_t min_ts = inputs[0]->entry.min_ts, max_ts = inputs[0]->entry.max_ts;
  std::vector<std::string> names, local_names, remote_urls;
  for (const auto& f : inputs) {
    min_ts = std::min(min_ts, f->entry.min_ts);
    max_ts = std::max(max_ts, f->entry.max_ts);
    names.push_back(f->entry.path);
    (f->entry.tier == storage::Tier::kRemote ? remote_urls : local_names).push_back(f->entry.path);
  }
  std::vector<std::string> paths, fetched;
  const RemoveOnExit remove_fetched(fs_, &fetched);
  LOGE_RETURN_IF_ERROR(FetchRemoteInputs(inputs, &paths, &fetched));
  const std::string name = SegmentFileName(min_ts, max_ts, static_cast<uint64_t>(id));
  storage::MergeOptions mo;
  mo.output_path = io::JoinPath(opts_.dir, name);
  mo.scratch_path = io::JoinPath(opts_.dir, ScratchName(name));
  mo.level = opts_.level;
  mo.group_lines = opts_.group_lines;
  mo.fs = fs_;
  mo.drop = drop;
  for (const auto& f : inputs) mo.input_id_keys.push_back(f->entry.block_id_keys);
  std::string sources;
  for (const auto& n : names) sources += (sources.empty() ? "" : ",") + n;
  uint64_t max_wal_seq = 0;
  for (const auto& f : inputs) max_wal_seq = std::max(max_wal_seq, f->entry.max_wal_seq);
  // max_wal_seq lets a catalog rebuilt from the files know which WAL
  // records are stored (recovery.cc, docs/reliability.md).
  mo.meta = {{"sources", sources},
             {"level", std::to_string(output_level)},
             {"max_wal_seq", std::to_string(max_wal_seq)}};
  LOGE_RETURN_IF_ERROR(step(2));
  storage::MergeStats ms;
  LOGE_ASSIGN_OR_RETURN(storage::SegmentInfo info, storage::MergeFiles(paths, mo, &ms));
  storage::FilePtr replacement;
  // The hook's step 4 stands for a commit that fails before it lands.
  Status commit = step(4);
  if (info.rows == 0) {
    // Every row was deleted: the inputs go without a successor.
    if (commit.ok()) commit = catalog_->ReplaceRetiring(ids, local_names, nullptr, remote_urls);
    LOGE_RETURN_IF_ERROR(commit);
  } else {
    storage::CatalogEntry e = storage::EntryFor(storage::FileKind::kSegment, name, info, info.bytes);
    e.level = output_level;
    e.max_wal_seq = max_wal_seq;
    if (commit.ok()) commit = catalog_->ReplaceRetiring(ids, local_names, &e, remote_urls);
    if (!commit.ok()) LOGE_RETURN_IF_ERROR(ResolveFailedCommit(name, mo.output_path, commit, &e.id));
    *rows = e.rows;
    replacement = storage::FileHandle::Make(std::move(e), mo.output_path, fs_, opts_.filter_cache);
  }
  if (deleted) {  // committed: the rows are out of the catalog
    deleted->rows_deleted = ms.rows_deleted;
    deleted->bytes_deleted = ms.bytes_deleted;
  }
  LOGE_RETURN_IF_ERROR(step(5));
  files_->Replace(ids, std::move(replacement));
  inputs.clear();  // the last reference may unlink them now
  std::vector<std::string> gone;
  for (const auto& n : local_names) {
    if (!fs_->Exists(io::JoinPath(opts_.dir, n))) gone.push_back(n);
  }
  if (!gone.empty()) (void)catalog_->ForgetRetired(gone);  // best effort: recovery forgets the rest
  if (ms.rows_dropped > 0) spdlog::info("merge {}: dropped {} duplicate rows", name, ms.rows_dropped);
  if (ms.rows_deleted > 0) spdlog::info("merge {}: left out {} rows of delete requests", name, ms.rows_deleted);
  spdlog::info("merged {} files ({} rows, {}) into {} ({} bytes, level {}) in {:.2f}s", names.size(), *rows, reason,
               info.rows == 0 ? "nothing" : name, info.bytes, output_level,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return DeleteReplacedObjects(remote_urls, step);
}

bool Merger::QuarantineDamagedInputs(const std::vector<storage::FilePtr>& inputs) {
  if (!opts_.on_damaged) return false;
  bool found = false;
  for (const auto& f : inputs) {
    if (Status v = storage::VerifyDataFile(fs_, f->local_path); v.code() == Code::kCorruption) {
      opts_.on_damaged(f->entry.id, f->entry.path, v);
      found = true;
    }
  }
  return found;
}

Status Merger::ResolveFailedCommit(const std::string& name, const std::string& path, const Status& failure,
                                   int64_t* landed_id) {
  auto id = catalog_->IdOf(name);
  if (!id.ok()) {
    // Unknown outcome: the file stays; recovery decides by the catalog it
    // finds (an uncataloged segment is deleted).
    spdlog::error("merge: commit of {} failed ({}) and the catalog cannot say whether it landed ({}); the file "
                  "stays until the next start decides", name, failure.ToString(), id.status().ToString());
    return failure;
  }
  if (*id != 0) {
    spdlog::warn("merge: commit of {} reported {} but landed; publishing it", name, failure.ToString());
    *landed_id = *id;
    return Status::OK();
  }
  if (Status rm = fs_->Remove(path); !rm.ok() && rm.code() != Code::kNotFound) {
    spdlog::error("merge: could not remove {} after its failed commit ({}); the next start deletes it", path,
                  rm.ToString());
  }
  return failure;
}

Status Merger::MergeAll() {
  for (;;) {
    LOGE_ASSIGN_OR_RETURN(bool ran, RunOne(true));
    if (ran) continue;
    // Nothing to pick: done unless a worker's merge is still running (its
    // output may be mergeable with what is left).
    MutexLock l(&mu_);
    if (stats_.running == 0) return Status::OK();
    cv_.wait(l.native(), [&]() REQUIRES(mu_) { return stats_.running == 0 || stopping_; });
    if (stopping_) return Status::Unavailable("shutting down");
  }
}

bool Merger::WaitWhile(const std::function<bool()>& over, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (!over()) return true;
    MutexLock l(&mu_);
    if (stopping_) return false;
    const uint64_t seen = stats_.merges + stats_.failures;
    if (!cv_.wait_until(l.native(), deadline,
                        [&]() REQUIRES(mu_) { return stopping_ || stats_.merges + stats_.failures != seen; })) {
      return false;
    }
  }
}

bool Merger::HasWork() const {
  MutexLock l(&mu_);
  if (stats_.running > 0) return true;
  return PickMerge(Candidates(), opts_.policy, NowNanos(), false).has_value();
}

}  // namespace loge::store
