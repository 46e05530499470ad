// Engine::LabelValues and Engine::Volume: the read paths behind the UI's
// autocompletion and histogram, on the same plan and scanner as queries.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <unordered_set>

#include "query/engine.h"
#include "query/scanner.h"

namespace loge::query {

namespace {

// Distinct values of one label over the streams that have rows in the window.
class LabelValuesConsumer : public RowConsumer {
 public:
  LabelValuesConsumer(const Query& q, std::string name, size_t max) : q_(q), name_(std::move(name)), max_(max) {}

  bool OnFile(const storage::FileHandle& f, const std::unordered_map<int64_t, ScanStream>& streams) override {
    // A file inside the window holds rows in it for each of its streams.
    // (A stream a pending delete request may have emptied: its blocks are read.)
    if (f.entry.min_ts >= q_.start && f.entry.max_ts <= q_.end) {
      bool deletes = false;
      for (const auto& [id, s] : streams) {
        if (s.deleted.empty()) {
          Add(s.labels);
        } else {
          deletes = true;
        }
      }
      return deletes;
    }
    return true;
  }
  // A block of a stream in the window: its header says enough, unless a
  // delete request may hide its rows.
  BlockUse OnBlock(const BlockHeader& b) override {
    if (b.stream->deleted.Overlaps(b.min_ts, b.max_ts)) return BlockUse::kRows;
    Add(b.stream->labels);
    return BlockUse::kHeader;
  }
  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>&) override {
    Add(stream.labels);
    return Status::OK();
  }
  void Add(const Labels& ls) {
    for (const auto& [k, v] : ls) {
      if (k != name_ || v.empty()) continue;
      if (values_.size() >= max_ && !values_.contains(v)) {
        truncated_ = true;
        return;
      }
      values_.insert(v);
    }
  }

  const Query& q_;
  const std::string name_;
  const size_t max_;
  std::set<std::string> values_;
  bool truncated_ = false;
};

// Rows per step of [start, end]: step i covers [start + i*step, start +
// (i+1)*step), the last also its end.
class VolumeConsumer : public RowConsumer {
 public:
  VolumeConsumer(const Query& q, int64_t step, size_t steps, uint64_t max_rows, std::atomic<uint64_t>* examined)
      : q_(q), step_(step), max_rows_(max_rows), examined_(examined), counts_(steps, 0) {}

  // ts must be in the window; unsigned so that ts - start cannot overflow.
  size_t StepOf(int64_t ts) const {
    uint64_t i = (static_cast<uint64_t>(ts) - static_cast<uint64_t>(q_.start)) / static_cast<uint64_t>(step_);
    return static_cast<size_t>(std::min<uint64_t>(i, counts_.size() - 1));
  }

  bool OnFile(const storage::FileHandle&, const std::unordered_map<int64_t, ScanStream>&) override {
    return !truncated_;
  }
  bool WantsMetadata(const ScanStream&) override { return q_.HasPipeline(); }
  BlockUse OnBlock(const BlockHeader& b) override {
    if (truncated_) return BlockUse::kHeader;
    if (examined_->fetch_add(b.n) + b.n > max_rows_) {
      truncated_ = true;
      return BlockUse::kHeader;
    }
    rows_scanned_ += b.n;
    // Without line or entry filters, a block wholly inside the window and
    // one step is counted from its header; any other block from its rows'
    // times alone.
    if (!q_.line_filters.empty() || !q_.entry_filters.empty() || q_.HasPipeline() || b.cursor == nullptr) {
      return BlockUse::kRows;
    }
    if (b.distinct && q_.InWindow(b.min_ts) && q_.InWindow(b.max_ts) && StepOf(b.min_ts) == StepOf(b.max_ts)) {
      counts_[StepOf(b.min_ts)] += b.n;
      return BlockUse::kHeader;
    }
    return BlockUse::kTimestamps;
  }
  Status OnTimestamps(const ScanStream&, const std::vector<int64_t>& ts) override {
    for (int64_t t : ts) counts_[StepOf(t)]++;
    return Status::OK();
  }
  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) override {
    for (const auto& r : rows) {
      if (q_.HasPipeline()) {
        lb_.Reset(&stream.labels, nullptr);
        lb_.AddMetadata(r.metadata);
        PipelineLine line{r.line, {}};
        if (!q_.pipeline->Process(r.ts, &line, &lb_)) continue;
      }
      counts_[StepOf(r.ts)]++;
    }
    return Status::OK();
  }

