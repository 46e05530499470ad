// The query engine: plans a query over the visible files and the unflushed
// head, scans files newest-first in parallel, keeps the top `limit` rows.
//
// Threads: Run() fans out to at most `concurrency` worker threads it starts
// and joins itself; workers keep their own TopK and merge once at the end.
// Engine is safe to call from many threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "query/cancel.h"
#include "query/logql.h"
#include "query/matcher.h"
#include "query/patterns.h"
#include "query/pipeline.h"
#include "query/tombstone.h"
#include "storage/file_set.h"

namespace loge::query {

inline constexpr size_t kDefaultLimit = 100;
inline constexpr size_t kMaxLimit = 5000;
// Head rows a read path that needs every row copies out of the snapshot at
// most. The head is bounded by --max-head-size, so this only caps a
// pathological case.
inline constexpr size_t kMaxHeadRows = 5'000'000;

struct Query {
  int64_t start = std::numeric_limits<int64_t>::min();  // inclusive, ns
  int64_t end = std::numeric_limits<int64_t>::max();    // inclusive, ns
  std::vector<LabelMatcher> matchers;
  std::vector<LineFilter> line_filters;  // all must hold
  // Label filter stages (`| trace_id="abc"`): per entry, against its
  // structured metadata and its stream's labels; all must hold.
  std::vector<LabelMatcher> entry_filters;
  // The stages after the leading line filters (parsers, label filters,
  // formatters, drop/keep); null or empty when there are none. Rows reach
  // it after the filters above.
  std::shared_ptr<const Pipeline> pipeline;
  size_t limit = kDefaultLimit;
  // Keep the `limit` oldest rows instead of the newest (Loki's
  // direction=forward); answers come oldest first.
  bool forward = false;
  // Fill Hit::stream/structured/parsed for every hit, pipeline or not.
  bool want_labels = false;

  bool HasPipeline() const { return pipeline != nullptr && !pipeline->empty(); }
  // Takes the matchers, leading line filters and pipeline of a parsed selector.
  void SetSelector(Selector s) {
    matchers = std::move(s.matchers);
    line_filters = std::move(s.line_filters);
    entry_filters = std::move(s.entry_filters);
    pipeline = std::move(s.pipeline);
  }

  bool MatchesLabels(const Labels& labels) const;
  bool MatchesLine(std::string_view line) const;
  // True when every entry filter holds for an entry of the stream `stream`
  // (sorted) whose structured metadata is `metadata_json` (a flat JSON
  // object of strings, or empty). As in Loki, a name is looked up in the
  // stream labels first, then in the metadata; a metadata key that collides
  // with a stream label is reachable as <name>_extracted; a missing name is
  // "". Parses the metadata only when there are entry filters; a malformed
  // metadata text counts as none.
  bool MatchesEntry(const Labels& stream, std::string_view metadata_json) const;
  bool InWindow(int64_t ts) const { return ts >= start && ts <= end; }

  // Per-stream retention (--retention-rule, docs/retention.md): the oldest
  // timestamp a stream with these labels may return; null = start alone.
  // Set by DataSource::Clip; applied by the head and the scanner per stream.
  std::function<int64_t(const Labels&)> stream_floor;

  // When to stop (cancel.h): the request's deadline and its client's
  // disconnect. Set by DataSource::Clip from CurrentCancel() unless the
  // caller set it; null = never.
  std::shared_ptr<const Cancel> cancel;
  // OK while the query may run on; DeadlineExceeded or Cancelled once it
  // must stop. Checked per file and per block (scanner.cc) and per
  // kCheckEvery head rows, never per line.
  Status Interrupted() const { return cancel ? cancel->Check() : Status::OK(); }

  int64_t StreamFloor(const Labels& labels) const {
    return stream_floor ? stream_floor(labels) : std::numeric_limits<int64_t>::min();
  }

