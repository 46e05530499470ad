#include "query/scanner.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "query/file_scan.h"
#include "storage/block.h"
#include "storage/filters.h"
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

// A run of blocks [first_block, last_block] whose group filter admits the
// query's needles.
struct GroupRange {
  int64_t first_block, last_block, min_ts, max_ts;
};

// The groups of blocks worth reading, newest first, into *out; false when the
// plain newest-first scan is the better plan (no needles, no usable filter,
// or more than half the groups qualify: then the early stop on the k-th row
// serves a common needle better). Format 2: the group filters came with the
// catalog row, or were read at open, or (a lazy local segment, whose
// summary admitted the needles) come from the filter cache or the file;
// they take the v2 keys. Format 1: the file's block_filters table, after
// the needles' common trigrams are dropped.
Result<bool> GroupsToRead(const storage::FileHandle& f, storage::SegmentReader* reader, const Query& q,
                          const NeedleSet& needles, std::vector<GroupRange>* out, QueryStats* stats) {
  if (needles.empty()) return false;
  if (f.entry.format >= 2) {
    if (!f.entry.filters) return false;
    const storage::UsableKeys keys = storage::UsableKeysFor(*f.entry.filters, needles.v2);
    if (!keys.prunes) return false;
    LOGE_ASSIGN_OR_RETURN(storage::FileFiltersPtr full, f.GroupFilters(reader));
    const storage::FileFilters& ff = *full;
    const auto candidates = storage::CandidateGroups(ff, keys, q.start, q.end);
    if (ff.groups.empty() || candidates.size() * 2 > ff.groups.size()) return false;
    stats->block_groups_skipped += ff.groups.size() - candidates.size();
    for (size_t i : candidates) {
      const auto& g = ff.groups[i];
      out->push_back(GroupRange{g.first_block, g.last_block, g.min_ts, g.max_ts});
    }
  } else {
    auto common = reader->ReadCommonTrigrams();
    if (!common.ok() && common.status().code() != Code::kNotFound) return common.status();
    if (!common.ok()) return false;
    const RareKeys rare = RareTrigrams(*common, needles);
    if (!rare.useful) return false;
    LOGE_ASSIGN_OR_RETURN(auto all, reader->ReadBlockGroups());
    for (const auto& g : all) {
      if (g.max_ts < q.start || g.min_ts > q.end) continue;
      if (GroupMayHold(g.trigrams, rare)) out->push_back(GroupRange{g.first_block, g.last_block, g.min_ts, g.max_ts});
    }
    if (all.empty() || out->size() * 2 > all.size()) {
      out->clear();
      return false;
    }
    stats->block_groups_skipped += all.size() - out->size();
  }
  std::sort(out->begin(), out->end(), [](const GroupRange& a, const GroupRange& b) { return a.max_ts > b.max_ts; });
  return true;
}

// Raises the shared floor to `t` if it is higher.
void RaiseFloor(std::atomic<int64_t>* bar, int64_t t) {
  int64_t cur = bar->load(std::memory_order_relaxed);
  while (t > cur && !bar->compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
  }
}

// The file's streams that match the query, by id, into *out; *all counts
// every stream of the file.
Status MatchingStreams(const storage::FileHandle& f, storage::SegmentReader* reader, const Query& q,
                       std::unordered_map<int64_t, ScanStream>* out, size_t* all) {
  simdjson::dom::parser parser;
  Status parse_status;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    (*all)++;
    if (!parse_status.ok()) return;
    auto labels = ParseLabelsJson(parser, json);
    if (!labels.ok()) {
      parse_status = labels.status().WithContext(ShownName(f));
      return;
    }
    if (!q.MatchesLabels(*labels)) return;
    // A stream whose retention ends after the file's newest row has nothing
    // left in this file (--retention-rule).
    const int64_t floor = q.StreamFloor(*labels);
    if (floor > f.entry.max_ts) return;
    StreamTombstones deleted = q.DeletedFor(*labels);
    out->emplace(id, ScanStream{std::string(json), std::move(*labels), floor, std::move(deleted)});
  }));
  return parse_status;
}