  const Query& q_;
  const int64_t step_;
  const uint64_t max_rows_;
  std::atomic<uint64_t>* examined_;  // shared by every worker
  std::vector<uint64_t> counts_;
  LabelsBuilder lb_;
  uint64_t rows_scanned_ = 0;
  bool truncated_ = false;
};

void LogSkipped(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) spdlog::warn("skipped a file: {}", w);
}

}  // namespace

Result<LabelValues> Engine::LabelValuesOf(const Query& query, const std::string& name, size_t max_values) {
  // Values come from streams; filters would need every row read.
  Query q = source_->Clip(query);
  q.line_filters.clear();
  q.entry_filters.clear();
  // Head rows copied out of the snapshot at most: the head is bounded by
  // --max-head-size, so this only caps a pathological case.
  TopK head(kMaxHeadRows);
  std::vector<FileRef> files;
  source_->Snapshot(q, &head, &files);
  LabelValuesConsumer head_values(q, name, max_values);
  std::unordered_set<std::string> seen_streams;
  std::vector<Hit> hits = head.TakeSortedNewestFirst();
  std::erase_if(hits, [&](const Hit& h) { return !seen_streams.insert(h.labels_json).second; });
  LOGE_RETURN_IF_ERROR(FeedHead(std::move(hits), &head_values));

  QueryStats stats;
  FilePlan plan = PlanFiles(files, q, false, &stats);
  ScanOptions so;
  so.concurrency = opts_.concurrency;
  so.newest_alone_first = false;
  so.source = source_;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned, Scan(plan, q, so, [&] {
                          return std::make_unique<LabelValuesConsumer>(q, name, max_values);
                        }));
  LogSkipped(scanned.warnings);
  LabelValues out;
  std::set<std::string> all = std::move(head_values.values_);
  out.truncated = head_values.truncated_;
  for (auto& c : scanned.consumers) {
    auto& lv = static_cast<LabelValuesConsumer&>(*c);
    out.truncated = out.truncated || lv.truncated_;
    all.merge(lv.values_);
  }
  while (all.size() > max_values) {
    all.erase(std::prev(all.end()));
    out.truncated = true;
  }
  out.values.assign(all.begin(), all.end());
  return out;
}

Result<Volume> Engine::VolumeOf(const Query& query, int64_t step, size_t steps, uint64_t max_rows) {
  const Query q = source_->Clip(query);
  TopK head(kMaxHeadRows);
  std::vector<FileRef> files;
  source_->Snapshot(q, &head, &files);  // head rows come already filtered
  Volume v;
  v.counts.assign(steps, 0);
  v.truncated = head.Full();
  std::atomic<uint64_t> examined(0);
  VolumeConsumer head_counts(q, step, steps, max_rows, &examined);
  std::vector<Hit> hits = head.TakeSortedNewestFirst();
  v.rows_scanned = hits.size();
  LOGE_RETURN_IF_ERROR(FeedHead(std::move(hits), &head_counts));
  v.counts = head_counts.counts_;
  if (v.truncated) return v;

  QueryStats stats;
  FilePlan plan = PlanFiles(files, q, false, &stats);
  ScanOptions so;
  so.concurrency = opts_.concurrency;
  so.newest_alone_first = false;
  so.source = source_;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned, Scan(plan, q, so, [&] {
                          return std::make_unique<VolumeConsumer>(q, step, steps, max_rows, &examined);
                        }));
  LogSkipped(scanned.warnings);
  for (auto& c : scanned.consumers) {
    auto& vc = static_cast<VolumeConsumer&>(*c);
    for (size_t i = 0; i < steps; i++) v.counts[i] += vc.counts_[i];
    v.rows_scanned += vc.rows_scanned_;
    v.truncated = v.truncated || vc.truncated_;
  }
  return v;
}

}  // namespace loge::query
