// GET /api/v1/label/<name>/values and GET /api/v1/volume (see handler_explore.h).
//
// Both read the same snapshot a query reads (DataSource::Snapshot: the
// unflushed head rows plus the visible files) but need more than the top
// `limit` rows a query keeps: label values look at every stream of every
// file, and volume counts every matching row. So they walk the files here
// with SegmentReader rather than through Engine::Run, pruning files by time,
// label keys and content filters exactly as the engine does.
#include "server/handler_explore.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/file_scan.h"
#include "query/logql.h"
#include "server/server.h"
#include "storage/block.h"
#include "storage/segment_reader.h"

namespace loge::server {

namespace {

// Head rows copied out of the snapshot at most. The head is bounded by
// --max-head-size, so this only caps a pathological case.
constexpr size_t kMaxHeadRows = kMaxVolumeRows;
// Histogram bars when the request names no step.
constexpr int64_t kDefaultVolumeSteps = 100;
// The window of a volume request that names no start: the last hour.
constexpr int64_t kDefaultVolumeWindowNs = 3600LL * 1'000'000'000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("malformed %-escape in query string at byte " + std::to_string(i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The request's parameters, decoded; a later repeat of a name wins.
struct Params {
  std::unordered_map<std::string, std::string> values;
  const std::string* Get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? nullptr : &it->second;
  }
};

Result<Params> ReadParams(const HttpRequest& req) {
  LOGE_ASSIGN_OR_RETURN(auto pairs, ParseQueryString(req.query));
  Params p;
  for (auto& [k, v] : pairs) p.values[k] = std::move(v);
  return p;
}

// Unix nanoseconds or RFC 3339.
Status ParseTimeParam(const Params& p, const std::string& name, int64_t* out) {
  const std::string* v = p.Get(name);
  if (v == nullptr) return Status::OK();
  if (ParseInt64(*v, out)) return Status::OK();
  auto t = ParseRfc3339(*v);
  if (!t.ok()) return Status::InvalidArgument(name + ": want unix nanoseconds or an RFC 3339 time, got \"" + *v + "\"");
  *out = *t;
  return Status::OK();
}

// Fills q's matchers and line filters from the `query` parameter; an absent
// or blank one selects every stream.
Status ParseSelectorParam(const Params& p, query::Query* q) {
  const std::string* v = p.Get("query");
  if (v == nullptr || v->find_first_not_of(" \t\r\n") == std::string::npos) return Status::OK();
  auto sel = query::ParseSelector(*v);
  if (!sel.ok()) return sel.status();  // "1:14: …": the position leads, as in POST /api/v1/query
  q->matchers = std::move(sel->matchers);
  q->line_filters = std::move(sel->line_filters);
  q->entry_filters = std::move(sel->entry_filters);
  return Status::OK();
}

// The ids (and labels) of the file's streams that match q's label matchers.
Result<std::unordered_map<int64_t, Labels>> MatchingStreams(storage::SegmentReader* reader, const query::Query& q,
                                                             simdjson::dom::parser& parser) {
  std::unordered_map<int64_t, Labels> out;
  Status st;
  LOGE_RETURN_IF_ERROR(reader->ForEachStream([&](int64_t id, std::string_view json) {
    if (!st.ok()) return;
    auto labels = query::ParseLabelsJson(parser, json);
    if (!labels.ok()) {
      st = labels.status();
      return;
    }
    if (q.MatchesLabels(*labels)) out.emplace(id, std::move(*labels));
  }));
  LOGE_RETURN_IF_ERROR(st);
  return out;
}

// These answers have no "partial" flag: a remote segment the object store
// cannot serve now is left out (logged), as queries leave it out with a
// warning; any other failure fails the request, named by its file.
Status SkipUnreadableRemote(const storage::FileHandle& f, Status st) {
  if (st.ok()) return st;
  if (query::SkippableRemoteFailure(f, st)) {
    spdlog::warn("skipping remote segment {}: {}", query::ShownName(f), st.ToString());
    return Status::OK();
  }
  return st.WithContext(query::ShownName(f));
}

// Sorted by newest row first, so a truncated volume scan keeps the recent end.
std::vector<query::FileRef> PlanFiles(std::vector<query::FileRef> files, const query::Query& q) {
  const query::NeedleSet needles = query::NeedlesOf(q);
  std::erase_if(files, [&](const query::FileRef& f) {
    return query::Prune(f->entry, q, needles) != query::PruneReason::kKeep;
  });
  std::sort(files.begin(), files.end(),
            [](const query::FileRef& a, const query::FileRef& b) { return a->entry.max_ts > b->entry.max_ts; });
  return files;
}

Status CollectLabelValues(query::DataSource* source, const query::Query& q, const std::string& name,
                          std::set<std::string>* values, bool* truncated) {
  simdjson::dom::parser parser;
  Labels labels;
  auto add = [&](const Labels& ls) {
    for (const auto& [k, v] : ls) {
      if (k != name || v.empty()) continue;
      if (values->size() >= kMaxLabelValues && !values->contains(v)) {
        *truncated = true;
        return;
      }
      values->insert(v);
    }
  };
  query::TopK head(kMaxHeadRows);
  std::vector<query::FileRef> files;
  source->Snapshot(q, &head, &files);
  std::unordered_set<std::string> seen_streams;  // labels_json of head rows already looked at
  for (auto& h : head.TakeSortedNewestFirst()) {
    if (!seen_streams.insert(h.labels_json).second) continue;
    LOGE_ASSIGN_OR_RETURN(labels, query::ParseLabelsJson(parser, h.labels_json));
    add(labels);
  }
  for (const auto& f : PlanFiles(std::move(files), q)) {
    if (*truncated) break;
    auto one = [&]() -> Status {
      LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(query::OpenPath(*f)));
      LOGE_ASSIGN_OR_RETURN(auto streams, MatchingStreams(reader.get(), q, parser));
      // A file reaching outside the window may hold streams with no rows in
      // it: keep those with a block in the window (block headers only, no
      // line is decompressed).
      bool inside = f->entry.min_ts >= q.start && f->entry.max_ts <= q.end;
      std::unordered_set<int64_t> in_window;
      if (!inside && !streams.empty()) {
        LOGE_RETURN_IF_ERROR(reader->ScanBlocksNewestFirst(q.start, q.end, [&](const storage::BlockCursor& b) {
          in_window.insert(b.stream());
          return true;
        }));
      }
      for (const auto& [id, ls] : streams) {
        if (inside || in_window.contains(id)) add(ls);
      }
      return Status::OK();
    };
    LOGE_RETURN_IF_ERROR(SkipUnreadableRemote(*f, one()));
  }
  return Status::OK();
}

