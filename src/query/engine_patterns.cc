// Engine::PatternsOf: log patterns computed at query time, on the same plan
// and scanner as queries. Each worker clusters its share of the rows with
// its own PatternMiner; the miners are merged once the scan is over.
//
// Why at query time rather than in a pattern ingester as Loki does: the
// answer then covers exactly the query's selector, filters and range, over
// flushed files and the head alike, with nothing kept in memory between
// queries and nothing to recover after a restart; the cost is a scan bounded
// by max_lines (docs/benchmarks.md, "Patterns at query time").
#include <spdlog/spdlog.h>

#include <atomic>

#include "query/engine.h"
#include "query/metadata_json.h"
#include "query/patterns.h"
#include "query/scanner.h"

namespace loge::query {

namespace {

// The level a pattern's lines are counted under: the entry's
// detected_level (added on ingest), else the stream's level label, else
// "unknown" (Loki's name for an undetected level).
std::string_view LevelOf(const ScanStream& stream, std::string_view metadata, std::string* scratch, std::string* value) {
  if (FindMetadata(metadata, "detected_level", scratch, value) && !value->empty()) return *value;
  for (const auto& [k, v] : stream.labels) {
    if ((k == "detected_level" || k == "level") && !v.empty()) return v;
  }
  return "unknown";
}

class PatternConsumer : public RowConsumer {
 public:
  PatternConsumer(const Query& q, int64_t step, uint64_t max_lines, std::atomic<uint64_t>* taken)
      : q_(q), max_lines_(max_lines), taken_(taken), miner_(step) {}

  bool OnFile(const storage::FileHandle&, const std::unordered_map<int64_t, ScanStream>&) override {
    return !truncated_;
  }
  BlockUse OnBlock(const BlockHeader&) override { return truncated_ ? BlockUse::kHeader : BlockUse::kRows; }
  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) override {
    for (const auto& r : rows) {
      if (truncated_) break;
      if (q_.HasPipeline()) {
        lb_.Reset(&stream.labels, nullptr);
        lb_.AddMetadata(r.metadata);
        PipelineLine line{r.line, {}};
        if (!q_.pipeline->Process(r.ts, &line, &lb_)) continue;
      }
      if (taken_->fetch_add(1) >= max_lines_) {
        truncated_ = true;
        break;
      }
      if (miner_.Add(r.line, LevelOf(stream, r.metadata, &scratch_, &value_), r.ts)) lines_++;
    }
    return Status::OK();
  }

  const Query& q_;
  const uint64_t max_lines_;
  std::atomic<uint64_t>* taken_;  // lines taken by every worker together
  PatternMiner miner_;
  LabelsBuilder lb_;
  std::string scratch_, value_;
  uint64_t lines_ = 0;
  bool truncated_ = false;
};

}  // namespace

Result<Patterns> Engine::PatternsOf(const Query& query, int64_t step, uint64_t max_lines) {
  const Query q = source_->Clip(query);
  TopK head(kMaxHeadRows);
  std::vector<FileRef> files;
  source_->Snapshot(q, &head, &files);  // head rows come already filtered
  std::atomic<uint64_t> taken(0);
  PatternConsumer all(q, step, max_lines, &taken);
  LOGE_RETURN_IF_ERROR(FeedHead(head.TakeSortedNewestFirst(), &all));

  QueryStats stats;
  FilePlan plan = PlanFiles(files, q, false, &stats);
  ScanOptions so;
  so.concurrency = opts_.concurrency;
  so.newest_alone_first = false;
  so.source = source_;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned, Scan(plan, q, so, [&] {
                          return std::make_unique<PatternConsumer>(q, step, max_lines, &taken);
                        }));
  for (const auto& w : scanned.warnings) spdlog::warn("patterns: skipped a file: {}", w);
  Patterns out;
  out.truncated = all.truncated_;
  out.lines = all.lines_;
  for (auto& c : scanned.consumers) {
    auto& pc = static_cast<PatternConsumer&>(*c);
    all.miner_.Merge(std::move(pc.miner_));
    out.lines += pc.lines_;
    out.truncated = out.truncated || pc.truncated_;
  }
  out.series = all.miner_.Take();
  return out;
}

}  // namespace loge::query
