#include "store/deletes.h"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "query/file_scan.h"
#include "query/scanner.h"
#include "store/merger.h"

namespace loge::store {

namespace {

// Counts, per file, the rows a scan passes (the rows of one request).
class FileRowCounter final : public query::RowConsumer {
 public:
  bool OnFile(const storage::FileHandle& f, const std::unordered_map<int64_t, query::ScanStream>&) override {
    current_ = f.entry.id;
    return true;
  }
  bool WantsMetadata(const query::ScanStream&) override { return false; }
  Status OnRows(const query::ScanStream&, const std::vector<query::ScanRow>& rows) override {
    counts[current_] += rows.size();
    return Status::OK();
  }
  std::map<int64_t, uint64_t> counts;  // file id -> rows

 private:
  int64_t current_ = 0;
};

// Which files hold rows `t` deletes, and how many: the one scanner, with
// the request as the query.
Result<std::map<int64_t, uint64_t>> FilesHolding(const query::Tombstone& t,
                                                 const std::vector<storage::FilePtr>& files) {
  query::Query q;
  q.start = t.start();
  q.end = t.end();
  q.matchers = t.matchers();
  q.line_filters = t.line_filters();
  query::QueryStats qs;
  const query::FilePlan plan = query::PlanFiles(files, q, /*keep_remote_apart=*/false, &qs);
  query::ScanOptions so;
  so.concurrency = 1;  // a background pass: one file at a time
  so.newest_alone_first = false;
  LOGE_ASSIGN_OR_RETURN(query::ScanResult res,
                        query::Scan(plan, q, so, [] { return std::make_unique<FileRowCounter>(); }));
  if (!res.warnings.empty()) return Status::Unavailable("delete request " + t.id() + ": " + res.warnings.front());
  std::map<int64_t, uint64_t> out;
  for (const auto& c : res.consumers) {
    for (const auto& [id, n] : static_cast<FileRowCounter*>(c.get())->counts) out[id] += n;
  }
  return out;
}

// Step 3 of a pass: which files hold rows of which request.
struct Located {
  std::map<int64_t, storage::FilePtr> by_id;                   // the files of the pass
  std::map<std::string, std::map<int64_t, uint64_t>> holding;  // request -> file id -> rows
  std::set<std::string> blocked;  // requests that cannot finish this pass (scan failed, remote rows unrewritable)
  uint64_t waiting_remote = 0;
  Status first;  // the first scan failure
};

// rewrite_remote: remote segments can be rewritten (an object store is
// set); otherwise a request with rows in one waits (waiting_remote).
Located Locate(const query::Tombstones& tombstones, const std::vector<storage::FilePtr>& files,
               bool rewrite_remote) {
  Located out;
  for (const auto& f : files) out.by_id[f->entry.id] = f;
  for (const auto& t : *tombstones) {
    auto held = FilesHolding(t, files);
    if (!held.ok()) {
      out.blocked.insert(t.id());
      if (out.first.ok()) out.first = held.status();
      continue;
    }
    for (const auto& [id, n] : *held) {
      const storage::FilePtr& f = out.by_id[id];
      if (f->entry.tier != storage::Tier::kRemote || rewrite_remote) continue;
      out.blocked.insert(t.id());
      out.waiting_remote++;
      spdlog::warn("delete request {}: rows in remote segment {} are hidden but not removed: no object store "
                   "is set (--s3-bucket)", t.id(), query::ShownName(*f));
    }
    out.holding[t.id()] = std::move(*held);
  }
  return out;
}

// What a rewrite leaves out: per stream, the rows of `tombstones`.
Merger::RowDropFn DropOf(const query::Tombstones& tombstones) {
  return [tombstones](std::string_view labels_json) {
    storage::StreamRowDrop d;
    simdjson::dom::parser parser;
    auto labels = query::ParseLabelsJson(parser, labels_json);
    if (!labels.ok()) return d;  // unreadable labels: the merge itself reports the file
    query::StreamTombstones st(tombstones, *labels);
    if (st.empty()) return d;
    d.windows = st.Windows();
    d.drops = [st](int64_t ts, std::string_view line) { return st.Deletes(ts, line); };
    return d;
  };
}

// Step 4: each file holding rows of some request, rewritten once (a remote
// one only when Locate let it through).
struct Rewrites {
  uint64_t rows_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t rewritten = 0;
  std::set<int64_t> failed;  // file ids
  Status first;
};

Rewrites RewriteAll(Merger* merger, const Located& where, const Merger::RowDropFn& drop) {
  std::set<int64_t> ids;
  const bool remote = merger->CanRewriteRemote();
  for (const auto& [req, held] : where.holding) {
    for (const auto& [id, n] : held) {
      if (remote || where.by_id.at(id)->entry.tier == storage::Tier::kLocal) ids.insert(id);
    }
  }
  Rewrites out;
  for (int64_t id : ids) {
    RewriteResult r;
    Status st = merger->Rewrite(where.by_id.at(id), drop, &r);
    // A rewrite that left rows out and then failed to delete a replaced
    // object still removed them from the catalog: counted, but failed.
    out.rows_deleted += r.rows_deleted;
    out.bytes_deleted += r.bytes_deleted;
    if (!st.ok()) {
      out.failed.insert(id);
      if (out.first.ok()) out.first = st;
      continue;
    }
    out.rewritten++;
  }
  return out;
}

// Step 5: the due requests none of whose files failed or is remote, with
// the rows removed for each.
std::vector<std::pair<std::string, uint64_t>> Finished(const std::vector<storage::DeleteRequestRow>& due,
                                                       const Located& where, const std::set<int64_t>& failed) {
  std::vector<std::pair<std::string, uint64_t>> done;
  for (const auto& r : due) {
    auto it = where.holding.find(r.id);
    if (where.blocked.contains(r.id) || it == where.holding.end()) continue;
    uint64_t rows = 0;
    bool ok = true;
    for (const auto& [id, n] : it->second) {
      ok = ok && !failed.contains(id);
      rows += n;
    }
    if (ok) done.emplace_back(r.id, rows);
  }
  return done;
}

}  // namespace

Deletes::Deletes(DeletesOptions opts, storage::Catalog* catalog, storage::FileSet* files, Merger* merger)
    : opts_(std::move(opts)), catalog_(catalog), files_(files), merger_(merger) {}

Deletes::~Deletes() { Stop(); }

int64_t Deletes::Now() const { return opts_.now_ns ? opts_.now_ns() : NowNanos(); }

Status Deletes::Load() {
  LOGE_ASSIGN_OR_RETURN(auto rows, catalog_->ListDeleteRequests());
  MutexLock l(&mu_);
  requests_ = std::move(rows);
  Publish();
  return Status::OK();
}

void Deletes::Publish() {
  auto ts = std::make_shared<std::vector<query::Tombstone>>();
  uint64_t pending = 0, processed = 0;
  for (const auto& r : requests_) {
    if (r.processed) {
      processed++;
      continue;
    }
    pending++;
    auto t = query::Tombstone::Make(r.id, r.query, r.start, r.end);
    if (!t.ok()) {
      // Accepted once, so only a parser change can get here: say so loudly.
      stats_.failures++;
      spdlog::error("delete request {} ({}) no longer parses and is not applied: {}", r.id, r.query,
                    t.status().ToString());
      continue;
    }
    ts->push_back(std::move(*t));
  }
  stats_.pending = pending;
  stats_.processed = processed;
  tombstones_ = ts->empty() ? nullptr : query::Tombstones(std::move(ts));
}

Result<storage::DeleteRequestRow> Deletes::Create(std::string_view query, int64_t start, int64_t end) {
  // Parsed first so that a bad request is never recorded.
  LOGE_RETURN_IF_ERROR(query::Tombstone::Make("", query, start, end).status());
  storage::DeleteRequestRow r;
  r.query = std::string(query);
  r.start = start;
  r.end = end;
  r.created_at = Now();
  {
    MutexLock l(&mu_);
    const std::string seed = r.query + "\n" + std::to_string(start) + "\n" + std::to_string(end) + "\n" +
                             std::to_string(r.created_at) + "\n" + std::to_string(next_id_++);
    char id[17];
    std::snprintf(id, sizeof(id), "%016llx",
                  static_cast<unsigned long long>(XXH64(seed.data(), seed.size(), 0)));
    r.id = id;
  }
  LOGE_RETURN_IF_ERROR(catalog_->AddDeleteRequest(r));
  MutexLock l(&mu_);
  requests_.push_back(r);
  Publish();
  spdlog::info("delete request {}: {} in [{}, {}] (hidden from queries now)", r.id, r.query, start, end);
  return r;
}

std::vector<storage::DeleteRequestRow> Deletes::List() const {
  MutexLock l(&mu_);
  return requests_;
}

Status Deletes::Cancel(const std::string& id) {
  {
    MutexLock l(&mu_);
    if (std::find(in_pass_.begin(), in_pass_.end(), id) != in_pass_.end()) {
      return Status::InvalidArgument("delete request " + id + " is being processed: its rows are being removed");
    }
    // Held until the catalog row is gone, so no pass can pick it up meanwhile.
    cancelling_.push_back(id);
  }
  Status st = catalog_->CancelDeleteRequest(id);
  MutexLock l(&mu_);
  std::erase(cancelling_, id);
  if (!st.ok()) return st;
  std::erase_if(requests_, [&](const storage::DeleteRequestRow& r) { return r.id == id; });
  Publish();
  spdlog::info("delete request {} cancelled", id);
  return Status::OK();
}

query::Tombstones Deletes::Pending() const {
  MutexLock l(&mu_);
  return tombstones_;
}

DeleteStats Deletes::stats() const {
  MutexLock l(&mu_);
  DeleteStats s = stats_;
  return s;
}

void Deletes::Start() {
  if (opts_.interval <= Duration(0) || thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
}

void Deletes::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_ = std::jthread();  // request stop and join
}

void Deletes::Loop(std::stop_token st) {
  for (;;) {
    {
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), st, opts_.interval, [&]() REQUIRES(mu_) { return stopping_; });
      if (stopping_ || st.stop_requested()) return;
    }
    (void)RunOnce();  // failures are logged and counted
  }
}

