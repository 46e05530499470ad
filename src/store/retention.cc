#include "store/retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "io/file_system.h"
#include "query/file_scan.h"
#include "query/logql.h"
#include "storage/catalog.h"
#include "storage/catalog_worker.h"
#include "storage/segment_reader.h"
#include "store/merger.h"

namespace loge::store {

Result<Duration> ParseRetentionPeriod(std::string_view text) {
  const std::string s(text);
  if (s.size() >= 2 && (s.back() == 'd' || s.back() == 'w' || s.back() == 'y')) {
    const std::string num = s.substr(0, s.size() - 1);
    if (num.find_first_not_of("0123456789") == std::string::npos && num.size() <= 6) {
      const int64_t days = std::stoll(num) * (s.back() == 'd' ? 1 : s.back() == 'w' ? 7 : 365);
      return Duration(std::chrono::hours(24 * days));
    }
  }
  auto d = ParseDuration(s);
  if (!d.ok()) return Status::InvalidArgument("invalid retention \"" + s + "\" (want e.g. 0, 24h, 30d, 4w, 1y)");
  if (*d < Duration(0)) return Status::InvalidArgument("a retention must not be negative: " + s);
  return *d;
}

Result<RetentionRule> ParseRetentionRule(std::string_view text) {
  // The selector ends at its closing brace; "=<duration>" follows.
  const size_t close = text.rfind('}');
  if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != '=') {
    return Status::InvalidArgument("--retention-rule \"" + std::string(text) +
                                   "\": want <stream selector>=<duration>, e.g. {app=\"debug\"}=24h");
  }
  RetentionRule r;
  r.text = std::string(text);
  auto sel = query::ParseSelector(text.substr(0, close + 1));
  if (!sel.ok()) return sel.status().WithContext("--retention-rule " + r.text);
  if (!sel->line_filters.empty() || !sel->entry_filters.empty() || (sel->pipeline && !sel->pipeline->empty()) ||
      sel->matchers.empty()) {
    return Status::InvalidArgument("--retention-rule " + r.text + ": want a stream selector alone");
  }
  r.matchers = std::move(sel->matchers);
  auto age = ParseRetentionPeriod(text.substr(close + 2));
  if (!age.ok()) return age.status().WithContext("--retention-rule " + r.text);
  if (*age <= Duration(0)) return Status::InvalidArgument("--retention-rule " + r.text + ": the period must be positive");
  r.age = *age;
  return r;
}

Retention::Retention(RetentionOptions opts, std::string dir, io::FileSystem* fs, storage::Catalog* catalog,
                     storage::FileSet* files, storage::CatalogWorker* remote,
                     std::function<uint64_t()> safe_wal_seq, Merger* merger)
    : opts_(std::move(opts)),
      dir_(std::move(dir)),
      fs_(fs),
      catalog_(catalog),
      files_(files),
      remote_(remote),
      safe_wal_seq_(std::move(safe_wal_seq)),
      merger_(merger) {}

Retention::~Retention() { Stop(); }

int64_t Retention::Now() const { return opts_.now_ns ? opts_.now_ns() : NowNanos(); }

namespace {
int64_t Nanos(Duration d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); }
}  // namespace

int64_t Retention::Floor() const {
  // A stream no rule matches keeps --retention: forever when it is 0.
  if (opts_.max_age <= Duration(0)) return std::numeric_limits<int64_t>::min();
  Duration longest = opts_.max_age;
  for (const auto& r : opts_.rules) longest = std::max(longest, r.age);
  return Now() - Nanos(longest);
}

int64_t Retention::StreamFloor(const Labels& labels, int64_t now) const {
  Duration age = Duration(0);
  for (const auto& r : opts_.rules) {
    if (age != Duration(0) && r.age >= age) continue;
    bool all = true;
    for (const auto& m : r.matchers) all = all && m.Matches(labels);
    if (all) age = r.age;
  }
  if (age == Duration(0)) age = opts_.max_age;
  return age > Duration(0) ? now - Nanos(age) : std::numeric_limits<int64_t>::min();
}

std::function<int64_t(const Labels&)> Retention::StreamFloors() const {
  if (opts_.rules.empty()) return nullptr;
  const int64_t now = Now();
  return [this, now](const Labels& labels) { return StreamFloor(labels, now); };
}

Result<Retention::Verdict> Retention::Judge(const storage::FilePtr& f, int64_t now) const {
  // A remote segment is read through the remote-read VFS (its streams and
  // block headers: a few range requests).
  const bool remote = f->entry.tier == storage::Tier::kRemote;
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(remote ? f->entry.path : f->local_path));
  simdjson::dom::parser parser;
  std::vector<std::pair<int64_t, int64_t>> streams;  // (id, floor)
  Status st;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    if (!st.ok()) return;
    auto labels = query::ParseLabelsJson(parser, json);
    if (!labels.ok()) {
      st = labels.status();
      return;
    }
    streams.emplace_back(id, StreamFloor(*labels, now));
  }));
  LOGE_RETURN_IF_ERROR(st);
  Verdict v;
  for (const auto& [id, floor] : streams) {
    v.kept = v.kept || floor <= f->entry.max_ts;
    if (floor == std::numeric_limits<int64_t>::min()) continue;  // kept forever
    // The stream's block headers: its oldest row here, past its floor or not.
    LOGE_ASSIGN_OR_RETURN(auto blocks, reader->StreamBlocks(id));
    int64_t oldest = std::numeric_limits<int64_t>::max();
    for (const auto& b : blocks) oldest = std::min(oldest, b.min_ts);
    if (oldest == std::numeric_limits<int64_t>::max()) continue;
    v.expired = v.expired || oldest < floor;
    v.next = std::min(v.next, oldest + (now - floor));  // its floor passes its oldest row then
  }
  return v;
}