  // Pending delete requests (query/tombstone.h, docs/retention.md): rows
  // they match are never returned. Set by DataSource::Clip; applied per
  // stream by the head and the scanner. Null = none.
  Tombstones tombstones;
  StreamTombstones DeletedFor(const Labels& labels) const { return StreamTombstones(tombstones, labels); }
};

struct Hit {
  Hit() = default;
  Hit(int64_t t, std::string l, std::string labels, std::string meta)
      : ts(t), line(std::move(l)), labels_json(std::move(labels)), metadata(std::move(meta)) {}
  int64_t ts = 0;
  std::string line;         // as stored, or as the pipeline rewrote it
  std::string labels_json;  // the stream's labels as stored: {"app":"web"}, keys sorted
  std::string metadata;     // JSON object or empty
  // After a pipeline ran (has_labels): the entry's labels by category, as
  // the stages left them (drop/keep/label_format may change stream labels;
  // parsers add parsed ones; errors count as parsed).
  bool has_labels = false;
  Labels stream;
  Labels structured;
  Labels parsed;
};

// Newest first; ties broken by labels then line so results are deterministic.
bool HitNewer(const Hit& a, const Hit& b);

// Keeps the `k` newest hits (or, with `oldest`, the k oldest). Not
// thread-safe: one per worker.
// The k first-ranked hits. An entry identical to one already kept (same
// timestamp, stream labels and line — Loki's rule) is dropped, so a retried
// push whose copies sit in different files (or in a file and the head) until
// a merge joins them is returned once (docs/reliability.md).
class TopK {
 public:
  explicit TopK(size_t k, bool oldest = false) : k_(k), oldest_(oldest) {}
  bool Full() const { return heap_.size() >= k_; }
  // The k-th kept timestamp once full (the oldest kept, or with `oldest`
  // the newest kept); min int64 before (max int64 with `oldest`).
  int64_t Threshold() const;
  // Cheap pre-check: could a row at ts enter?
  bool Admits(int64_t ts) const { return !Full() || (oldest_ ? ts <= Threshold() : ts >= Threshold()); }
  bool oldest() const { return oldest_; }
  void Add(Hit h);
  void Merge(TopK&& other);
  // Newest first (oldest first with `oldest`).
  std::vector<Hit> TakeSortedNewestFirst();
  size_t size() const { return heap_.size(); }

