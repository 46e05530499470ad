// Engine::StreamsOf: which streams have rows in a window, and with counts
// their entries and line bytes per step — the index answers behind Loki's
// /series, /labels, /label/<n>/values, /index/stats and /index/volume*,
// on the same plan and scanner as queries.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "query/engine.h"
#include "query/scanner.h"

namespace loge::query {

namespace {

// Per worker: the streams seen, keyed by their stored label JSON.
class StreamsConsumer : public RowConsumer {
 public:
  StreamsConsumer(const Query& q, const StreamsRequest& r) : q_(q), r_(r) {}

  bool OnFile(const storage::FileHandle& f, const std::unordered_map<int64_t, ScanStream>& streams) override {
    // Without counts, a file inside the window holds rows in it for each of
    // its streams.
    // its streams — except those a pending delete request may have emptied,
    // whose blocks are read.
    if (!r_.counts && f.entry.min_ts >= q_.start && f.entry.max_ts <= q_.end) {
      bool deletes = false;
      for (const auto& [id, s] : streams) {
        if (s.deleted.empty()) {
          Find(s);
        } else {
          deletes = true;
        }
      }
      return deletes;
    }
    return true;
  }
  bool WantsMetadata(const ScanStream&) override { return false; }
  BlockUse OnBlock(const BlockHeader& b) override {
    // Rows a delete request may hide: the stream counts only if a row is left.
    if (b.stream->deleted.Overlaps(b.min_ts, b.max_ts)) return BlockUse::kRows;
    StreamUsage* u = Find(*b.stream);
    if (u == nullptr) return BlockUse::kHeader;
    if (!r_.counts) return BlockUse::kHeader;
    // A block of distinct entries wholly inside the window and one step is
    // counted from its header; any other from its rows.
    if (b.cursor != nullptr && b.distinct && q_.InWindow(b.min_ts) && q_.InWindow(b.max_ts) &&
        StepOf(b.min_ts) == StepOf(b.max_ts)) {
      u->entries[StepOf(b.min_ts)] += b.n;
      u->bytes[StepOf(b.min_ts)] += b.LineBytes();
      u->chunks++;
      return BlockUse::kHeader;
    }
    return BlockUse::kRows;
  }
  Status OnRows(const ScanStream& stream, const std::vector<ScanRow>& rows) override {
    StreamUsage* u = Find(stream);
    if (u == nullptr || rows.empty()) return Status::OK();
    if (r_.counts) {
      for (const auto& row : rows) {
        size_t i = StepOf(row.ts);
        u->entries[i]++;
        u->bytes[i] += row.line.size();
      }
      u->chunks++;
    }
    return Status::OK();
  }

  // ts must be in the window; unsigned so that ts - start cannot overflow.
  size_t StepOf(int64_t ts) const {
    uint64_t i = (static_cast<uint64_t>(ts) - static_cast<uint64_t>(q_.start)) / static_cast<uint64_t>(r_.step);
    return static_cast<size_t>(std::min<uint64_t>(i, r_.steps - 1));
  }

  // The stream's entry, made on first sight; null once max_streams are kept.
  StreamUsage* Find(const ScanStream& s) {
    auto it = seen_.find(s.json);
    if (it != seen_.end()) return &it->second;
    if (seen_.size() >= r_.max_streams) {
      truncated_ = true;
      return nullptr;
    }
    StreamUsage& u = seen_[s.json];
    u.labels = s.labels;
    if (r_.counts) {
      u.entries.assign(r_.steps, 0);
      u.bytes.assign(r_.steps, 0);
    }
    return &u;
  }

  const Query& q_;
  const StreamsRequest& r_;
  std::map<std::string, StreamUsage> seen_;
  bool truncated_ = false;
};

// Adds b into a (same stream).
void MergeUsage(StreamUsage&& b, StreamUsage* a) {
  for (size_t i = 0; i < a->entries.size() && i < b.entries.size(); i++) {
    a->entries[i] += b.entries[i];
    a->bytes[i] += b.bytes[i];
  }
  a->chunks += b.chunks;
}

}  // namespace

Result<StreamsAnswer> Engine::StreamsOf(const Query& query, const StreamsRequest& r) {
  if (r.steps == 0 || r.step <= 0) return Status::InvalidArgument("streams: want at least one positive step");
  // Index answers: the matchers and the window only.
  Query q;
  q.start = query.start;
  q.end = query.end;
  q.matchers = query.matchers;
  q.cancel = query.cancel;
  q = source_->Clip(q);
  TopK head(kMaxHeadRows);
  std::vector<FileRef> files;
  source_->Snapshot(q, &head, &files);
  StreamsConsumer head_streams(q, r);
  bool truncated = head.Full();
  LOGE_RETURN_IF_ERROR(FeedHead(head.TakeSortedNewestFirst(), &head_streams));

  QueryStats stats;
  FilePlan plan = PlanFiles(files, q, false, &stats);
  ScanOptions so;
  so.concurrency = opts_.concurrency;
  so.newest_alone_first = false;
  so.source = source_;
  LOGE_ASSIGN_OR_RETURN(ScanResult scanned,
                        Scan(plan, q, so, [&] { return std::make_unique<StreamsConsumer>(q, r); }));
  for (const auto& w : scanned.warnings) spdlog::warn("skipped a file: {}", w);

  std::map<std::string, StreamUsage> all = std::move(head_streams.seen_);
  truncated = truncated || head_streams.truncated_;
  for (auto& c : scanned.consumers) {
    auto& sc = static_cast<StreamsConsumer&>(*c);
    truncated = truncated || sc.truncated_;
    for (auto& [json, u] : sc.seen_) {
      auto it = all.find(json);
      if (it != all.end()) {
        MergeUsage(std::move(u), &it->second);
      } else if (all.size() < r.max_streams) {
        all.emplace(json, std::move(u));
      } else {
        truncated = true;
      }
    }
  }
  StreamsAnswer out;
  out.truncated = truncated;
  out.streams.reserve(all.size());
  for (auto& [json, u] : all) out.streams.push_back(std::move(u));
  std::sort(out.streams.begin(), out.streams.end(),
            [](const StreamUsage& a, const StreamUsage& b) { return a.labels < b.labels; });
  return out;
}

}  // namespace loge::query
