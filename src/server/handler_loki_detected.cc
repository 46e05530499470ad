// What Logs Drilldown's labels, fields and patterns tabs read:
//
//   GET /loki/api/v1/detected_labels        query (may be empty), start, end
//       {"detectedLabels":[{"label","cardinality"}]}
//   GET /loki/api/v1/detected_fields        query, start, end, line_limit, limit
//       {"fields":[{"label","type","cardinality","parsers","jsonPath"}],"limit":N}
//   GET /loki/api/v1/detected_field/<name>/values   the same parameters
//       {"values":[…],"limit":N}
//   GET /loki/api/v1/patterns               query, start, end, step
//       {"status":"success","data":[{"pattern","level","samples":[[<s>,<n>]]}]}
//
// The detected_* answers have no envelope and leave out empty lists (Loki's
// protobuf JSON: `{}` when nothing was found); errors are Loki's text, 400.
// Fields come from the newest line_limit lines of the query (Loki's
// sampling), patterns from every line of the range up to kPatternLineBudget
// (query/patterns.h, engine_patterns.cc).
#include <algorithm>
#include <map>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/detected.h"
#include "query/logql.h"
#include "query/metric.h"
#include "query/patterns.h"
#include "server/loki_params.h"
#include "server/server.h"

namespace loge::server {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Loki's defaults: lines sampled for detected fields, and fields (or
// values) answered.
constexpr int64_t kDefaultLineLimit = 100;
constexpr int64_t kDefaultFieldLimit = 1000;
// Loki's max_entries_limit_per_query default: the most lines sampled.
constexpr int64_t kMaxLineLimit = 5000;
// Values per label read for detected labels: enough to tell ids from
// categories, bounded so a label with millions of ids costs little.
constexpr size_t kMaxLabelValues = 10000;
// Lines clustered per patterns request: ~1 s of work on one core
// (docs/benchmarks.md, "Patterns at query time"); a larger range is
// answered from the lines read first.
constexpr uint64_t kPatternLineBudget = 1'000'000;
// Loki's cap on points per series.
constexpr int64_t kMaxPoints = 11000;
// Loki's default range when start is absent (loghttp defaultSince).
constexpr int64_t kDefaultSince = 3600 * kNsPerSec;

// Loki's bounds(): end defaults to now, start to min(end, now) - since.
Result<LokiRange> ParseBounds(const LokiForm& f) { return ParseLokiRange(f, NowNanos(), kDefaultSince); }

// The step of a request (Loki's step(): given, or the default for the range).
Result<int64_t> StepParam(const LokiForm& f, const LokiRange& b) {
  int64_t step = query::DefaultStep(b.start, b.end);
  if (std::string st = f.Get("step"); !st.empty()) {
    LOGE_ASSIGN_OR_RETURN(step, ParseLokiStep(st));
  }
  if (step <= 0) {
    return Status::InvalidArgument("zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if (query::StepsBetween(b.start, b.end, step) > kMaxPoints) {
    return Status::InvalidArgument(
        "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
  }
  return step;
}

// A log selector with Loki's rules (a matcher that does not match "", no
// metric query); InvalidArgument in Loki's words.
Result<query::ExprPtr> ParseLogQuery(const std::string& text) {
  query::ParseOptions po;
  po.loki_errors = true;
  po.require_matcher = true;
  LOGE_ASSIGN_OR_RETURN(query::ExprPtr e, query::ParseExpr(text, po));
  if (!e->IsLog()) return Status::InvalidArgument("only log queries are supported: " + text);
  return e;
}

HttpResponse JsonAnswer(JsonWriter* w) {
  HttpResponse r;
  r.body = w->Take();
  return r;
}

// A failed query: 400 for bad input, 500 for the rest, in Loki's text form.
HttpResponse QueryError(const Status& st) {
  return LokiQueryError(st);
}

}  // namespace

HttpResponse Server::HandleDetectedLabels(HttpRequest& req) {
  auto form = ReadLokiForm(req);
  if (!form.ok()) return LokiTextError(400, form.status().message());
  auto b = ParseBounds(*form);
  if (!b.ok()) return LokiTextError(400, b.status().message());
  query::Query q;
  q.start = b->start;
  q.end = b->end;
  // An empty query (Drilldown's, before any label is chosen) means every stream.
  if (std::string text = form->Get("query"); !text.empty()) {
    auto e = ParseLogQuery(text);
    if (!e.ok()) return LokiTextError(400, e.status().message());
    q.matchers = (*e)->selector.matchers;
  }
  std::map<std::string, std::vector<std::string>> values;
  for (const auto& key : engine_->LabelKeys()) {
    auto lv = engine_->LabelValuesOf(q, key, kMaxLabelValues);
    if (!lv.ok()) return QueryError(lv.status());
    if (!lv->values.empty()) values[key] = std::move(lv->values);
  }
  JsonWriter w;
  w.BeginObject();
  auto labels = query::DetectLabels(values);
  if (!labels.empty()) {
    w.Key("detectedLabels");
    w.BeginArray();
    for (const auto& l : labels) {
      w.BeginObject();
      w.Key("label");
      w.String(l.label);
      w.Key("cardinality");
      w.Uint(l.cardinality);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return JsonAnswer(&w);
}

HttpResponse Server::HandleDetectedFields(HttpRequest& req, std::string_view value_name) {
  auto form = ReadLokiForm(req);
  if (!form.ok()) return LokiTextError(400, form.status().message());
  const LokiForm& f = *form;
  auto b = ParseBounds(f);
  if (!b.ok()) return LokiTextError(400, b.status().message());
  // Loki checks line_limit's cap only after the step and the query.
  auto line_limit = ParseLokiLimit(f.Get("line_limit"), kDefaultLineLimit, 0);
  if (!line_limit.ok()) return LokiTextError(400, line_limit.status().message());
  std::string limit_text = f.Get("limit").empty() ? f.Get("field_limit") : f.Get("limit");
  auto limit = ParseLokiLimit(limit_text, kDefaultFieldLimit, 0);
  if (!limit.ok()) return LokiTextError(400, limit.status().message());
  if (auto step = StepParam(f, *b); !step.ok()) return LokiTextError(400, step.status().message());
  auto e = ParseLogQuery(f.Get("query"));
  if (!e.ok()) return LokiTextError(400, e.status().message());
  if (auto capped = ParseLokiLimit(f.Get("line_limit"), kDefaultLineLimit, kMaxLineLimit); !capped.ok()) {
    return LokiTextError(400, capped.status().message());
  }
  // Loki samples the newest line_limit lines of the query as a log query
  // (end exclusive).
  query::Query q;
  q.SetSelector((*e)->selector);
  q.start = b->start;
  q.end = LastNanoBefore(b->end);
  q.limit = static_cast<size_t>(*line_limit);
  q.want_labels = true;
  auto res = engine_->Run(q);
  if (!res.ok()) return QueryError(res.status());

  JsonWriter w;
  w.BeginObject();
  if (!value_name.empty()) {
    auto values = query::DetectFieldValues(res->hits, value_name, static_cast<size_t>(*limit));
    if (!values.empty()) {
      w.Key("values");
      w.BeginArray();
      for (const auto& v : values) w.String(v);
      w.EndArray();
      w.Key("limit");
      w.Int(*limit);
    }
    w.EndObject();
    return JsonAnswer(&w);
  }
  auto fields = query::DetectFields(res->hits, static_cast<size_t>(*limit));
  if (!fields.empty()) {
    w.Key("fields");
    w.BeginArray();
    for (const auto& fd : fields) {
      w.BeginObject();
      w.Key("label");
      w.String(fd.label);
      w.Key("type");
      w.String(query::FieldTypeName(fd.type));
      w.Key("cardinality");
      w.Uint(fd.cardinality);
      w.Key("parsers");
      if (fd.parsers.empty()) {
        w.Null();
      } else {
        w.BeginArray();
        for (const auto& p : fd.parsers) w.String(p);
        w.EndArray();
      }
      if (!fd.json_path.empty()) {
        w.Key("jsonPath");
        w.BeginArray();
        for (const auto& k : fd.json_path) w.String(k);
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("limit");
    w.Int(*limit);
  }
  w.EndObject();
  return JsonAnswer(&w);
}

HttpResponse Server::HandlePatterns(HttpRequest& req) {
  auto form = ReadLokiForm(req);
  if (!form.ok()) return LokiTextError(400, form.status().message());
  const LokiForm& f = *form;
  auto b = ParseBounds(f);
  if (!b.ok()) return LokiTextError(400, b.status().message());
  auto step = StepParam(f, *b);
  if (!step.ok()) return LokiTextError(400, step.status().message());
  auto e = ParseLogQuery(f.Get("query"));
  if (!e.ok()) return LokiTextError(400, e.status().message());
  query::Query q;
  q.SetSelector((*e)->selector);
  q.start = b->start;
  q.end = b->end;
  auto res = engine_->PatternsOf(q, *step, kPatternLineBudget);
  if (!res.ok()) return QueryError(res.status());

  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const auto& s : res->series) {
    w.BeginObject();
    w.Key("pattern");
    w.String(s.pattern);
    w.Key("level");
    w.String(s.level);
    w.Key("samples");
    w.BeginArray();
    for (const auto& [bucket, n] : s.samples) {
      w.BeginArray();
      // Unix seconds (Go's Time.Unix: floor).
      int64_t sec = bucket / kNsPerSec - (bucket % kNsPerSec < 0 ? 1 : 0);
      w.Int(sec);
      w.Uint(n);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonAnswer(&w);
}

}  // namespace loge::server
