// Loki's metadata read API (docs/loki-api.md), answered by the query layer
// (Engine::StreamsOf, on the same plan and scanner as queries):
//
//   GET/POST /loki/api/v1/labels                 label names of the streams in the window
//   GET/POST /loki/api/v1/label/<name>/values    values of one stream label
//   GET/POST /loki/api/v1/series                 label sets (match[] / match, repeated)
//   GET/POST /loki/api/v1/index/stats            bare {streams, chunks, bytes, entries}
//   GET/POST /loki/api/v1/index/volume           line bytes per group, a vector
//   GET/POST /loki/api/v1/index/volume_range     the same per step, a matrix
//
// Parameters follow loki_params.h (Loki's time forms, `since`); errors are
// Loki's plain text with status 400. drilldown-limits, format_query and
// buildinfo are in handler_loki_status.cc.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "query/metric.h"
#include "server/loki_params.h"
#include "server/server.h"

namespace loge::server {

namespace {

// Loki's default window of /labels, /label/<n>/values and /series.
constexpr int64_t kMetaWindowNs = 6 * 3600 * kLokiNsPerSec;
// The default window of /index/*.
constexpr int64_t kIndexWindowNs = 3600 * kLokiNsPerSec;
// Loki's default `limit` of /index/volume* (seriesvolume.DefaultLimit).
constexpr int64_t kVolumeDefaultLimit = 100;
// Steps an /index/volume_range answer may have (Loki's points cap).
constexpr int64_t kMaxVolumeSteps = 11000;
// The label whose values shard a query in Loki; loge does not shard, so it
// has none and clients send one unsharded query.
constexpr std::string_view kStreamShardLabel = "__stream_shard__";

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

// A stream selector `query` as matchers: `{}` (or blank, when `optional`)
// selects every stream; anything else must parse as LogQL with a matcher
// that does not match "" (Loki's rule). Stages after the selector are
// refused when `matchers_only` (/series), else ignored (index answers).
Result<std::vector<query::LabelMatcher>> SelectorMatchers(const std::string& text, bool matchers_only) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (t.empty() || t == "{}") return std::vector<query::LabelMatcher>{};
  query::ParseOptions po;
  po.loki_errors = true;
  po.require_matcher = true;
  LOGE_ASSIGN_OR_RETURN(query::ExprPtr e, query::ParseExpr(text, po));
  if (!e->IsLog()) return Status::InvalidArgument("only label matchers are supported");
  const query::Selector& s = e->selector;
  if (matchers_only && (!s.line_filters.empty() || !s.entry_filters.empty() || (s.pipeline && !s.pipeline->empty()))) {
    return Status::InvalidArgument("only label matchers are supported");
  }
  return s.matchers;
}

// The window of a metadata request as a Query ([start, end), Loki's
// exclusive end).
Result<query::Query> WindowQuery(const LokiForm& f, int64_t default_window) {
  LOGE_ASSIGN_OR_RETURN(LokiRange r, ParseLokiRange(f, NowNanos(), default_window));
  query::Query q;
  q.start = r.start;
  q.end = r.end > r.start ? r.end - 1 : r.end;
  return q;
}

// The same with the matchers of the optional `query` selector.
Result<query::Query> SelectorWindowQuery(const LokiForm& f, int64_t default_window) {
  LOGE_ASSIGN_OR_RETURN(query::Query q, WindowQuery(f, default_window));
  LOGE_ASSIGN_OR_RETURN(q.matchers, SelectorMatchers(f.Get("query"), false));
  return q;
}

void WriteStringList(const std::vector<std::string>& values, JsonWriter* w) {
  w->BeginObject();
  w->Key("status");
  w->String("success");
  // Loki leaves `data` out when there is nothing (Go's omitempty).
  if (!values.empty()) {
    w->Key("data");
    w->BeginArray();
    for (const auto& v : values) w->String(v);
    w->EndArray();
  }
  w->EndObject();
}

// The time a volume_range step is stamped at: the last millisecond of the
// k-th step, start + k*step - 1 ms, for 1 <= k < steps. k*step < end - start,
// so start + k*step fits in int64 even when the two terms alone would not
// (a window across all of int64): computed modulo 2^64, it is exact. Only
// the millisecond may fall below the smallest time; it stops there.
int64_t StepStamp(int64_t start, uint64_t k, int64_t step) {
  const int64_t at = static_cast<int64_t>(static_cast<uint64_t>(start) + k * static_cast<uint64_t>(step));
  return at < std::numeric_limits<int64_t>::min() + 1'000'000 ? std::numeric_limits<int64_t>::min() : at - 1'000'000;
}

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}

// One group of a volume answer.
struct VolumeGroup {
  Labels metric;
  std::vector<uint64_t> bytes;  // per step
  uint64_t total = 0;
};