// Buffers one worker reuses from block to block.
struct BlockScratch {
  std::vector<storage::RowView> rows;
  std::vector<ScanRow> passed;
  std::vector<int64_t> times;
};

// A kTimestamps block: the times of its rows in the window, from `floor` up.
Status FeedTimes(const storage::BlockCursor& b, const ScanStream& stream, const Query& q, int64_t floor,
                 RowConsumer* consumer, BlockScratch* s) {
  LOGE_RETURN_IF_ERROR(b.Timestamps(&s->times));
  std::erase_if(s->times, [&](int64_t t) { return !q.InWindow(t) || t < floor; });
  return s->times.empty() ? Status::OK() : consumer->OnTimestamps(stream, s->times);
}

// A kRows block: its rows in the window, from `floor` up, that pass the
// line and entry filters.
Status FeedRows(const storage::BlockCursor& b, const ScanStream& stream, const Query& q, int64_t floor,
                RowConsumer* consumer, BlockScratch* s) {
  LOGE_RETURN_IF_ERROR(b.Rows(&s->rows));
  std::vector<std::string> meta;
  if ((!q.entry_filters.empty() || consumer->WantsMetadata(stream)) && b.HasMetadata()) {
    LOGE_ASSIGN_OR_RETURN(meta, b.Metadata());
  }
  const auto& rows = s->rows;
  s->passed.clear();
  for (size_t i = 0; i < rows.size(); i++) {
    const auto& r = rows[i];
    // An entry pushed twice (same stream, time and line) counts once, as in Loki.
    if (i > 0 && rows[i - 1].ts == r.ts && rows[i - 1].line == r.line) continue;
    if (!q.InWindow(r.ts) || r.ts < floor || !q.MatchesLine(r.line)) continue;
    if (stream.deleted.Deletes(r.ts, r.line)) continue;  // a pending delete request
    std::string_view m = meta.empty() ? std::string_view() : std::string_view(meta[i]);
    if (!q.MatchesEntry(stream.labels, m)) continue;
    s->passed.push_back(ScanRow{r.ts, r.line, m});
  }
  return s->passed.empty() ? Status::OK() : consumer->OnRows(stream, s->passed);
}

