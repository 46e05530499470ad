#include "query/engine.h"

#include <algorithm>
#include <limits>

#include "query/scanner.h"

namespace loge::query {

namespace {

// The log query's consumer: runs the pipeline and keeps the newest (or,
// forward, the oldest) `limit` rows that pass it.
class TopKConsumer : public RowConsumer {
 public:
  explicit TopKConsumer(const Query& q) : q_(q), top_(q.limit, q.forward) {}
  int64_t Floor() const override {
    return q_.forward || !top_.Full() ? std::numeric_limits<int64_t>::min() : top_.Threshold();
  }
  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) override {
    for (const auto& r : rows) {
      if (!top_.Admits(r.ts)) continue;
      if (!q_.HasPipeline() && !q_.want_labels) {
        top_.Add(Hit{r.ts, std::string(r.line), stream.json, std::string(r.metadata)});
        continue;
      }
      lb_.Reset(&stream.labels, nullptr);
      lb_.AddMetadata(r.metadata);
      PipelineLine line{r.line, {}};
      if (q_.HasPipeline() && !q_.pipeline->Process(r.ts, &line, &lb_)) continue;
      Hit h{r.ts, std::string(line.text), stream.json, std::string(r.metadata)};
      h.has_labels = true;
      lb_.Categorized(&h.stream, &h.structured, &h.parsed);
      top_.Add(std::move(h));
    }
    return Status::OK();
  }
  TopK& top() { return top_; }

 private:
  const Query& q_;
  TopK top_;
  LabelsBuilder lb_;
};

}  // namespace

Result<QueryResult> Engine::Run(const Query& q) { return Execute(q, nullptr); }

Result<SearchPlan> Engine::Plan(const Query& q) {
  SearchPlan plan;
  LOGE_ASSIGN_OR_RETURN(plan.local, Execute(q, &plan.remote));
  return plan;
}

Result<QueryResult> Engine::Execute(const Query& query, std::vector<FileRef>* remote_out) {
  const Query q = source_->Clip(query);  // past retention: never returned
  QueryResult res;
  TopKConsumer head(q);
  std::vector<FileRef> files;
  if (!q.HasPipeline() && !q.forward && !q.want_labels) {
    source_->Snapshot(q, &head.top(), &files);
  } else {
    // The pipeline may drop rows (and forward wants the oldest): take every
    // head row that passes the filters and let the consumer choose.
    TopK all(kMaxHeadRows);
    source_->Snapshot(q, &all, &files);
    LOGE_RETURN_IF_ERROR(FeedHead(all.TakeSortedNewestFirst(), &head));
  }
  TopK& top = head.top();
  FilePlan plan = PlanFiles(files, q, remote_out != nullptr, &res.stats);
  ScanOptions so;
  so.concurrency = opts_.concurrency;
  so.initial_floor = head.Floor();
  so.source = source_;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned, Scan(plan, q, so, [&] { return std::make_unique<TopKConsumer>(q); }));
  for (auto& c : scanned.consumers) top.Merge(std::move(static_cast<TopKConsumer&>(*c).top()));
  const QueryStats& ss = scanned.stats;
  res.stats.files_pruned += ss.files_pruned;
  res.stats.pruned_by_limit += ss.pruned_by_limit;
  res.stats.files_opened += ss.files_opened;
  res.stats.blocks_scanned += ss.blocks_scanned;
  res.stats.block_groups_skipped += ss.block_groups_skipped;
  res.stats.remote_files_opened += ss.remote_files_opened;
  res.stats.remote_requests += ss.remote_requests;
  res.stats.remote_bytes += ss.remote_bytes;
  res.warnings = std::move(scanned.warnings);
  if (remote_out != nullptr) {
    *remote_out = std::move(plan.remote);
    if (top.Full() && !q.forward) {
      // A remote file whose newest row is older than the k-th row cannot
      // change the answer: the client need not read it.
      const int64_t kth = top.Threshold();
      size_t before = remote_out->size();
      std::erase_if(*remote_out, [&](const FileRef& f) { return f->entry.max_ts < kth; });
      res.stats.pruned_by_limit += before - remote_out->size();
      res.stats.files_pruned += before - remote_out->size();
    }
  }
  res.partial = !res.warnings.empty();
  res.hits = top.TakeSortedNewestFirst();
  return res;
}

std::vector<std::string> Engine::LabelKeys() { return source_->LabelKeys(); }

}  // namespace loge::query
