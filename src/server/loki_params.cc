#include "server/loki_params.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "server/handler_explore.h"
#include "server/server.h"

namespace loge::server {

std::string LokiForm::Get(std::string_view name) const {
  for (const auto& [k, v] : values) {
    if (k == name) return v;
  }
  return "";
}

std::vector<std::string> LokiForm::All(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values) {
    if (k == name) out.push_back(v);
  }
  return out;
}

bool LokiForm::Has(std::string_view name) const {
  for (const auto& kv : values) {
    if (kv.first == name) return true;
  }
  return false;
}

Result<LokiForm> ReadLokiForm(const HttpRequest& req) {
  LokiForm f;
  if (req.method == "POST" && !req.body.empty()) {
    LOGE_ASSIGN_OR_RETURN(f.values, ParseQueryString(req.body));
  }
  LOGE_ASSIGN_OR_RETURN(auto q, ParseQueryString(req.query));
  f.values.insert(f.values.end(), q.begin(), q.end());
  return f;
}

Result<int64_t> ParseLokiTime(const std::string& v, int64_t def) {
  if (v.empty()) return def;
  if (v.find('.') != std::string::npos) {
    char* end = nullptr;
    double t = std::strtod(v.c_str(), &end);
    if (end == v.c_str() + v.size() && std::fabs(t) < 9e9) {
      double s = std::trunc(t);
      double frac = std::round((t - s) * 1000) / 1000;  // Loki keeps milliseconds
      return static_cast<int64_t>(s) * kLokiNsPerSec + static_cast<int64_t>(frac * kLokiNsPerSec);
    }
  }
  int64_t n;
  if (!ParseInt64(v, &n)) {
    auto t = ParseRfc3339(v);
    if (t.ok()) return *t;
    return Status::InvalidArgument("strconv.ParseInt: parsing " + query::GoQuote(v) + ": invalid syntax");
  }
  if (v.size() <= 10) {  // seconds; 10 digits may still overflow in ns
    int64_t ns;
    if (__builtin_mul_overflow(n, kLokiNsPerSec, &ns)) {
      return Status::InvalidArgument("parsing " + query::GoQuote(v) + ": out of range");
    }
    return ns;
  }
  return n;
}

Result<int64_t> ParseLokiStep(const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (!v.empty() && end == v.c_str() + v.size() && !std::isspace(static_cast<unsigned char>(v[0]))) {
    if (!(std::fabs(d) < 9e9)) {
      return Status::InvalidArgument("cannot parse " + query::GoQuote(v) + " to a valid duration. It overflows int64");
    }
    return static_cast<int64_t>(d * kLokiNsPerSec);
  }
  auto p = query::ParsePromDuration(v);
  if (p.ok()) return *p;
  return Status::InvalidArgument("cannot parse " + query::GoQuote(v) + " to a valid duration");
}

Result<bool> ParseLokiDirection(const std::string& v) {
  if (v.empty()) return false;
  std::string up = v;
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up != "FORWARD" && up != "BACKWARD") return Status::InvalidArgument("invalid direction '" + v + "'");
  return up == "FORWARD";
}

Result<int64_t> ParseLokiLimit(const std::string& v, int64_t def, int64_t max) {
  int64_t limit = def;
  if (!v.empty()) {
    if (!ParseInt64(v, &limit)) {
      return Status::InvalidArgument("strconv.Atoi: parsing " + query::GoQuote(v) + ": invalid syntax");
    }
    if (limit <= 0) return Status::InvalidArgument("limit must be a positive value");
  }
  if (max > 0 && limit > max) {
    return Status::InvalidArgument("max entries limit per query exceeded, limit > max_entries_limit_per_query (" +
                                   std::to_string(limit) + " > " + std::to_string(max) + ")");
  }
  return limit;
}

Result<LokiRange> ParseLokiRange(const LokiForm& f, int64_t now, int64_t default_window) {
  int64_t since = default_window;
  if (std::string s = f.Get("since"); !s.empty()) {
    auto d = query::ParsePromDuration(s);
    if (!d.ok()) return Status::InvalidArgument("could not parse 'since' parameter: " + d.status().message());
    since = *d;
  }
  LokiRange r;
  auto e = ParseLokiTime(f.Get("end"), now);
  if (!e.ok()) return Status::InvalidArgument("could not parse 'end' parameter: " + e.status().message());
  r.end = *e;
  int64_t def_start;
  if (__builtin_sub_overflow(std::min(r.end, now), since, &def_start)) def_start = std::numeric_limits<int64_t>::min();
  auto s = ParseLokiTime(f.Get("start"), def_start);
  if (!s.ok()) return Status::InvalidArgument("could not parse 'start' parameter: " + s.status().message());
  r.start = *s;
  if (r.end < r.start) return Status::InvalidArgument("end timestamp must not be before or equal to start time");
  return r;
}

HttpResponse LokiTextError(int status, const std::string& msg) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = msg + "\n";
  return r;
}

HttpResponse LokiTextError(const Status& st) {
  int code = st.code() == Code::kInvalidArgument ? 400 : ErrorFromStatus(st).status;
  return LokiTextError(code, st.message());
}

HttpResponse LokiQueryError(const Status& st) {
  switch (st.code()) {
    case Code::kInvalidArgument: return LokiTextError(400, st.message());
    case Code::kDeadlineExceeded:
    case Code::kCancelled: return LokiTextError(ErrorFromStatus(st).status, st.message());
    default: return LokiTextError(500, st.message());
  }
}

void WriteLokiLabels(const Labels& ls, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [k, v] : ls) {
    w->Key(k);
    w->String(v);
  }
  w->EndObject();
}

void WriteLokiSampleTime(int64_t ns, JsonWriter* w) {
  int64_t ms = ns / 1'000'000;
  if (ms % 1000 == 0) {
    w->Int(ms / 1000);
    return;
  }
  // The sign apart: -0.5 s has 0 whole seconds, and "%lld" of 0 has none.
  const uint64_t abs_ms = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%llu.%03llu", ms < 0 ? "-" : "", static_cast<unsigned long long>(abs_ms / 1000),
                static_cast<unsigned long long>(abs_ms % 1000));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  w->Raw(s);
}

std::string FormatLokiValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // The shortest digits that read back as v, no exponent.
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

}  // namespace loge::server
