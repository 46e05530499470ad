// GET /api/v1/label/<name>/values and GET /api/v1/volume (see handler_explore.h).
//
// Both are answered by the query layer (Engine::LabelValuesOf and
// Engine::VolumeOf), on the same plan and scanner as queries; this file
// only reads parameters and writes the answers.
#include "server/handler_explore.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "server/server.h"

namespace loge::server {

namespace {

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
  q->SetSelector(std::move(*sel));
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

HttpResponse HandleLabelValues(query::Engine* engine, const HttpRequest& req, std::string_view name) {
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

  auto lv = engine->LabelValuesOf(q, std::string(name), kMaxLabelValues);
  if (!lv.ok()) return ErrorFromStatus(lv.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const auto& v : lv->values) w.String(v);
  w.EndArray();
  w.Key("truncated");
  w.Bool(lv->truncated);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse HandleVolume(query::Engine* engine, const HttpRequest& req) {
  auto params = ReadParams(req);
  if (!params.ok()) return ErrorFromStatus(params.status());
  query::Query q;
  q.end = NowNanos();
  Status st = ParseTimeParam(*params, "end", &q.end);
  if (__builtin_sub_overflow(q.end, kDefaultVolumeWindowNs, &q.start)) q.start = std::numeric_limits<int64_t>::min();
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
  auto vol = engine->VolumeOf(q, step, steps, kMaxVolumeRows);
  if (!vol.ok()) return ErrorFromStatus(vol.status());
  const query::Volume& v = *vol;
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