// Scans one file into the consumer. `bar` is the best-known floor across all
// workers: blocks whose max_ts is below it cannot contribute.
//
// With |= needles and a file whose group filters rule most groups out
// (GroupsToRead), only the groups that may hold every needle are read: a
// rare needle reads a few blocks instead of the file.
Status ScanFile(const storage::FileHandle& f, const Query& q, const NeedleSet& needles, RowConsumer* consumer,
                std::atomic<int64_t>* bar, QueryStats* stats) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(OpenPath(f)));
  std::unordered_map<int64_t, ScanStream> streams;  // matching streams by id
  size_t all_streams = 0;
  LOGE_RETURN_IF_ERROR(MatchingStreams(f, reader.get(), q, &streams, &all_streams));
  if (streams.empty()) return Status::OK();
  if (!consumer->OnFile(f, streams)) return Status::OK();
  if (streams.size() < all_streams) {
    // Read only the matching streams' blocks (fewer pages; fewer frames fetched remotely).
    std::vector<int64_t> ids;
    for (const auto& s : streams) ids.push_back(s.first);
    reader->RestrictToStreams(std::move(ids));
  }

  auto threshold = [&] { return std::max(consumer->Floor(), bar->load(std::memory_order_relaxed)); };

  // Candidate groups, newest first, when group filters narrow the scan.
  std::vector<GroupRange> groups;
  LOGE_ASSIGN_OR_RETURN(bool use_groups, GroupsToRead(f, reader.get(), q, needles, &groups, stats));

  BlockScratch scratch;
  // Format-2 writers drop repeated entries: a block's n counts distinct rows,
  // and its times stand for its rows when nothing filters lines or entries.
  const bool distinct = f.entry.format >= 2;
  const bool times_alone = distinct && q.line_filters.empty() && q.entry_filters.empty();
  Status st;
  // Examines one block; false once it is older than the floor (blocks of
  // the newest-first scan: nothing after it can enter either).
  auto visit = [&](const storage::BlockCursor& b) {
    // Deadline and client disconnect, once per block (cancel.h).
    st = q.Interrupted();
    if (!st.ok()) return false;
    const int64_t floor = threshold();
    if (b.max_ts() < floor) return false;
    auto it = streams.find(b.stream());
    if (it == streams.end()) return true;
    const int64_t kept = std::max(floor, it->second.floor);  // per-stream retention
    if (b.max_ts() < kept) return true;
    // The substring pre-check reads the block's text: only when there is a needle.
    if (!needles.empty() && !BlockMayMatch(q, b.lines())) return true;
    // A block straddling its stream's retention, or holding rows a pending
    // delete request may hide, shows as reaching before the window, so no
    // consumer counts it from its header alone; its rows are read one by one.
    const bool deleted = it->second.deleted.Overlaps(b.min_ts(), b.max_ts());
    const int64_t min_ts =
        b.min_ts() < it->second.floor || deleted ? std::numeric_limits<int64_t>::min() : b.min_ts();
    const BlockUse use = consumer->OnBlock(BlockHeader{&it->second, min_ts, b.max_ts(), b.n(), &b, distinct});
    if (use == BlockUse::kHeader) return true;
    stats->blocks_scanned++;
    st = use == BlockUse::kTimestamps && times_alone && !deleted
             ? FeedTimes(b, it->second, q, kept, consumer, &scratch)
             : FeedRows(b, it->second, q, kept, consumer, &scratch);
    if (!st.ok()) return false;
    RaiseFloor(bar, consumer->Floor());
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

uint64_t BlockHeader::LineBytes() const {
  if (cursor == nullptr || n == 0) return 0;
  return cursor->line_bytes();
}

FilePlan PlanFiles(const std::vector<FileRef>& files, const Query& q, bool keep_remote_apart, QueryStats* stats) {
  FilePlan plan;
  stats->files_considered = files.size();
  const NeedleSet needles = NeedlesOf(q);
  for (const auto& f : files) {
    switch (Prune(f->entry, q, needles)) {
      case PruneReason::kKeep:
        if (keep_remote_apart && IsRemote(*f)) {
          plan.remote.push_back(f);
        } else {
          plan.scan.push_back(f.get());
        }
        break;
      case PruneReason::kTime: stats->pruned_by_time++; break;
      case PruneReason::kLabels: stats->pruned_by_labels++; break;
      case PruneReason::kFilter: stats->pruned_by_filter++; break;
    }
  }
  stats->files_pruned = files.size() - plan.scan.size() - plan.remote.size();
  std::sort(plan.scan.begin(), plan.scan.end(), [](const storage::FileHandle* a, const storage::FileHandle* b) {
    return a->entry.max_ts > b->entry.max_ts;
  });
  std::sort(plan.remote.begin(), plan.remote.end(),
            [](const FileRef& a, const FileRef& b) { return a->entry.max_ts > b->entry.max_ts; });
  return plan;
}

Result<ScanResult> Scan(const FilePlan& plan, const Query& q, const ScanOptions& opts, const ConsumerFactory& make) {
  // The head was read just before (DataSource::Snapshot stops early when
  // interrupted, without an error of its own): its rows may be incomplete.
  LOGE_RETURN_IF_ERROR(q.Interrupted());
  ScanResult res;
  const NeedleSet needles = NeedlesOf(q);
  std::atomic<int64_t> bar(opts.initial_floor);
  std::atomic<size_t> next(0);
  std::mutex mu;  // guards res and status below
  Status status;
  std::atomic<bool> remote_down(false);  // a remote file was Unavailable: skip the other remote files
  // Workers take files in plan order until `stop_at`.
  auto worker = [&](size_t stop_at) {
    std::unique_ptr<RowConsumer> local = make();
    QueryStats ls;
    Status local_status;
    std::vector<std::string> warnings;
    const storage::RemoteIoStats io_before = storage::ThisThreadRemoteIoStats();
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= stop_at) break;
      local_status = q.Interrupted();
      if (!local_status.ok()) break;
      const storage::FileHandle& f = *plan.scan[i];
      // Files are in descending max_ts order: once one cannot beat the
      // floor, neither can any after it, but other workers may still hold
      // earlier ones, so just skip this one.
      int64_t threshold = std::max(local->Floor(), bar.load(std::memory_order_relaxed));
      if (f.entry.max_ts < threshold) {
        ls.pruned_by_limit++;
        continue;
      }
      if (IsRemote(f) && remote_down.load()) {
        warnings.push_back(ShownName(f) + ": not read: the object store was unavailable");
        continue;
      }
      ls.files_opened++;
      if (IsRemote(f)) ls.remote_files_opened++;
      local_status = ScanFile(f, q, needles, local.get(), &bar, &ls);
      if (!local_status.ok() && !q.Interrupted().ok()) local_status = q.Interrupted();  // without the file's name
      if (!local_status.ok() && SkippableRemoteFailure(f, local_status)) {
        if (local_status.code() == Code::kUnavailable) remote_down.store(true);
        warnings.push_back(ShownName(f) + ": not read: " + local_status.ToString());
        local_status = Status::OK();
      } else if (!local_status.ok() && DamagedLocalFile(f, local_status)) {
        warnings.push_back(ShownName(f) + ": not read: the file is damaged and was moved to quarantine: " +
                           local_status.ToString());
        if (opts.source != nullptr) opts.source->ReportDamaged(f.entry.id, f.entry.path, local_status);
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
    res.stats.files_pruned += ls.pruned_by_limit;
    res.stats.pruned_by_limit += ls.pruned_by_limit;
    res.stats.files_opened += ls.files_opened;
    res.stats.blocks_scanned += ls.blocks_scanned;
    res.stats.block_groups_skipped += ls.block_groups_skipped;
    RaiseFloor(&bar, local->Floor());
    res.consumers.push_back(std::move(local));
    if (!local_status.ok() && status.ok()) status = local_status;
  };
  const size_t total = plan.scan.size();
  size_t rest = total;
  if (opts.newest_alone_first && total > 0) {
    // The newest file alone first: it usually fills the top k, and then its
    // k-th timestamp lets every later file be skipped unopened (a small
    // limit opens one file instead of `concurrency` files).
    worker(1);
    next.store(1);  // worker(1) also drew index 1 before stopping
    rest = total - 1;
  }
  size_t nthreads = std::min<size_t>(std::max(opts.concurrency, 1), rest);
  if (status.ok() && nthreads == 1) {
    worker(total);
  } else if (status.ok() && nthreads > 1) {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < nthreads; i++) threads.emplace_back(worker, total);
  }
  if (!status.ok()) return status;
  LOGE_RETURN_IF_ERROR(q.Interrupted());
  std::sort(res.warnings.begin(), res.warnings.end());
  return res;
}