Status Retention::RewriteExpired(const storage::FilePtr& f, int64_t now) {
  const Merger::RowDropFn drop = [this, now](std::string_view labels_json) {
    storage::StreamRowDrop d;
    simdjson::dom::parser parser;
    auto labels = query::ParseLabelsJson(parser, labels_json);
    if (!labels.ok()) return d;  // the merge itself reports an unreadable file
    const int64_t floor = StreamFloor(*labels, now);
    if (floor == std::numeric_limits<int64_t>::min()) return d;
    d.windows = {{std::numeric_limits<int64_t>::min(), floor - 1}};
    d.drops = [floor](int64_t ts, std::string_view) { return ts < floor; };
    return d;
  };
  RewriteResult r;
  Status st = merger_->Rewrite(f, drop, &r);
  MutexLock l(&mu_);
  if (st.code() == Code::kUnavailable) {
    stats_.skipped_claimed++;  // a merge or the rotation holds it, or its WAL is not checkpointed: next pass
    return Status::OK();
  }
  if (!st.ok()) {
    stats_.failures++;
    return st;  // logged by the merger
  }
  stats_.files_rewritten++;
  stats_.rows_deleted += r.rows_deleted;
  return Status::OK();
}

void Retention::Start() {
  if (!enabled() || opts_.interval <= Duration(0) || thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

void Retention::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_ = std::jthread();  // request stop and join
}

void Retention::Loop(std::stop_token st) {
  for (;;) {
    {
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), st, opts_.interval, [&]() REQUIRES(mu_) { return stopping_; });
      if (stopping_ || st.stop_requested()) return;
    }
    (void)RunOnce();  // failures are logged and counted
  }
}

RetentionStats Retention::stats() const {
  MutexLock l(&mu_);
  RetentionStats s = stats_;
  return s;
}

bool Retention::Deletable(const storage::FilePtr& f) const {
  const auto& e = f->entry;
  if (e.tier == storage::Tier::kRemote) return remote_ != nullptr;
  // A flush file whose WAL records are not yet below the watermark: replay
  // would bring its rows back. Its merge (or the next checkpoint) comes first.
  if (e.kind == storage::FileKind::kFlush && safe_wal_seq_ && e.max_wal_seq > safe_wal_seq_()) return false;
  return true;
}

Status Retention::RunOnce() {
  MutexLock pass(&pass_mu_);
  Status first;
  auto note = [&](const Status& st) {
    if (!st.ok() && first.ok()) first = st;
  };
  const int64_t floor = Floor();
  std::vector<storage::FilePtr> all = files_->Snapshot();
  std::vector<int64_t> gone;  // ids deleted (or given up on) in this pass
  // 1. By age: every file whose newest row is older than the floor.
  for (const auto& f : all) {
    if (f->entry.max_ts >= floor || !Deletable(f)) continue;
    gone.push_back(f->entry.id);
    note(DeleteFile(f));
  }
  // 1b. Per-stream rules: a file none of whose streams keeps a row goes
  // whole; one holding both kept and expired rows is rewritten without the
  // expired ones (queries hide them meanwhile). Remote segments too when
  // the merger can rewrite them (an object store is set).
  if (!opts_.rules.empty()) {
    const bool remote_too = merger_ && merger_->CanRewriteRemote();
    const int64_t now = Now();
    Duration shortest = opts_.max_age;
    for (const auto& r : opts_.rules) shortest = shortest == Duration(0) ? r.age : std::min(shortest, r.age);
    const int64_t candidates_before = now - Nanos(shortest);
    std::map<int64_t, int64_t> next_judge;  // of the files still there
    for (const auto& f : all) {
      // A file whose oldest row is within the shortest period has nothing
      // expired; one judged before, nothing until its next expiry.
      if ((f->entry.tier != storage::Tier::kLocal && !remote_too) || f->entry.min_ts >= candidates_before ||
          !Deletable(f)) {
        continue;
      }
      if (std::find(gone.begin(), gone.end(), f->entry.id) != gone.end()) continue;
      if (auto it = next_judge_.find(f->entry.id); it != next_judge_.end() && now < it->second) {
        next_judge[f->entry.id] = it->second;
        continue;
      }
      auto verdict = Judge(f, now);
      if (!verdict.ok()) {
        note(verdict.status());
        continue;
      }
      if (verdict->kept) {
        if (verdict->expired && merger_) {
          note(RewriteExpired(f, now));  // the rewritten file has a new id: judged afresh
        } else if (!verdict->expired) {
          next_judge[f->entry.id] = verdict->next;
        }
        continue;
      }
      gone.push_back(f->entry.id);
      note(DeleteFile(f));
    }
    next_judge_ = std::move(next_judge);
  }
  // 2. By size: local files, then remote ones.
  if (opts_.max_local_bytes > 0) note(BoundSize(all, gone, storage::Tier::kLocal, opts_.max_local_bytes));
  if (opts_.max_remote_bytes > 0 && remote_) {
    note(BoundSize(all, gone, storage::Tier::kRemote, opts_.max_remote_bytes));
  }
  MutexLock l(&mu_);
  stats_.passes++;
  return first;
}

