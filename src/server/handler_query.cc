// POST /api/v1/query: {start, end, matchers, line, limit} or {query} ->
// newest-first rows; a metric query ({query, start, end, step, instant}) ->
// Loki's matrix or vector.
#include <simdjson.h>

#include <limits>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "query/metric.h"
#include "server/server.h"

namespace loge::server {

namespace {

Status Bad(const std::string& m) { return Status::InvalidArgument(m); }

Status ParseTimeField(simdjson::dom::element el, const char* name, int64_t* out) {
  int64_t v;
  if (el.get_int64().get(v) == simdjson::SUCCESS) {
    *out = v;
    return Status::OK();
  }
  std::string_view s;
  if (el.get_string().get(s) == simdjson::SUCCESS && ParseInt64(s, out)) return Status::OK();
  return Bad(std::string(name) + ": want an integer of unix nanoseconds");
}

// A metric query's request: {query, start, end, step, instant}. Null when
// the body holds no metric query (then it is a log query, parsed below).
Result<std::optional<query::MetricQuery>> ParseMetricRequest(std::string_view body, size_t max_series) {
  std::string_view trimmed = body;
  while (!trimmed.empty() && isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
  if (trimmed.empty()) return std::optional<query::MetricQuery>();
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::object obj;
  if (parser.parse(padded).get_object().get(obj)) return std::optional<query::MetricQuery>();
  std::string_view text;
  if (obj["query"].get_string().get(text)) return std::optional<query::MetricQuery>();
  auto expr = query::ParseExpr(text);
  if (!expr.ok()) {
    // Not a metric query either: a log query's error comes from the log parser below.
    size_t first = text.find_first_not_of(" \t\r\n");
    char c = first == std::string_view::npos ? '{' : text[first];
    if (c == '{' || c == '|' || c == '!') return std::optional<query::MetricQuery>();
    return expr.status();
  }
  if ((*expr)->IsLog()) return std::optional<query::MetricQuery>();
  query::MetricQuery mq;
  mq.expr = *expr;
  mq.max_series = max_series;
  int64_t start = 0, end = 0;
  if (auto v = obj["start"]; v.error() == simdjson::SUCCESS) LOGE_RETURN_IF_ERROR(ParseTimeField(v.value(), "start", &start));
  if (auto v = obj["end"]; v.error() == simdjson::SUCCESS) LOGE_RETURN_IF_ERROR(ParseTimeField(v.value(), "end", &end));
  if (end == 0) end = NowNanos();
  if (start == 0 && __builtin_sub_overflow(end, 3600LL * 1'000'000'000, &start)) start = std::numeric_limits<int64_t>::min();
  if (start > end) return Bad("start is after end");
  bool instant = false;
  if (auto v = obj["instant"]; v.error() == simdjson::SUCCESS && v.get_bool().get(instant)) {
    return Bad("instant: want true or false");
  }
  mq.instant = instant;
  if (instant) {
    mq.start = mq.end = end;
    return std::optional<query::MetricQuery>(std::move(mq));
  }
  int64_t step = query::DefaultStep(start, end);
  if (auto v = obj["step"]; v.error() == simdjson::SUCCESS) {
    std::string_view sv;
    if (v.get_int64().get(step) == simdjson::SUCCESS) {
    } else if (v.get_string().get(sv) == simdjson::SUCCESS && ParseInt64(sv, &step)) {
    } else if (v.get_string().get(sv) == simdjson::SUCCESS) {
      auto d = ParseDuration(sv);
      if (!d.ok()) return Bad("step: want a duration (\"1m\") or nanoseconds");
      step = d->count();
    } else {
      return Bad("step: want a duration (\"1m\") or nanoseconds");
    }
  }
  if (step <= 0) return Bad("step: must be positive");
  if (query::StepsBetween(start, end, step) > 11000) {
    return Bad("step: too small for the window (at most 11000 points per series)");
  }
  // Steps on multiples of the step, as Grafana and Loki align them.
  LOGE_RETURN_IF_ERROR(query::AlignToStep(step, &start, &end));
  mq.start = start;
  mq.end = end;
  mq.step = step;
  return std::optional<query::MetricQuery>(std::move(mq));
}

}  // namespace

// Decodes the request body into a Query. An empty body is an all-defaults query.
Result<query::Query> ParseQueryRequest(std::string_view body) {
  query::Query q;
  std::string_view trimmed = body;
  while (!trimmed.empty() && isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.remove_prefix(1);
  if (trimmed.empty()) return q;
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err) {
    return Bad(std::string("malformed JSON body: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return Bad("body: want a JSON object");
  bool has_structured = false;
  std::string_view selector;
  bool has_selector = false;
  for (auto field : obj) {
    std::string_view key = field.key;
    simdjson::dom::element v = field.value;
    if (key == "start" || key == "end") {
      int64_t t;
      LOGE_RETURN_IF_ERROR(ParseTimeField(v, key == "start" ? "start" : "end", &t));
      if (t != 0) (key == "start" ? q.start : q.end) = t;
    } else if (key == "limit") {
      int64_t n;
      if (v.get_int64().get(n)) return Bad("limit: want an integer");
      if (n < 0) return Bad("limit: must not be negative");
      q.limit = n == 0 ? query::kDefaultLimit : std::min<size_t>(n, query::kMaxLimit);
    } else if (key == "query") {
      if (v.get_string().get(selector)) return Bad("query: want a LogQL selector string");
      has_selector = true;
    } else if (key == "line") {
      has_structured = true;
      std::string_view s;
      if (v.get_string().get(s)) return Bad("line: want a string");
      if (!s.empty()) {
        LOGE_ASSIGN_OR_RETURN(auto f, query::LineFilter::Make(query::LineFilterType::kContains, std::string(s)));
        q.line_filters.push_back(std::move(f));
      }
    } else if (key == "matchers") {
      has_structured = true;
      if (v.is_null()) continue;
      simdjson::dom::array arr;
      if (v.get_array().get(arr)) return Bad("matchers: want an array");
      size_t i = 0;
      for (simdjson::dom::element m : arr) {
        std::string where = "matchers[" + std::to_string(i++) + "]";
        simdjson::dom::object mo;
        if (m.get_object().get(mo)) return Bad(where + ": want an object {name, value, type}");
        std::string_view name, value, type = "=";
        if (mo["name"].get_string().get(name)) return Bad(where + ".name: want a string");
        if (mo["value"].get_string().get(value)) return Bad(where + ".value: want a string");
        auto t = mo["type"];
        if (t.error() != simdjson::NO_SUCH_FIELD && t.get_string().get(type)) {
          return Bad(where + ".type: want one of =, !=, =~, !~");
        }
        auto mt = query::ParseMatchType(type);
        if (!mt.ok()) return mt.status().WithContext(where + ".type");
        auto lm = query::LabelMatcher::Make(std::string(name), std::string(value), *mt);
        if (!lm.ok()) return lm.status().WithContext(where);
        q.matchers.push_back(std::move(*lm));
      }
    }
  }
  if (has_selector) {
    if (has_structured) {
      return Bad("give either query (a LogQL selector) or matchers/line, not both");
    }
    auto sel = query::ParseSelector(selector);
    if (!sel.ok()) return sel.status();  // "1:14: expected string after |=": the position leads
    q.SetSelector(std::move(*sel));
  }
  if (q.start > q.end) return Bad("start is after end");
  return q;
}

void WriteHits(const std::vector<query::Hit>& hits, JsonWriter* out) {
  JsonWriter& w = *out;
  for (const auto& h : hits) {
    w.BeginObject();
    w.Key("timestamp");
    w.Int(h.ts);
    w.Key("line");
    w.String(h.line);
    w.Key("labels");
    w.Raw(h.labels_json);
    if (!h.metadata.empty()) {
      w.Key("metadata");
      w.Raw(h.metadata);
    }
    if (h.has_labels && !h.parsed.empty()) {
      // Labels the pipeline's parsers and formatters added.
      w.Key("parsed");
      w.BeginObject();
      for (const auto& [k, v] : h.parsed) {
        w.Key(k);
        w.String(v);
      }
      w.EndObject();
    }
    w.EndObject();
  }
}

void WritePartial(const query::QueryResult& res, JsonWriter* w) {
  w->Key("partial");
  w->Bool(res.partial);
  w->Key("warnings");
  w->BeginArray();
  for (const auto& m : res.warnings) w->String(m);
  w->EndArray();
}

HttpResponse Server::HandleQuery(HttpRequest& req) {
  auto metric = ParseMetricRequest(req.body, opts_.max_query_series);
  if (!metric.ok()) return ErrorFromStatus(metric.status());
  if (metric->has_value()) {
    auto res = engine_->RunMetric(**metric);
    if (!res.ok()) return ErrorFromStatus(res.status());
    JsonWriter w;
    w.BeginObject();
    w.Key("status");
    w.String("success");
    w.Key("data");
    w.BeginObject();
    WriteMetricResult(*res, &w);
    if (!(*metric)->instant) {
      w.Key("step");
      w.Int((*metric)->step);
    }
    w.EndObject();
    w.Key("partial");
    w.Bool(res->partial);
    w.Key("warnings");
    w.BeginArray();
    for (const auto& m : res->warnings) w.String(m);
    w.EndArray();
    w.Key("stats");
    w.BeginObject();
    w.Key("files_opened");
    w.Uint(res->files_opened);
    w.Key("blocks_scanned");
    w.Uint(res->blocks_scanned);
    w.Key("blocks_from_headers");
    w.Uint(res->blocks_from_headers);
    w.Key("rows_processed");
    w.Uint(res->rows_processed);
    w.EndObject();
    w.EndObject();
    HttpResponse r;
    r.body = w.Take();
    return r;
  }
  auto q = ParseQueryRequest(req.body);
  if (!q.ok()) return ErrorFromStatus(q.status());
  auto res = engine_->Run(*q);
  if (!res.ok()) return ErrorFromStatus(res.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  WriteHits(res->hits, &w);
  w.EndArray();
  WritePartial(*res, &w);
  w.Key("stats");
  w.BeginObject();
  w.Key("files_considered");
  w.Uint(res->stats.files_considered);
  w.Key("files_pruned");
  w.Uint(res->stats.files_pruned);
  w.Key("files_opened");
  w.Uint(res->stats.files_opened);
  w.Key("pruned_by_time");
  w.Uint(res->stats.pruned_by_time);
  w.Key("pruned_by_labels");
  w.Uint(res->stats.pruned_by_labels);
  w.Key("pruned_by_filter");
  w.Uint(res->stats.pruned_by_filter);
  w.Key("pruned_by_limit");
  w.Uint(res->stats.pruned_by_limit);
  w.Key("blocks_scanned");
  w.Uint(res->stats.blocks_scanned);
  w.Key("block_groups_skipped");
  w.Uint(res->stats.block_groups_skipped);
  w.Key("remote_files_opened");
  w.Uint(res->stats.remote_files_opened);
  w.Key("remote_requests");
  w.Uint(res->stats.remote_requests);
  w.Key("remote_bytes");
  w.Uint(res->stats.remote_bytes);
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