struct Volume {
  int64_t start = 0;
  int64_t step = 0;
  std::vector<uint64_t> counts;
  uint64_t rows_scanned = 0;  // rows in the window examined, matching or not
  bool truncated = false;     // stopped at kMaxVolumeRows
  // ts must be in the window; unsigned so that ts - start cannot overflow.
  // A row at exactly `end` falls in the last step, which includes its end.
  void Count(int64_t ts) {
    uint64_t i = (static_cast<uint64_t>(ts) - static_cast<uint64_t>(start)) / static_cast<uint64_t>(step);
    counts[std::min<uint64_t>(i, counts.size() - 1)]++;
  }
};

Status CountFile(const storage::FileHandle& f, const query::Query& q, simdjson::dom::parser& parser, Volume* v) {
  LOGE_ASSIGN_OR_RETURN(auto reader, storage::SegmentReader::Open(query::OpenPath(f)));
  LOGE_ASSIGN_OR_RETURN(auto streams, MatchingStreams(reader.get(), q, parser));
  if (streams.empty()) return Status::OK();
  std::vector<storage::RowView> rows;
  Status st;
  LOGE_RETURN_IF_ERROR(reader->ScanBlocksNewestFirst(q.start, q.end, [&](const storage::BlockCursor& b) {
    auto stream = streams.find(b.stream());
    if (stream == streams.end()) return true;
    std::string_view lines = b.lines();
    if (!query::BlockMayMatch(q, lines)) return true;
    uint32_t n = b.n();
    st = b.Rows(&rows);
    if (!st.ok()) return false;
    // Label filter stages read the entries' metadata; decode it only for them.
    std::vector<std::string> meta;
    if (!q.entry_filters.empty() && b.HasMetadata()) {
      auto m = b.Metadata();
      if (!m.ok()) {
        st = m.status();
        return false;
      }
      meta = std::move(*m);
    }
    const Labels& labels = stream->second;
    for (uint32_t i = 0; i < n; i++) {
      const auto& r = rows[i];
      if (!q.InWindow(r.ts)) continue;
      if (v->rows_scanned >= kMaxVolumeRows) {
        v->truncated = true;
        return false;
      }
      v->rows_scanned++;
      if (!q.MatchesLine(r.line)) continue;
      if (!q.MatchesEntry(labels, meta.empty() ? std::string_view() : meta[i])) continue;
      v->Count(r.ts);
    }
    return true;
  }));
  return st;
}

Status CountVolume(query::DataSource* source, const query::Query& q, simdjson::dom::parser& parser, Volume* v) {
  query::TopK head(kMaxHeadRows);
  std::vector<query::FileRef> files;
  source->Snapshot(q, &head, &files);  // head rows come already filtered
  v->truncated = head.Full();
  for (const auto& h : head.TakeSortedNewestFirst()) {
    v->rows_scanned++;
    v->Count(h.ts);
  }
  for (const auto& f : PlanFiles(std::move(files), q)) {
    if (v->truncated) break;
    LOGE_RETURN_IF_ERROR(SkipUnreadableRemote(*f, CountFile(*f, q, parser, v)));
  }
  return Status::OK();
}