// Groups streams as Loki's volume does: by each label name present
// (aggregateBy=labels: {name=""}; only the target labels when `targeted`),
// or by the values of the target labels
// (targetLabels, else the names the query's matchers use; every label for a
// match-all query). Ordered by volume, largest first, then by labels, and
// cut to `limit`.
std::vector<VolumeGroup> GroupVolumes(const std::vector<query::StreamUsage>& streams, bool by_labels,
                                      const std::vector<std::string>& names, bool targeted, bool include_all,
                                      size_t steps, size_t limit) {
  std::map<Labels, VolumeGroup> groups;
  auto add = [&](Labels key, const query::StreamUsage& u) {
    VolumeGroup& g = groups[key];
    if (g.bytes.empty()) {
      g.metric = std::move(key);
      g.bytes.assign(steps, 0);
    }
    for (size_t i = 0; i < steps; i++) g.bytes[i] += u.bytes[i];
  };
  auto wanted = [&](const std::string& name) {
    return include_all || std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const auto& u : streams) {
    if (Sum(u.entries) == 0) continue;
    if (by_labels) {
      // Every label name of the stream, or only the target labels.
      for (const auto& [k, v] : u.labels) {
        if (!targeted || wanted(k)) add(Labels{{k, ""}}, u);
      }
      continue;
    }
    Labels key;
    for (const auto& [k, v] : u.labels) {
      if (wanted(k)) key.emplace_back(k, v);
    }
    add(std::move(key), u);
  }
  std::vector<VolumeGroup> out;
  for (auto& [k, g] : groups) {
    g.total = Sum(g.bytes);
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const VolumeGroup& a, const VolumeGroup& b) {
    return a.total != b.total ? a.total > b.total : a.metric < b.metric;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.push_back(part);
    i = j + 1;
  }
  return out;
}

}  // namespace

HttpResponse Server::HandleLokiLabels(HttpRequest& req) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto q = SelectorWindowQuery(*f, kMetaWindowNs);
  if (!q.ok()) return LokiTextError(q.status());
  auto streams = engine_->StreamsOf(*q, query::StreamsRequest{});
  if (!streams.ok()) return LokiTextError(streams.status());
  std::set<std::string> names;
  for (const auto& s : streams->streams) {
    for (const auto& kv : s.labels) names.insert(kv.first);
  }
  JsonWriter w;
  WriteStringList(std::vector<std::string>(names.begin(), names.end()), &w);
  return Json(w.Take());
}

HttpResponse Server::HandleLokiLabelValues(HttpRequest& req, std::string_view name) {
  if (name == kStreamShardLabel) return Json(R"({"status":"success","data":[]})");
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto q = SelectorWindowQuery(*f, kMetaWindowNs);
  if (!q.ok()) return LokiTextError(q.status());
  // Only streams that have the label (also prunes files without it).
  auto has = query::LabelMatcher::Make(std::string(name), ".+", query::MatchType::kRe);
  if (!has.ok()) return LokiTextError(has.status());
  q->matchers.push_back(std::move(*has));
  auto streams = engine_->StreamsOf(*q, query::StreamsRequest{});
  if (!streams.ok()) return LokiTextError(streams.status());
  std::set<std::string> values;
  for (const auto& s : streams->streams) {
    for (const auto& [k, v] : s.labels) {
      if (k == name && !v.empty()) values.insert(v);
    }
  }
  JsonWriter w;
  WriteStringList(std::vector<std::string>(values.begin(), values.end()), &w);
  return Json(w.Take());
}

HttpResponse Server::HandleLokiSeries(HttpRequest& req) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto q = WindowQuery(*f, kMetaWindowNs);
  if (!q.ok()) return LokiTextError(q.status());
  // Loki takes both spellings and answers their union; `{}` is every stream.
  std::vector<std::string> selectors = f->All("match[]");
  for (auto& s : f->All("match")) selectors.push_back(std::move(s));
  if (selectors.empty()) selectors.push_back("{}");
  std::set<Labels> sets;
  for (const auto& sel : selectors) {
    auto m = SelectorMatchers(sel, true);
    if (!m.ok()) return LokiTextError(m.status());
    query::Query one = *q;
    one.matchers = std::move(*m);
    auto streams = engine_->StreamsOf(one, query::StreamsRequest{});
    if (!streams.ok()) return LokiTextError(streams.status());
    for (auto& s : streams->streams) sets.insert(std::move(s.labels));
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const auto& ls : sets) WriteLokiLabels(ls, &w);
  w.EndArray();
  w.EndObject();
  return Json(w.Take());
}

