#include "query/engine.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "query/file_scan.h"
#include "storage/block.h"
#include "storage/fuse_filter.h"
#include "storage/segment_reader.h"
#include "storage/zstd_vfs.h"

namespace loge::query {

namespace {

// The needles' trigrams that the group filters hold (those not in the file's
// common-trigram filter), in the shape of the needles: per |= filter, per
// alternative. A trigram the common filter may hold is dropped; that only
// weakens pruning (a false positive there is a key not used).
struct RareKeys {
  std::vector<std::vector<std::vector<uint64_t>>> filters;
  // False when some |= filter can never be ruled out (every filter has an
  // alternative without rare trigrams): the groups cannot narrow the scan.
  bool useful = false;
};

RareKeys RareTrigrams(std::string_view common, const NeedleSet& needles) {
  RareKeys r;
  for (const auto& alternatives : needles.v1) {
    auto& f = r.filters.emplace_back();
    bool prunable = true;
    for (const auto& n : alternatives) {
      auto& keys = f.emplace_back();
      for (uint64_t k : n.trigrams) {
        if (!storage::FuseFilter::MayContainSerialized(common, k)) keys.push_back(k);
      }
      if (keys.empty()) prunable = false;
    }
    if (prunable) r.useful = true;
  }
  return r;
}

// False when the group's filter rules out every alternative of some filter.
bool GroupMayHold(std::string_view group_filter, const RareKeys& rare) {
  for (const auto& alternatives : rare.filters) {
    bool any_possible = false;
    for (const auto& keys : alternatives) {
      bool all = true;
      for (uint64_t k : keys) {
        if (!storage::FuseFilter::MayContainSerialized(group_filter, k)) {
          all = false;
          break;
        }
      }
      if (all) {
        any_possible = true;
        break;
      }
    }
    if (!any_possible) return false;
  }
  return true;
}

// Scans one file into *top. `bar` is the best-known k-th timestamp across all
// workers: blocks whose max_ts is below it cannot contribute.
//
// With |= needles that have rare trigrams and a file with group filters
// (block_filters), only the groups whose filters admit every needle are read:
// a rare needle reads a few blocks instead of the file. When more than half
// the groups qualify, the plain newest-first scan is kept, since its early
// stop on the k-th row serves a common needle better.
Status ScanFile(const storage::FileHandle& f, const Query& q, const NeedleSet& needles, TopK* top,
                std::atomic<int64_t>* bar, QueryStats* stats) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(OpenPath(f)));
  simdjson::dom::parser parser;
  struct MatchingStream {
    std::string json;  // labels as stored, returned with each hit
    Labels labels;     // the same, for entry filters
  };
  std::unordered_map<int64_t, MatchingStream> streams;  // by stream id
  Status parse_status;
  size_t all_streams = 0;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    all_streams++;
    if (!parse_status.ok()) return;
    auto labels = ParseLabelsJson(parser, json);
    if (!labels.ok()) {
      parse_status = labels.status().WithContext(ShownName(f));
      return;
    }
    if (q.MatchesLabels(*labels)) streams.emplace(id, MatchingStream{std::string(json), std::move(*labels)});
  }));
  LOGE_RETURN_IF_ERROR(parse_status);
  if (streams.empty()) return Status::OK();
  if (streams.size() < all_streams) {
    // Read only the matching streams' blocks (fewer pages; fewer frames fetched remotely).
    std::vector<int64_t> ids;
    for (const auto& s : streams) ids.push_back(s.first);
    reader->RestrictToStreams(std::move(ids));
  }

  auto threshold = [&] {
    return std::max(top->Full() ? top->Threshold() : std::numeric_limits<int64_t>::min(),
                    bar->load(std::memory_order_relaxed));
  };

  // Candidate groups, newest first, when group filters narrow the scan.
  struct Range {
    int64_t first_block, last_block, min_ts, max_ts;
  };
  std::vector<Range> groups;
  bool use_groups = false;
  if (!needles.empty() && f.entry.format >= 2 && f.entry.filters) {
    // Format 2: the filters came with the catalog row (or were read at open).
    const storage::FileFilters& ff = *f.entry.filters;
    const storage::UsableKeys keys = storage::UsableKeysFor(ff, needles.v2);
    if (keys.prunes) {
      const auto candidates = storage::CandidateGroups(ff, keys, q.start, q.end);
      use_groups = !ff.groups.empty() && candidates.size() * 2 <= ff.groups.size();
      if (use_groups) {
        stats->block_groups_skipped += ff.groups.size() - candidates.size();
        for (size_t i : candidates) {
          const auto& g = ff.groups[i];
          groups.push_back(Range{g.first_block, g.last_block, g.min_ts, g.max_ts});
        }
      }
    }
  } else if (!needles.empty() && f.entry.format < 2) {
    RareKeys rare;
    auto common = reader->ReadCommonTrigrams();
    if (!common.ok() && common.status().code() != Code::kNotFound) return common.status();
    if (common.ok()) rare = RareTrigrams(*common, needles);
    if (rare.useful) {
      LOGE_ASSIGN_OR_RETURN(auto all, reader->ReadBlockGroups());
      for (auto& g : all) {
        if (g.max_ts < q.start || g.min_ts > q.end) continue;
        if (GroupMayHold(g.trigrams, rare)) groups.push_back(Range{g.first_block, g.last_block, g.min_ts, g.max_ts});
      }
      use_groups = !all.empty() && groups.size() * 2 <= all.size();
      if (use_groups) stats->block_groups_skipped += all.size() - groups.size();
    }
  }
  if (use_groups) {
    std::sort(groups.begin(), groups.end(), [](const Range& a, const Range& b) { return a.max_ts > b.max_ts; });
  }

  std::vector<storage::RowView> rows;
  Status st;
  // Examines one block; false once it is older than the k-th row (blocks of
  // the newest-first scan: nothing after it can enter either).
  auto visit = [&](const storage::BlockCursor& b) {
    if (b.max_ts() < threshold()) return false;
    auto it = streams.find(b.stream());
    if (it == streams.end()) return true;
    std::string_view lines = b.lines();
    if (!BlockMayMatch(q, lines)) return true;
    stats->blocks_scanned++;
    uint32_t n = b.n();
    st = b.Rows(&rows);
    if (!st.ok()) return false;
    std::vector<std::string> meta;
    if (b.HasMetadata()) {
      auto m = b.Metadata();
      if (!m.ok()) {
        st = m.status();
        return false;
      }
      meta = std::move(*m);
    }
    for (uint32_t i = 0; i < n; i++) {
      const auto& r = rows[i];
      if (!q.InWindow(r.ts) || !top->Admits(r.ts) || !q.MatchesLine(r.line)) continue;
      if (!q.MatchesEntry(it->second.labels, meta.empty() ? std::string_view() : meta[i])) continue;
      top->Add(Hit{r.ts, std::string(r.line), it->second.json, meta.empty() ? std::string() : meta[i]});
    }
    if (top->Full()) {
      int64_t t = top->Threshold();
      int64_t cur = bar->load(std::memory_order_relaxed);
      while (t > cur && !bar->compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
      }
    }
    return true;
  };
  if (!use_groups) {
    LOGE_RETURN_IF_ERROR(reader->ScanBlocksNewestFirst(q.start, q.end, visit));
    return st.WithContext(ShownName(f));
  }
  for (const auto& g : groups) {
    if (g.max_ts < threshold()) break;  // groups come newest first
    LOGE_RETURN_IF_ERROR(reader->ScanBlockRange(g.first_block, g.last_block, q.start, q.end,
                                                [&](const storage::BlockCursor& b) {
                                                  // Blocks of a range are in id order: skip, do not stop.
                                                  if (b.max_ts() >= threshold()) visit(b);
                                                  return st.ok();
                                                }));
    if (!st.ok()) break;
  }
  return st.WithContext(ShownName(f));
}

}  // namespace