 private:
  bool Before(const Hit& a, const Hit& b) const;  // a ranks before b
  bool Holds(const Hit& h, uint64_t hash) const;   // an identical hit is kept
  size_t k_;
  bool oldest_ = false;
  std::vector<Hit> heap_;  // heap whose front is the last-ranked kept hit
  std::unordered_map<uint64_t, uint32_t> hashes_;  // HitHash of each kept hit: count
};

// A queryable file: a catalog row held open against deletion while read.
using FileRef = storage::FilePtr;

// The unflushed head and the list of visible files, read under one snapshot
// so a row is never missed or seen twice while a batch turns into a file.
// Declared here, implemented by ingest.
class DataSource {
 public:
  virtual ~DataSource() = default;
  // Adds every unflushed row matching q to *head and lists the visible files.
  virtual void Snapshot(const Query& q, TopK* head, std::vector<FileRef>* files) = 0;
  // Label keys of the unflushed rows and of the visible files.
  virtual std::vector<std::string> LabelKeys() = 0;
  // The oldest timestamp a query may return: rows older are past retention
  // (store/retention.h) even before a pass deletes them. Min int64 = all.
  virtual int64_t OldestKept() { return std::numeric_limits<int64_t>::min(); }
  // Per stream: the oldest timestamp kept for a stream's labels, at least
  // OldestKept() (--retention-rule); null when there are no rules.
  virtual std::function<int64_t(const Labels&)> StreamFloors() { return nullptr; }
  // The pending delete requests queries must hide (store/deletes.h); null
  // when there are none.
  virtual Tombstones PendingDeletes() { return nullptr; }
  // A read of the local file `id` (catalog path `name`) failed with
  // Corruption (a bad frame checksum, a damaged SQLite page): the source
  // takes it out of service (store/: quarantine) so later reads skip it.
  // Called from query threads, possibly several times for one file.
  virtual void ReportDamaged(int64_t /*id*/, const std::string& /*name*/, const Status& /*why*/) {}
  // q with its window starting no earlier than OldestKept(), its
  // per-stream floors, the pending deletes and (unless set) the thread's
  // CurrentCancel(): what every read path scans (engine*.cc,
  // metric_range.cc).
  Query Clip(const Query& q) {
    Query c = q;
    c.start = std::max(c.start, OldestKept());
    c.stream_floor = StreamFloors();
    c.tombstones = PendingDeletes();
    if (!c.cancel) c.cancel = CurrentCancel();
    return c;
  }
};

struct QueryStats {
  uint64_t files_considered = 0;  // visible files when the query began
  uint64_t files_pruned = 0;      // skipped without opening (all reasons below)
  uint64_t pruned_by_time = 0;    // window does not overlap [min_ts, max_ts]
  uint64_t pruned_by_labels = 0;  // lacks a label key a matcher needs
  uint64_t pruned_by_filter = 0;  // token/trigram filter rules out a |= term
  uint64_t pruned_by_limit = 0;   // could not beat the k-th row (early stop)
  uint64_t files_opened = 0;      // opened and scanned
  uint64_t blocks_scanned = 0;    // blocks whose lines were examined
  uint64_t block_groups_skipped = 0;  // groups of blocks ruled out by their own filters
  uint64_t remote_files_opened = 0;  // of files_opened, read from the object store
  uint64_t remote_requests = 0;   // HTTP range requests this query made
  uint64_t remote_bytes = 0;      // bytes those requests returned
};

struct QueryResult {
  std::vector<Hit> hits;  // newest first
  QueryStats stats;
  // True when some remote files could not be read (object store unreachable,
  // object missing): hits are the best answer from everything else, and
  // warnings name each skipped file (its URL without the query string).
  bool partial = false;
  std::vector<std::string> warnings;
};

// Engine::Plan's answer: the query over the head and the local files, and
// the remote files that survive catalog pruning (and could still beat the
// k-th local row), for a client to scan itself (`loge search --local`).
struct SearchPlan {
  QueryResult local;
  std::vector<FileRef> remote;  // newest max_ts first
};

// Engine::LabelValuesOf's answer.
struct LabelValues {
  std::vector<std::string> values;  // sorted, distinct, non-empty
  bool truncated = false;           // more than max_values existed
};

// Engine::VolumeOf's answer: counts[i] = rows in [start + i*step,
// start + (i+1)*step), the last step also its end.
struct Volume {
  std::vector<uint64_t> counts;
  uint64_t rows_scanned = 0;  // rows of the head and of the blocks examined
  bool truncated = false;     // stopped at max_rows: counts are lower bounds
};

// Engine::StreamsOf's question: with `counts`, entries and line bytes per
// step of `step` ns from Query::start (`steps` of them; the last also holds
// the end); without, only which streams have rows in the window.
struct StreamsRequest {
  bool counts = false;
  int64_t step = 1;
  size_t steps = 1;
  size_t max_streams = 100'000;  // distinct streams kept at most; then truncated
};

// One distinct stream of Engine::StreamsOf's answer.
struct StreamUsage {
  Labels labels;                 // sorted
  std::vector<uint64_t> entries;  // per step (counts only)
  std::vector<uint64_t> bytes;    // line bytes per step (counts only)
  uint64_t chunks = 0;            // blocks holding its rows (the head's count as one)
};

struct StreamsAnswer {
  std::vector<StreamUsage> streams;  // sorted by labels
  bool truncated = false;            // more than max_streams existed
};

struct EngineOptions {
  int concurrency = 8;  // --query-concurrency: files scanned at once per query
};

struct MetricQuery;
struct MetricResult;

// Engine::PatternsOf's answer.
struct Patterns {
  std::vector<PatternSeries> series;  // most lines first
  uint64_t lines = 0;                 // lines clustered
  bool truncated = false;             // stopped at max_lines: counts cover part of the range
};

class Engine {
 public:
  Engine(const EngineOptions& opts, DataSource* source) : opts_(opts), source_(source) {}
  // IOError/Corruption if a local file cannot be read. A remote file that
  // fails with Unavailable, IOError or NotFound is skipped instead: the
  // result is then partial, with a warning naming the file. After one
  // Unavailable, the query skips its remaining remote files at once, so an
  // outage costs at most one timeout per worker.
  Result<QueryResult> Run(const Query& q);
  // Runs q over the head and local files only, and lists the remote files
  // it would have read. Opens no remote file.
  Result<SearchPlan> Plan(const Query& q);
  std::vector<std::string> LabelKeys();
  // The distinct values of label `name` over the streams matching q's
  // matchers that have rows in [q.start, q.end] (in files, to the
  // granularity of a block); q's filters are ignored. At most max_values.
  // A remote file that cannot be read is left out (logged).
  Result<LabelValues> LabelValuesOf(const Query& q, const std::string& name, size_t max_values);
  // How many rows match q in each of `steps` steps of `step` ns from
  // q.start. Stops after examining max_rows rows (then truncated).
  Result<Volume> VolumeOf(const Query& q, int64_t step, size_t steps, uint64_t max_rows);
  // The distinct streams matching q's matchers with rows in [q.start,
  // q.end] (without counts, to the granularity of a block, as for
  // LabelValuesOf), and with counts their entries and line bytes per step.
  // q's filters and pipeline are ignored: these are index answers (Loki's
  // /series, /labels, /index/stats, /index/volume). engine_streams.cc.
  Result<StreamsAnswer> StreamsOf(const Query& q, const StreamsRequest& r);
  // Evaluates a metric query (metric.h). InvalidArgument for a pipeline
  // error in a sample's labels or too many series; partial as for Run.
  Result<MetricResult> RunMetric(const MetricQuery& q);
  // Clusters the lines matching q into patterns (query/patterns.h) counted
  // per `step` ns, each under its entry's detected_level. Reads at most
  // max_lines lines (then truncated); remote files failing are skipped
  // (logged).
  Result<Patterns> PatternsOf(const Query& q, int64_t step, uint64_t max_lines);

 private:
  // Run, or (remote_out != null) Plan.
  Result<QueryResult> Execute(const Query& q, std::vector<FileRef>* remote_out);

  const EngineOptions opts_;
  DataSource* const source_;
};

}  // namespace loge::query