Status FeedHead(std::vector<Hit> hits, RowConsumer* consumer) {
  if (hits.empty()) return Status::OK();
  // Oldest first within a stream, as rows of a block come.
  std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.labels_json != b.labels_json) return a.labels_json < b.labels_json;
    if (a.ts != b.ts) return a.ts < b.ts;
    return a.line < b.line;
  });
  simdjson::dom::parser parser;
  std::vector<ScanRow> rows;
  size_t i = 0;
  while (i < hits.size()) {
    size_t j = i;
    while (j < hits.size() && hits[j].labels_json == hits[i].labels_json) j++;
    LOGE_ASSIGN_OR_RETURN(Labels labels, ParseLabelsJson(parser, hits[i].labels_json));
    ScanStream stream{hits[i].labels_json, std::move(labels)};
    rows.clear();
    for (size_t k = i; k < j; k++) {
      if (k > i && hits[k - 1].ts == hits[k].ts && hits[k - 1].line == hits[k].line) continue;  // pushed twice
      rows.push_back(ScanRow{hits[k].ts, hits[k].line, hits[k].metadata});
    }
    BlockHeader h{&stream, rows.front().ts, rows.back().ts, static_cast<uint32_t>(rows.size()), nullptr};
    if (consumer->OnBlock(h) != BlockUse::kHeader) LOGE_RETURN_IF_ERROR(consumer->OnRows(stream, rows));
    i = j;
  }
  return Status::OK();
}

}  // namespace loge::query
