// Loki's query endpoints over the query layer:
//
//   GET/POST /loki/api/v1/query_range  query, start, end, since, limit, direction, step, interval
//   GET/POST /loki/api/v1/query        query, time, limit, direction
//
// with Loki's parameter rules (loghttp/params.go: float seconds, ≤10-digit
// seconds, nanoseconds or RFC 3339; step in seconds or a duration; start
// and end of a metric query aligned down to the step) and response shapes:
// `streams` (labels merged, or split with X-Loki-Response-Encoding-Flags:
// categorize-labels), `matrix`, `vector`, `scalar`. Errors are Loki's text,
// status 400; a log query's limit above --max-entries-limit-per-query too.
// Parameter parsing is loki_params.h's.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "query/metric.h"
#include "server/handler_explore.h"
#include "server/loki_params.h"
#include "server/server.h"

namespace loge::server {

namespace {

// Loki's cap on points per series (query.go errStepTooSmall).
constexpr int64_t kMaxPoints = 11000;

void WriteStats(JsonWriter* w) {
  w->Key("stats");
  w->BeginObject();
  w->Key("summary");
  w->BeginObject();
  for (const char* k : {"bytesProcessedPerSecond", "linesProcessedPerSecond", "totalBytesProcessed",
                        "totalLinesProcessed", "execTime", "queueTime", "totalEntriesReturned"}) {
    w->Key(k);
    w->Int(0);
  }
  w->EndObject();
  w->EndObject();
}

// Loki's `warnings` beside `data` (as Prometheus answers them; Grafana shows
// each above the result): the files a query could not read — quarantined
// local files, unreachable or missing remote ones — whose rows are missing
// from an otherwise complete answer. Absent when there are none, as in Loki.
void WriteLokiWarnings(const std::vector<std::string>& warnings, JsonWriter* w) {
  if (warnings.empty()) return;
  w->Key("warnings");
  w->BeginArray();
  for (const auto& m : warnings) w->String(m);
  w->EndArray();
}

}  // namespace

// Loki's `interval` on a log query (engine.go readStreams): an entry is
// kept only when it lies at least `interval` past the last kept one in the
// query's direction, across streams; the first always is. Pages through the
// window until `limit` entries are kept or the window is exhausted; each page
// starts where the next keepable entry can be, so every page keeps at least
// one entry and there are at most `limit` pages.
// Files that could not be read add their warnings to *warnings (the answer
// is then partial).
Result<std::vector<query::Hit>> Server::RunLokiLogQuery(const query::Query& base, int64_t interval,
                                                        std::vector<std::string>* warnings) {
  if (interval <= 0) {
    LOGE_ASSIGN_OR_RETURN(auto res, engine_->Run(base));
    warnings->insert(warnings->end(), res.warnings.begin(), res.warnings.end());
    return std::move(res.hits);
  }
  query::Query q = base;
  std::vector<query::Hit> kept;
  bool have_last = false;
  int64_t last = 0;
  while (kept.size() < base.limit && q.start <= q.end) {
    LOGE_ASSIGN_OR_RETURN(auto res, engine_->Run(q));
    for (auto& m : res.warnings) {
      if (std::find(warnings->begin(), warnings->end(), m) == warnings->end()) warnings->push_back(std::move(m));
    }
    for (auto& h : res.hits) {
      if (kept.size() >= base.limit) break;
      bool keep = !have_last || (q.forward ? h.ts - last >= interval : last - h.ts >= interval);
      if (!keep) continue;
      have_last = true;
      last = h.ts;
      kept.push_back(std::move(h));
    }
    if (res.hits.size() < q.limit || !have_last) break;
    // The next keepable entry is at least `interval` past the last kept one.
    if (q.forward) {
      if (__builtin_add_overflow(last, interval, &q.start)) break;
    } else {
      if (__builtin_sub_overflow(last, interval, &q.end)) break;
    }
  }
  return kept;
}

// Runs a log query and writes Loki's `streams` answer.
HttpResponse Server::LokiLogAnswer(const query::Expr& e, const LokiLogParams& p) {
  query::Query q;
  q.SetSelector(e.selector);
  q.start = p.start;
  q.end = LastNanoBefore(p.end);  // Loki's end is exclusive for log queries
  q.limit = static_cast<size_t>(p.limit);
  q.forward = p.forward;
  q.want_labels = true;
  const bool categorize = p.categorize;
  std::vector<std::string> warnings;
  auto hits = RunLokiLogQuery(q, p.interval, &warnings);
  if (!hits.ok()) return LokiQueryError(hits.status());
  // Group entries by their label set: everything merged, or (categorized)
  // the stream labels only, with metadata and parsed labels per entry.
  struct Entry {
    const query::Hit* hit;
    Labels meta, parsed;
  };
  std::map<Labels, std::vector<Entry>> streams;
  for (const auto& h : *hits) {
    const Labels& meta = h.structured;
    const Labels& parsed = h.parsed;
    Labels key = h.stream;
    if (!categorize) {
      key.insert(key.end(), meta.begin(), meta.end());
      key.insert(key.end(), parsed.begin(), parsed.end());
      std::sort(key.begin(), key.end());
    }
    streams[key].push_back(Entry{&h, meta, parsed});
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  if (categorize) {
    w.Key("encodingFlags");
    w.BeginArray();
    w.String("categorize-labels");
    w.EndArray();
  }
  w.Key("resultType");
  w.String("streams");
  w.Key("result");
  w.BeginArray();
  for (const auto& [labels, entries] : streams) {
    w.BeginObject();
    w.Key("stream");
    WriteLokiLabels(labels, &w);
    w.Key("values");
    w.BeginArray();
    for (const auto& en : entries) {
      w.BeginArray();
      w.String(std::to_string(en.hit->ts));
      w.String(en.hit->line);
      if (categorize) {
        w.BeginObject();
        if (!en.parsed.empty()) {
          w.Key("parsed");
          WriteLokiLabels(en.parsed, &w);
        }
        if (!en.meta.empty()) {
          w.Key("structuredMetadata");
          WriteLokiLabels(en.meta, &w);
        }
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  WriteStats(&w);
  w.EndObject();
  WriteLokiWarnings(warnings, &w);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

void WriteMetricResult(const query::MetricResult& res, JsonWriter* out) {
  JsonWriter& w = *out;
  w.Key("resultType");
  switch (res.type) {
    case query::MetricResult::Type::kScalar:
      w.String("scalar");
      w.Key("result");
      w.BeginArray();
      w.Int(res.scalar_ts / 1'000'000);  // Loki writes a scalar's time in ms
      w.String(FormatLokiValue(res.scalar));
      w.EndArray();
      break;
    case query::MetricResult::Type::kVector:
      w.String("vector");
      w.Key("result");
      w.BeginArray();
      for (const auto& s : res.series) {
        w.BeginObject();
        w.Key("metric");
        WriteLokiLabels(s.metric, &w);
        w.Key("value");
        w.BeginArray();
        WriteLokiSampleTime(s.points.front().first, &w);
        w.String(FormatLokiValue(s.points.front().second));
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
    case query::MetricResult::Type::kMatrix:
      w.String("matrix");
      w.Key("result");
      w.BeginArray();
      for (const auto& s : res.series) {
        w.BeginObject();
        w.Key("metric");
        WriteLokiLabels(s.metric, &w);
        w.Key("values");
        w.BeginArray();
        for (const auto& [t, v] : s.points) {
          w.BeginArray();
          WriteLokiSampleTime(t, &w);
          w.String(FormatLokiValue(v));
          w.EndArray();
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
  }
}

HttpResponse Server::LokiMetricAnswer(const query::MetricQuery& mq) {
  auto res = engine_->RunMetric(mq);
  if (!res.ok()) return LokiQueryError(res.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  WriteMetricResult(*res, &w);
  WriteStats(&w);
  w.EndObject();
  WriteLokiWarnings(res->warnings, &w);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse Server::HandleLokiQuery(HttpRequest& req, bool range) {
  auto form = ReadLokiForm(req);
  if (!form.ok()) return LokiTextError(400, form.status().message());
  const LokiForm& f = *form;
  const int64_t now = NowNanos();
  LokiLogParams lp;
  lp.categorize = req.Header("x-loki-response-encoding-flags").find("categorize-labels") != std::string_view::npos;

  auto limit = ParseLokiLimit(f.Get("limit"), kLokiDefaultLimit, 0);
  if (!limit.ok()) return LokiTextError(limit.status());
  lp.limit = *limit;
  auto forward = ParseLokiDirection(f.Get("direction"));
  if (!forward.ok()) return LokiTextError(forward.status());
  lp.forward = *forward;
  int64_t start = 0, end = 0, step = 0;
  if (range) {
    auto r = ParseLokiRange(f, now, 3600 * kLokiNsPerSec);
    if (!r.ok()) return LokiTextError(r.status());
    start = r->start;
    end = r->end;
    if (std::string st = f.Get("step"); !st.empty()) {
      auto p = ParseLokiStep(st);
      if (!p.ok()) return LokiTextError(p.status());
      step = *p;
    } else {
      step = query::DefaultStep(start, end);
    }
    if (step <= 0) return LokiTextError(400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
    if (query::StepsBetween(start, end, step) > kMaxPoints) {
      return LokiTextError(400, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
    }
    if (std::string iv = f.Get("interval"); !iv.empty()) {
      auto p = ParseLokiStep(iv);
      if (!p.ok()) return LokiTextError(p.status());
      if (*p < 0) return LokiTextError(400, "negative interval widths are not accepted. Try a positive integer");
      lp.interval = *p;
    }
  } else {
    auto t = ParseLokiTime(f.Get("time"), now);
    if (!t.ok()) return LokiTextError(t.status());
    start = end = *t;
  }
  query::ParseOptions po;
  po.loki_errors = true;
  po.require_matcher = true;
  auto expr = query::ParseExpr(f.Get("query"), po);
  if (!expr.ok()) return LokiTextError(400, expr.status().message());
  const query::Expr& e = **expr;
  if (e.IsLog()) {
    if (!range) {
      return LokiTextError(400, "log queries are not supported as an instant query type, please change your query to a range query type");
    }
    // --max-entries-limit-per-query caps log queries only (Loki's
    // max_entries_limit_per_query); 0 = no cap.
    if (auto capped = ParseLokiLimit("", lp.limit, opts_.max_entries_limit_per_query); !capped.ok()) {
      return LokiTextError(capped.status());
    }
    lp.start = start;
    lp.end = end;
    return LokiLogAnswer(e, lp);
  }
  query::MetricQuery mq;
  mq.expr = *expr;
  mq.max_series = opts_.max_query_series;
  if (range) {
    // Loki's query frontend aligns a metric query to its step: start down,
    // end up (queryrange splitters.go alignStartEnd).
    if (Status st = query::AlignToStep(step, &start, &end); !st.ok()) return LokiTextError(400, st.message());
    mq.start = start;
    mq.end = end;
    mq.step = step;
  } else {
    mq.start = mq.end = start;
    mq.instant = true;
  }
  return LokiMetricAnswer(mq);
}

}  // namespace loge::server
