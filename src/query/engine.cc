#include "query/engine.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "storage/block.h"
#include "storage/fuse_filter.h"
#include "storage/segment_reader.h"
#include "storage/terms.h"

namespace loge::query {

namespace {

Result<Labels> ParseLabelsJson(simdjson::dom::parser& parser, std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::dom::object obj;
  if (parser.parse(padded).get_object().get(obj) != simdjson::SUCCESS) {
    return Status::Corruption("stream labels are not a JSON object");
  }
  Labels labels;
  for (auto field : obj) {
    std::string_view v;
    if (field.value.get_string().get(v) != simdjson::SUCCESS) {
      return Status::Corruption("stream label value is not a string");
    }
    labels.emplace_back(std::string(field.key), std::string(v));
  }
  return labels;
}

// A block can hold a match only if, for every |= filter, one of its
// alternatives occurs somewhere in the block's text (one memmem per needle
// over the joined lines, before any line is decoded).
bool BlockMayMatch(const Query& q, std::string_view lines) {
  for (const auto& f : q.line_filters) {
    if (f.type() != LineFilterType::kContains) continue;
    bool any = false;
    for (const auto& n : f.needles()) {
      if (n.empty() || memmem(lines.data(), lines.size(), n.data(), n.size()) != nullptr) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

// Scans one file into *top. `bar` is the best-known k-th timestamp across all
// workers: blocks whose max_ts is below it cannot contribute.
Status ScanFile(const storage::FileHandle& f, const Query& q, TopK* top, std::atomic<int64_t>* bar,
                QueryStats* stats) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(f.local_path));
  simdjson::dom::parser parser;
  struct MatchingStream {
    std::string json;  // labels as stored, returned with each hit
    Labels labels;     // the same, for entry filters
  };
  std::unordered_map<int64_t, MatchingStream> streams;  // by stream id
  Status parse_status;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    if (!parse_status.ok()) return;
    auto labels = ParseLabelsJson(parser, json);
    if (!labels.ok()) {
      parse_status = labels.status().WithContext(f.local_path);
      return;
    }
    if (q.MatchesLabels(*labels)) streams.emplace(id, MatchingStream{std::string(json), std::move(*labels)});
  }));
  LOGE_RETURN_IF_ERROR(parse_status);
  if (streams.empty()) return Status::OK();

  std::vector<storage::RowView> rows;
  Status st;
  LOGE_RETURN_IF_ERROR(reader->ScanBlocksNewestFirst(q.start, q.end, [&](const storage::BlockCursor& b) {
    int64_t max_ts = b.max_ts();
    int64_t threshold = std::max(top->Full() ? top->Threshold() : std::numeric_limits<int64_t>::min(),
                                 bar->load(std::memory_order_relaxed));
    if (max_ts < threshold) return false;  // blocks come newest first: nothing later can enter
    auto it = streams.find(b.stream());
    if (it == streams.end()) return true;
    std::string_view lines = b.lines();
    if (!BlockMayMatch(q, lines)) return true;
    stats->blocks_scanned++;
    uint32_t n = b.n();
    st = storage::DecodeBlock(b.ts(), b.lens(), lines, n, &rows);
    if (!st.ok()) return false;
    std::vector<std::string> meta;
    std::string_view meta_col = b.meta();
    if (!meta_col.empty()) {
      auto m = storage::DecodeBlockMeta(meta_col, n);
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
  }));
  return st.WithContext(f.local_path);
}

enum class PruneReason { kKeep, kTime, kLabels, kFilter };

// False when the file's filters prove no line contains the needle.
bool MayHold(const storage::CatalogEntry& e, const storage::NeedleKeys& n) {
  if (!e.token_filter.empty()) {
    for (uint64_t k : n.tokens) {
      if (!storage::FuseFilter::MayContainSerialized(e.token_filter, k)) return false;
    }
  }
  if (!e.trigram_filter.empty()) {
    for (uint64_t k : n.trigrams) {
      if (!storage::FuseFilter::MayContainSerialized(e.trigram_filter, k)) return false;
    }
  }
  return true;
}

// Decides from the catalog row alone whether a file can hold an answer.
PruneReason Prune(const storage::FileHandle& f, const Query& q,
                  const std::vector<std::vector<storage::NeedleKeys>>& needles) {
  const auto& e = f.entry;
  if (e.max_ts < q.start || e.min_ts > q.end) return PruneReason::kTime;
  for (const auto& m : q.matchers) {
    // Rows adopted from a bucket listing do not know their keys: keep them.
    if (e.label_keys_known && m.RequiresLabel() &&
        !std::binary_search(e.label_keys.begin(), e.label_keys.end(), m.name())) {
      return PruneReason::kLabels;
    }
  }
  // A |= filter rules the file out when every one of its alternatives does.
  for (const auto& alternatives : needles) {
    bool any_possible = false;
    for (const auto& n : alternatives) {
      if (MayHold(e, n)) {
        any_possible = true;
        break;
      }
    }
    if (!any_possible) return PruneReason::kFilter;
  }
  return PruneReason::kKeep;
}

}  // namespace

Result<QueryResult> Engine::Run(const Query& q) {
  QueryResult res;
  TopK top(q.limit);
  std::vector<FileRef> files;
  source_->Snapshot(q, &top, &files);
  res.stats.files_considered = files.size();

  // Plan from the catalog: time overlap, label keys, content filters.
  std::vector<const storage::FileHandle*> plan;
  std::vector<std::vector<storage::NeedleKeys>> needles;  // per |= filter, its alternatives
  for (const auto& lf : q.line_filters) {
    if (lf.type() != LineFilterType::kContains) continue;
    auto& alts = needles.emplace_back();
    for (const auto& n : lf.needles()) alts.push_back(storage::KeysForNeedle(n));
  }
  for (const auto& f : files) {
    switch (Prune(*f, q, needles)) {
      case PruneReason::kKeep: plan.push_back(f.get()); break;
      case PruneReason::kTime: res.stats.pruned_by_time++; break;
      case PruneReason::kLabels: res.stats.pruned_by_labels++; break;
      case PruneReason::kFilter: res.stats.pruned_by_filter++; break;
    }
  }
  res.stats.files_pruned = files.size() - plan.size();
  std::sort(plan.begin(), plan.end(), [](const storage::FileHandle* a, const storage::FileHandle* b) {
    return a->entry.max_ts > b->entry.max_ts;
  });

  std::atomic<int64_t> bar(top.Full() ? top.Threshold() : std::numeric_limits<int64_t>::min());
  std::atomic<size_t> next(0);
  std::mutex mu;  // guards top (merge), status, stats below
  Status status;
  // Workers take files in plan order until `stop_at`.
  auto worker = [&](size_t stop_at) {
    TopK local(q.limit);
    QueryStats ls;
    Status local_status;
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
      ls.files_opened++;
      local_status = ScanFile(f, q, &local, &bar, &ls);
      if (!local_status.ok()) break;
    }
    std::lock_guard<std::mutex> l(mu);
    top.Merge(std::move(local));
    res.stats.files_pruned += ls.files_pruned;
    res.stats.pruned_by_limit += ls.files_pruned;
    res.stats.files_opened += ls.files_opened;
    res.stats.blocks_scanned += ls.blocks_scanned;
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
  res.hits = top.TakeSortedNewestFirst();
  return res;
}

std::vector<std::string> Engine::LabelKeys() { return source_->LabelKeys(); }

}  // namespace loge::query