// One pass, in order:
//  1. take the pending requests past their cancel period (they can no
//     longer be cancelled from here on);
//  2. flush the head and checkpoint the WAL, so every row pushed so far is
//     in a file whose rewrite no WAL replay can undo;
//  3. per request, the files holding its rows (the one scanner);
//  4. rewrite each such file once, without the rows of every due request
//     (Merger::Rewrite: a merge's crash-safe steps; a remote segment is
//     downloaded, rewritten into a new local segment, and its object
//     deleted after the catalog swap);
//  4b. delete the objects earlier remote rewrites replaced but could not
//     delete (a failure, or a crash: Merger::FinishRetiredObjects);
//  5. one catalog transaction marks processed every request none of whose
//     files failed or waits for an object store, when no replaced object
//     is left in the bucket; queries stop applying them.
// A crash anywhere leaves the request pending (still hidden by queries); the
// next pass finds what is left of its rows, or none, and finishes.
Status Deletes::RunOnce() {
  MutexLock pass(&pass_mu_);
  Status first;
  auto note = [&](const Status& st) {
    if (!st.ok() && first.ok()) first = st;
  };
  // 1.
  std::vector<storage::DeleteRequestRow> due;
  {
    MutexLock l(&mu_);
    const int64_t now = Now();
    const int64_t period = std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.cancel_period).count();
    for (const auto& r : requests_) {
      if (r.processed || r.created_at > now - period) continue;
      if (std::find(cancelling_.begin(), cancelling_.end(), r.id) != cancelling_.end()) continue;
      due.push_back(r);
      in_pass_.push_back(r.id);
    }
    stats_.passes++;
  }
  if (due.empty()) return Status::OK();
  auto finish = [&](const Status& st) {
    MutexLock l(&mu_);
    in_pass_.clear();
    if (!st.ok()) {
      stats_.failures++;
      spdlog::error("delete pass: {} (the requests stay pending and hidden; retried next pass)", st.ToString());
    }
    return st;
  };
  // 2.
  if (opts_.flush_and_checkpoint) {
    Status st = opts_.flush_and_checkpoint();
    if (!st.ok()) return finish(st);
  }
  auto all = std::make_shared<std::vector<query::Tombstone>>();
  for (const auto& r : due) {
    auto t = query::Tombstone::Make(r.id, r.query, r.start, r.end);
    if (t.ok()) all->push_back(std::move(*t));
  }
  const query::Tombstones tombstones(all);
  // 3.
  const Located where = Locate(tombstones, files_->Snapshot(), merger_->CanRewriteRemote());
  note(where.first);
  // 4.
  const Rewrites rw = RewriteAll(merger_, where, DropOf(tombstones));
  note(rw.first);
  // 4b. A replaced object still in the bucket holds rows of some request.
  const Status leftovers = merger_->FinishRetiredObjects();
  note(leftovers);
  // 5.
  std::vector<std::pair<std::string, uint64_t>> done = Finished(due, where, rw.failed);
  if (!leftovers.ok()) done.clear();
  Status marked = done.empty() ? Status::OK() : catalog_->MarkDeleteRequestsProcessed(done);
  note(marked);
  {
    MutexLock l(&mu_);
    stats_.rows_deleted += rw.rows_deleted;
    stats_.bytes_deleted += rw.bytes_deleted;
    stats_.files_rewritten += rw.rewritten;
    stats_.waiting_remote = where.waiting_remote;
    stats_.failures += rw.failed.size();
    if (marked.ok()) {
      for (auto& r : requests_) {
        for (const auto& [id, rows] : done) {
          if (r.id == id) {
            r.processed = true;
            r.rows_deleted += rows;
          }
        }
      }
      Publish();
    }
  }
  for (const auto& [id, rows] : done) spdlog::info("delete request {} processed: {} rows removed", id, rows);
  return finish(first);
}

}  // namespace loge::store