HttpResponse Server::HandleLokiIndexStats(HttpRequest& req) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto q = SelectorWindowQuery(*f, kIndexWindowNs);
  if (!q.ok()) return LokiTextError(q.status());
  query::StreamsRequest sr;
  sr.counts = true;
  auto streams = engine_->StreamsOf(*q, sr);
  if (!streams.ok()) return LokiTextError(streams.status());
  uint64_t n = 0, chunks = 0, bytes = 0, entries = 0;
  for (const auto& s : streams->streams) {
    uint64_t e = Sum(s.entries);
    if (e == 0) continue;
    n++;
    chunks += s.chunks;
    bytes += Sum(s.bytes);
    entries += e;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("streams");
  w.Uint(n);
  w.Key("chunks");
  w.Uint(chunks);
  w.Key("bytes");
  w.Uint(bytes);
  w.Key("entries");
  w.Uint(entries);
  w.EndObject();
  return Json(w.Take());
}

HttpResponse Server::HandleLokiVolume(HttpRequest& req, bool range) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto q = SelectorWindowQuery(*f, kIndexWindowNs);
  if (!q.ok()) return LokiTextError(q.status());
  const int64_t start = q->start, end = q->end + (q->end > q->start ? 1 : 0);
  auto limit = ParseLokiLimit(f->Get("limit"), kVolumeDefaultLimit, 0);
  if (!limit.ok()) return LokiTextError(limit.status());
  std::string aggregate_by = f->Get("aggregateBy");
  if (aggregate_by.empty()) aggregate_by = "series";
  if (aggregate_by != "series" && aggregate_by != "labels") {
    return LokiTextError(400, "invalid aggregation option: " + aggregate_by + " (want series or labels)");
  }
  // The grouping names: the target labels, which a stream must all have;
  // else the names the query's matchers use (every label for `{}`).
  std::vector<std::string> names = SplitCommas(f->Get("targetLabels"));
  const bool targeted = !names.empty();
  for (const auto& t : names) {
    if (std::any_of(q->matchers.begin(), q->matchers.end(), [&](const auto& mt) { return mt.name() == t; })) continue;
    auto has = query::LabelMatcher::Make(t, ".+", query::MatchType::kRe);
    if (!has.ok()) return LokiTextError(has.status());
    q->matchers.push_back(std::move(*has));
  }
  if (!targeted) {
    for (const auto& mt : q->matchers) {
      if (std::find(names.begin(), names.end(), mt.name()) == names.end()) names.push_back(mt.name());
    }
  }
  const bool include_all = !targeted && names.empty();
  query::StreamsRequest sr;
  sr.counts = true;
  // The span in unsigned arithmetic: end - start may not fit in int64.
  const uint64_t span = static_cast<uint64_t>(end) - static_cast<uint64_t>(start);
  // An instant answer is one step over the whole window.
  int64_t step = static_cast<int64_t>(std::min<uint64_t>(span, std::numeric_limits<int64_t>::max()));
  if (range) {
    std::string st = f->Get("step");
    if (!st.empty()) {
      auto p = ParseLokiStep(st);
      if (!p.ok()) return LokiTextError(p.status());
      step = *p;
    } else {
      step = query::DefaultStep(start, end);
    }
    if (step <= 0) {
      return LokiTextError(400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
    }
  }
  if (step <= 0) step = 1;
  uint64_t steps = std::max<uint64_t>(1, span / static_cast<uint64_t>(step) + (span % static_cast<uint64_t>(step) != 0));
  if (steps > static_cast<uint64_t>(kMaxVolumeSteps)) {
    return LokiTextError(400, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
  }
  sr.step = step;
  sr.steps = static_cast<size_t>(steps);
  auto streams = engine_->StreamsOf(*q, sr);
  if (!streams.ok()) return LokiTextError(streams.status());
  auto groups = GroupVolumes(streams->streams, aggregate_by == "labels", names, targeted, include_all, sr.steps,
                             static_cast<size_t>(*limit));

  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  w.Key("resultType");
  w.String(range ? "matrix" : "vector");
  w.Key("result");
  w.BeginArray();
  for (const auto& g : groups) {
    w.BeginObject();
    w.Key("metric");
    WriteLokiLabels(g.metric, &w);
    if (!range) {
      w.Key("value");
      w.BeginArray();
      WriteLokiSampleTime(end, &w);
      w.String(std::to_string(g.total));
      w.EndArray();
    } else {
      // Step i covers [start + i*step, start + (i+1)*step) and is stamped
      // at its last millisecond, the last step at the end (as Loki).
      w.Key("values");
      w.BeginArray();
      for (size_t i = 0; i < g.bytes.size(); i++) {
        if (g.bytes[i] == 0) continue;
        int64_t t = i + 1 == g.bytes.size() ? end : StepStamp(start, i + 1, step);
        w.BeginArray();
        WriteLokiSampleTime(t, &w);
        w.String(std::to_string(g.bytes[i]));
        w.EndArray();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return Json(w.Take());
}

}  // namespace loge::server
