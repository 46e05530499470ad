// Loki's parameter rules (loki_params.h).
#include "server/loki_params.h"

#include <cmath>
#include <cstdlib>

#include "core/time.h"
#include "query/logql.h"
#include "server/handler_explore.h"

namespace loge::server {

namespace {
constexpr int64_t kNsPerSec = 1'000'000'000;
}  // namespace

HttpResponse LokiError(int status, const std::string& msg) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = msg + "\n";
  return r;
}

std::string Form::Get(const std::string& name) const {
  for (const auto& [k, v] : values) {
    if (k == name) return v;
  }
  return "";
}

Result<Form> ReadForm(const HttpRequest& req) {
  Form f;
  if (req.method == "POST" && !req.body.empty()) {
    LOGE_ASSIGN_OR_RETURN(f.values, ParseQueryString(req.body));
  }
  LOGE_ASSIGN_OR_RETURN(auto q, ParseQueryString(req.query));
  f.values.insert(f.values.end(), q.begin(), q.end());
  return f;
}

// Loki's parseTimestamp.
Result<int64_t> ParseLokiTime(const std::string& v, int64_t def) {
  if (v.empty()) return def;
  if (v.find('.') != std::string::npos) {
    char* end = nullptr;
    double t = std::strtod(v.c_str(), &end);
    if (end == v.c_str() + v.size() && std::fabs(t) < 9e9) {
      double s = std::trunc(t);
      double frac = std::round((t - s) * 1000) / 1000;
      return static_cast<int64_t>(s) * kNsPerSec + static_cast<int64_t>(frac * kNsPerSec);
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
    if (__builtin_mul_overflow(n, kNsPerSec, &ns)) {
      return Status::InvalidArgument("parsing " + query::GoQuote(v) + ": out of range");
    }
    return ns;
  }
  return n;
}

// Loki's parseSecondsOrDuration, in ns.
Result<int64_t> ParseStep(const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (!v.empty() && end == v.c_str() + v.size() && !std::isspace(static_cast<unsigned char>(v[0]))) {
    if (!(std::fabs(d) < 9e9)) return Status::InvalidArgument("cannot parse " + query::GoQuote(v) + " to a valid duration. It overflows int64");
    return static_cast<int64_t>(d * kNsPerSec);
  }
  auto p = query::ParsePromDuration(v);
  if (p.ok()) return *p;
  return Status::InvalidArgument("cannot parse " + query::GoQuote(v) + " to a valid duration");
}

}  // namespace loge::server