Result<QueryResult> Engine::Run(const Query& q) { return Execute(q, nullptr); }

Result<SearchPlan> Engine::Plan(const Query& q) {
  SearchPlan plan;
  LOGE_ASSIGN_OR_RETURN(plan.local, Execute(q, &plan.remote));
  return plan;
}

Result<QueryResult> Engine::Execute(const Query& q, std::vector<FileRef>* remote_out) {
  QueryResult res;
  TopK top(q.limit);
  std::vector<FileRef> files;
  source_->Snapshot(q, &top, &files);
  res.stats.files_considered = files.size();

  // Plan from the catalog: time overlap, label keys, content filters.
  std::vector<const storage::FileHandle*> plan;
  const NeedleSet needles = NeedlesOf(q);
  for (const auto& f : files) {
    switch (Prune(f->entry, q, needles)) {
      case PruneReason::kKeep:
        if (remote_out != nullptr && IsRemote(*f)) {
          remote_out->push_back(f);
        } else {
          plan.push_back(f.get());
        }
        break;
      case PruneReason::kTime: res.stats.pruned_by_time++; break;
      case PruneReason::kLabels: res.stats.pruned_by_labels++; break;
      case PruneReason::kFilter: res.stats.pruned_by_filter++; break;
    }
  }
  res.stats.files_pruned = files.size() - plan.size() - (remote_out ? remote_out->size() : 0);
  std::sort(plan.begin(), plan.end(), [](const storage::FileHandle* a, const storage::FileHandle* b) {
    return a->entry.max_ts > b->entry.max_ts;
  });

  std::atomic<int64_t> bar(top.Full() ? top.Threshold() : std::numeric_limits<int64_t>::min());
  std::atomic<size_t> next(0);
  std::mutex mu;  // guards top (merge), status, stats, warnings below
  Status status;
  std::atomic<bool> remote_down(false);  // a remote file was Unavailable: skip the other remote files
  // Workers take files in plan order until `stop_at`.
  auto worker = [&](size_t stop_at) {
    TopK local(q.limit);
    QueryStats ls;
    Status local_status;
    std::vector<std::string> warnings;
    const storage::RemoteIoStats io_before = storage::ThisThreadRemoteIoStats();
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= stop_at) break;
      const storage::FileHandle& f = *plan[i];
      // Files are in descending max_ts order: once one cannot beat the k-th
      // row, neither can any after it, but other workers may still hold
      // earlier ones, so just skip this one.
      int64_t threshold = std::max(local.Full() ? local.Threshold() : std::numeric_limits<int64_t>::min(),
                                   bar.load(std::memory_order_relaxed));
      if (f.entry.max_ts < threshold) {
        ls.files_pruned++;
        continue;
      }
      if (IsRemote(f) && remote_down.load()) {
        warnings.push_back(ShownName(f) + ": not read: the object store was unavailable");
        continue;
      }
      ls.files_opened++;
      if (IsRemote(f)) ls.remote_files_opened++;
      local_status = ScanFile(f, q, needles, &local, &bar, &ls);
      if (!local_status.ok() && SkippableRemoteFailure(f, local_status)) {
        if (local_status.code() == Code::kUnavailable) remote_down.store(true);
        warnings.push_back(ShownName(f) + ": not read: " + local_status.ToString());
        local_status = Status::OK();
      }
      if (!local_status.ok()) break;
    }
    const storage::RemoteIoStats io_after = storage::ThisThreadRemoteIoStats();
    std::lock_guard<std::mutex> l(mu);
    res.stats.remote_files_opened += ls.remote_files_opened;
    res.stats.remote_requests += io_after.requests - io_before.requests;
    res.stats.remote_bytes += io_after.bytes - io_before.bytes;
    for (auto& w : warnings) res.warnings.push_back(std::move(w));
    top.Merge(std::move(local));
    res.stats.files_pruned += ls.files_pruned;
    res.stats.pruned_by_limit += ls.files_pruned;
    res.stats.files_opened += ls.files_opened;
    res.stats.blocks_scanned += ls.blocks_scanned;
    res.stats.block_groups_skipped += ls.block_groups_skipped;
    if (!local_status.ok() && status.ok()) status = local_status;
  };
  // The newest file is scanned alone first: it usually fills the top k, and
  // then its k-th timestamp lets every later file be skipped unopened (a
  // small limit opens one file instead of `concurrency` files). The rest are
  // scanned in parallel, newest first.
  if (!plan.empty()) worker(1);
  next.store(1);  // worker(1) also drew index 1 before stopping
  size_t rest = plan.size() > 0 ? plan.size() - 1 : 0;
  size_t nthreads = std::min<size_t>(std::max(opts_.concurrency, 1), rest);
  if (status.ok() && nthreads == 1) {
    worker(plan.size());
  } else if (status.ok() && nthreads > 1) {
    bar.store(std::max(bar.load(), top.Full() ? top.Threshold() : std::numeric_limits<int64_t>::min()));
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < nthreads; i++) threads.emplace_back(worker, plan.size());
  }
  if (!status.ok()) return status;
  if (remote_out != nullptr && top.Full()) {
    // A remote file whose newest row is older than the k-th row cannot
    // change the answer: the client need not read it.
    const int64_t kth = top.Threshold();
    size_t before = remote_out->size();
    std::erase_if(*remote_out, [&](const FileRef& f) { return f->entry.max_ts < kth; });
    res.stats.pruned_by_limit += before - remote_out->size();
    res.stats.files_pruned += before - remote_out->size();
  }
  if (remote_out != nullptr) {
    std::sort(remote_out->begin(), remote_out->end(),
              [](const FileRef& a, const FileRef& b) { return a->entry.max_ts > b->entry.max_ts; });
  }
  std::sort(res.warnings.begin(), res.warnings.end());
  res.partial = !res.warnings.empty();
  res.hits = top.TakeSortedNewestFirst();
  return res;
}

std::vector<std::string> Engine::LabelKeys() { return source_->LabelKeys(); }

}  // namespace loge::query