bool ValidLabelName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseQueryString(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    LOGE_ASSIGN_OR_RETURN(std::string name, PercentDecode(item.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      LOGE_ASSIGN_OR_RETURN(value, PercentDecode(item.substr(eq + 1)));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

HttpResponse HandleLabelValues(query::DataSource* source, const HttpRequest& req, std::string_view name) {
  if (!ValidLabelName(name)) {
    return ErrorFromStatus(Status::InvalidArgument("label name \"" + std::string(name) +
                                                   "\": want [a-zA-Z_][a-zA-Z0-9_]*"));
  }
  auto params = ReadParams(req);
  if (!params.ok()) return ErrorFromStatus(params.status());
  query::Query q;
  Status st = ParseTimeParam(*params, "start", &q.start);
  if (st.ok()) st = ParseTimeParam(*params, "end", &q.end);
  if (st.ok()) st = ParseSelectorParam(*params, &q);
  if (st.ok() && q.start > q.end) st = Status::InvalidArgument("start is after end");
  if (!st.ok()) return ErrorFromStatus(st);
  // Values come from streams; line and label filter stages would need every
  // row read, so they are ignored.
  q.line_filters.clear();
  q.entry_filters.clear();
  auto has = query::LabelMatcher::Make(std::string(name), ".+", query::MatchType::kRe);
  if (!has.ok()) return ErrorFromStatus(has.status());
  q.matchers.push_back(std::move(*has));

  std::set<std::string> values;
  bool truncated = false;
  st = CollectLabelValues(source, q, std::string(name), &values, &truncated);
  if (!st.ok()) return ErrorFromStatus(st);
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const auto& v : values) w.String(v);
  w.EndArray();
  w.Key("truncated");
  w.Bool(truncated);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse HandleVolume(query::DataSource* source, const HttpRequest& req) {
  auto params = ReadParams(req);
  if (!params.ok()) return ErrorFromStatus(params.status());
  query::Query q;
  q.end = NowNanos();
  Status st = ParseTimeParam(*params, "end", &q.end);
  q.start = q.end - kDefaultVolumeWindowNs;
  if (st.ok()) st = ParseTimeParam(*params, "start", &q.start);
  if (st.ok()) st = ParseSelectorParam(*params, &q);
  if (st.ok() && q.start > q.end) st = Status::InvalidArgument("start is after end");
  if (!st.ok()) return ErrorFromStatus(st);
  // The span in unsigned arithmetic: end - start may not fit in int64.
  uint64_t span = static_cast<uint64_t>(q.end) - static_cast<uint64_t>(q.start);
  int64_t step = 0;
  if (const std::string* s = params->Get("step")) {
    if (!ParseInt64(*s, &step)) {
      auto d = ParseDuration(*s);
      if (!d.ok()) {
        return ErrorFromStatus(Status::InvalidArgument("step: want a duration (\"30s\") or nanoseconds, got \"" + *s + "\""));
      }
      step = d->count();
    }
    if (step <= 0) return ErrorFromStatus(Status::InvalidArgument("step: must be positive"));
  } else {
    step = static_cast<int64_t>(std::max<uint64_t>(1, span / kDefaultVolumeSteps));
  }
  uint64_t steps = std::max<uint64_t>(1, span / static_cast<uint64_t>(step) + (span % static_cast<uint64_t>(step) != 0));
  if (steps > static_cast<uint64_t>(kMaxVolumeSteps)) {
    return ErrorFromStatus(Status::InvalidArgument("step: " + FormatDuration(Duration(step)) +
                                                   " cuts the window into too many steps (at most " +
                                                   std::to_string(kMaxVolumeSteps) + ")"));
  }
  Volume v;
  v.start = q.start;
  v.step = step;
  v.counts.assign(steps, 0);
  q.limit = kMaxHeadRows;
  simdjson::dom::parser parser;
  st = CountVolume(source, q, parser, &v);
  if (!st.ok()) return ErrorFromStatus(st);
  uint64_t total = 0;
  for (uint64_t c : v.counts) total += c;

  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  w.Key("start");
  w.Int(q.start);
  w.Key("end");
  w.Int(q.end);
  w.Key("step");
  w.Int(step);
  w.Key("counts");
  w.BeginArray();
  for (uint64_t c : v.counts) w.Uint(c);
  w.EndArray();
  w.Key("total");
  w.Uint(total);
  w.Key("rows_scanned");
  w.Uint(v.rows_scanned);
  w.Key("truncated");
  w.Bool(v.truncated);
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
