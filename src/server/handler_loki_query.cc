// Loki's query endpoints over the query layer:
//
//   GET/POST /loki/api/v1/query_range  query, start, end, since, limit, direction, step
//   GET/POST /loki/api/v1/query        query, time, limit, direction
//
// with Loki's parameter rules (loghttp/params.go: float seconds, ≤10-digit
// seconds, nanoseconds or RFC 3339; step in seconds or a duration; start
// and end of a metric query aligned down to the step) and response shapes:
// `streams` (labels merged, or split with X-Loki-Response-Encoding-Flags:
// categorize-labels), `matrix`, `vector`, `scalar`. Errors are Loki's text,
// status 400.
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

constexpr int64_t kNsPerSec = 1'000'000'000;
// Loki's max_entries_limit_per_query default.
constexpr int64_t kMaxEntriesLimit = 5000;
// Loki's cap on points per series (query.go errStepTooSmall).
constexpr int64_t kMaxPoints = 11000;

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // strconv.FormatFloat(v, 'f', -1, 64): the shortest digits, no exponent.
  for (int prec = 0; prec <= 17; prec++) {
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find('.') == std::string::npos && std::fabs(v) >= 1e21) {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    s = buf;
  }
  return s;
}

// A sample's time as Loki writes it: seconds, with milliseconds when any.
void WriteSampleTime(int64_t ns, JsonWriter* w) {
  int64_t ms = ns / 1'000'000;
  if (ms % 1000 == 0) {
    w->Int(ms / 1000);
    return;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000), static_cast<long long>(std::llabs(ms % 1000)));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  w->Raw(s);
}

void WriteLabels(const Labels& ls, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [k, v] : ls) {
    w->Key(k);
    w->String(v);
  }
  w->EndObject();
}

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

}  // namespace

// Runs a log query and writes Loki's `streams` answer.
HttpResponse Server::LokiLogAnswer(const query::Expr& e, int64_t start, int64_t end, int64_t limit, bool forward,
                                   bool categorize) {
  query::Query q;
  q.SetSelector(e.selector);
  q.start = start;
  q.end = end - 1;  // Loki's end is exclusive for log queries
  q.limit = static_cast<size_t>(limit);
  q.forward = forward;
  q.want_labels = true;
  auto res = engine_->Run(q);
  if (!res.ok()) return LokiError(res.status().code() == Code::kInvalidArgument ? 400 : 500, res.status().message());
  // Group entries by their label set: everything merged, or (categorized)
  // the stream labels only, with metadata and parsed labels per entry.
  struct Entry {
    const query::Hit* hit;
    Labels meta, parsed;
  };
  std::map<Labels, std::vector<Entry>> streams;
  for (const auto& h : res->hits) {
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
    WriteLabels(labels, &w);
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
          WriteLabels(en.parsed, &w);
        }
        if (!en.meta.empty()) {
          w.Key("structuredMetadata");
          WriteLabels(en.meta, &w);
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
      w.String(FormatValue(res.scalar));
      w.EndArray();
      break;
    case query::MetricResult::Type::kVector:
      w.String("vector");
      w.Key("result");
      w.BeginArray();
      for (const auto& s : res.series) {
        w.BeginObject();
        w.Key("metric");
        WriteLabels(s.metric, &w);
        w.Key("value");
        w.BeginArray();
        WriteSampleTime(s.points.front().first, &w);
        w.String(FormatValue(s.points.front().second));
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
        WriteLabels(s.metric, &w);
        w.Key("values");
        w.BeginArray();
        for (const auto& [t, v] : s.points) {
          w.BeginArray();
          WriteSampleTime(t, &w);
          w.String(FormatValue(v));
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
  if (!res.ok()) return LokiError(res.status().code() == Code::kInvalidArgument ? 400 : 500, res.status().message());
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  WriteMetricResult(*res, &w);
  WriteStats(&w);
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse Server::HandleLokiQuery(HttpRequest& req, bool range) {
  auto form = ReadForm(req);
  if (!form.ok()) return LokiError(400, form.status().message());
  const Form& f = *form;
  const int64_t now = NowNanos();
  const bool categorize = req.Header("x-loki-response-encoding-flags").find("categorize-labels") != std::string_view::npos;

  int64_t limit = 100;
  if (std::string l = f.Get("limit"); !l.empty()) {
    if (!ParseInt64(l, &limit)) return LokiError(400, "strconv.Atoi: parsing " + query::GoQuote(l) + ": invalid syntax");
    if (limit <= 0) return LokiError(400, "limit must be a positive value");
  }
  bool forward = false;
  if (std::string d = f.Get("direction"); !d.empty()) {
    std::string up = d;
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (up != "FORWARD" && up != "BACKWARD") return LokiError(400, "invalid direction '" + d + "'");
    forward = up == "FORWARD";
  }
  int64_t start = 0, end = 0, step = 0;
  if (range) {
    int64_t since = 3600 * kNsPerSec;
    if (std::string s = f.Get("since"); !s.empty()) {
      auto d = query::ParsePromDuration(s);
      if (!d.ok()) return LokiError(400, "could not parse 'since' parameter: " + d.status().message());
      since = *d;
    }
    auto e = ParseLokiTime(f.Get("end"), now);
    if (!e.ok()) return LokiError(400, "could not parse 'end' parameter: " + e.status().message());
    end = *e;
    int64_t def_start;
    if (__builtin_sub_overflow(std::min(end, now), since, &def_start)) def_start = std::numeric_limits<int64_t>::min();
    auto s = ParseLokiTime(f.Get("start"), def_start);
    if (!s.ok()) return LokiError(400, "could not parse 'start' parameter: " + s.status().message());
    start = *s;
    if (end < start) return LokiError(400, "end timestamp must not be before or equal to start time");
    if (std::string st = f.Get("step"); !st.empty()) {
      auto p = ParseStep(st);
      if (!p.ok()) return LokiError(400, p.status().message());
      step = *p;
    } else {
      step = query::DefaultStep(start, end);
    }
    if (step <= 0) return LokiError(400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
    if (query::StepsBetween(start, end, step) > kMaxPoints) {
      return LokiError(400, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
    }
  } else {
    auto t = ParseLokiTime(f.Get("time"), now);
    if (!t.ok()) return LokiError(400, t.status().message());
    start = end = *t;
  }
  query::ParseOptions po;
  po.loki_errors = true;
  po.require_matcher = true;
  auto expr = query::ParseExpr(f.Get("query"), po);
  if (!expr.ok()) return LokiError(400, expr.status().message());
  const query::Expr& e = **expr;
  if (e.IsLog()) {
    if (!range) {
      return LokiError(400, "log queries are not supported as an instant query type, please change your query to a range query type");
    }
    if (limit > kMaxEntriesLimit) {
      return LokiError(400, "max entries limit per query exceeded, limit > max_entries_limit_per_query (" +
                                std::to_string(limit) + " > " + std::to_string(kMaxEntriesLimit) + ")");
    }
    return LokiLogAnswer(e, start, end, limit, forward, categorize);
  }
  query::MetricQuery mq;
  mq.expr = *expr;
  mq.max_series = opts_.max_query_series;
  if (range) {
    // Loki's query frontend aligns a metric query to its step: start down,
    // end up (queryrange splitters.go alignStartEnd).
    if (Status st = query::AlignToStep(step, &start, &end); !st.ok()) return LokiError(400, st.message());
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