Status Retention::BoundSize(const std::vector<storage::FilePtr>& all, const std::vector<int64_t>& gone,
                            storage::Tier tier, uint64_t bound) {
  std::vector<storage::FilePtr> files;
  uint64_t bytes = 0;
  for (const auto& f : all) {
    if (f->entry.tier != tier) continue;
    if (std::find(gone.begin(), gone.end(), f->entry.id) != gone.end()) continue;
    bytes += f->entry.bytes;
    files.push_back(f);
  }
  std::sort(files.begin(), files.end(), [](const storage::FilePtr& a, const storage::FilePtr& b) {
    return a->entry.max_ts != b->entry.max_ts ? a->entry.max_ts < b->entry.max_ts : a->entry.id < b->entry.id;
  });
  Status first;
  for (const auto& f : files) {
    if (bytes <= bound) break;
    if (!Deletable(f)) continue;
    Status st = DeleteFile(f);
    if (st.ok()) bytes -= std::min(bytes, f->entry.bytes);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Status Retention::DeleteFile(const storage::FilePtr& f) {
  const std::vector<int64_t> ids = {f->entry.id};
  if (!files_->Claim(ids)) {
    MutexLock l(&mu_);
    stats_.skipped_claimed++;
    return Status::OK();  // a merge or the rotation holds it: next pass
  }
  const bool remote = f->entry.tier == storage::Tier::kRemote;
  Status st = remote ? DeleteRemote(f) : DeleteLocal(f);
  files_->Unclaim(ids);
  MutexLock l(&mu_);
  if (!st.ok()) {
    stats_.failures++;
    spdlog::error("retention: could not delete {} (it stays until the next pass): {}", f->entry.path,
                  st.ToString());
    return st;
  }
  stats_.files_deleted++;
  stats_.rows_deleted += f->entry.rows;
  stats_.bytes_deleted += f->entry.bytes;
  if (remote) stats_.remote_deleted++;
  return Status::OK();
}

// A local file, in crash-safe order (the file is claimed):
//  1. one catalog transaction removes its row and records its name as
//     retired — from here on it is gone for every restart;
//  2. the FileSet drops it: queries stop seeing it, and it is unlinked when
//     the last query reading it lets go (FileHandle);
//  3. its retired name is forgotten once the file is off the disk.
// A crash before 1 leaves the file cataloged: the next pass deletes it
// (queries are clipped by the floor meanwhile). A crash after 1 leaves a
// retired file on disk: recovery deletes it and never re-registers it.
Status Retention::DeleteLocal(const storage::FilePtr& f) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  LOGE_RETURN_IF_ERROR(step(1));
  LOGE_RETURN_IF_ERROR(catalog_->ReplaceRetiring({f->entry.id}, {f->entry.path}, nullptr));
  LOGE_RETURN_IF_ERROR(step(2));
  files_->Replace({f->entry.id}, nullptr);
  LOGE_RETURN_IF_ERROR(step(3));
  if (!fs_->Exists(io::JoinPath(dir_, f->entry.path))) (void)catalog_->ForgetRetired({f->entry.path});
  return Status::OK();
}

// A remote file, in crash-safe order (the file is claimed):
//  1. the object is deleted from the bucket (through the uploader, between
//     its rotation and reconcile passes; OK when it is gone already);
//  2. one catalog transaction removes its row;
//  3. the FileSet drops it.
// The object goes first so that nothing can bring it back: a crash after 1
// leaves a row naming a missing object, which the next pass (or the next
// reconcile, which drops rows whose object is not listed) removes; queries
// are clipped by the floor and never open it. Deleting the row first would
// let a reconcile adopt the still-listed object again.
Status Retention::DeleteRemote(const storage::FilePtr& f) {
  auto step = [&](int n) { return TEST_step_hook ? TEST_step_hook(n) : Status::OK(); };
  LOGE_RETURN_IF_ERROR(step(1));
  LOGE_RETURN_IF_ERROR(remote_->DeleteRemote(f->entry.path));
  LOGE_RETURN_IF_ERROR(step(2));
  LOGE_RETURN_IF_ERROR(catalog_->Remove({f->entry.id}));
  LOGE_RETURN_IF_ERROR(step(3));
  files_->Replace({f->entry.id}, nullptr);
  return Status::OK();
}

}  // namespace loge::store
