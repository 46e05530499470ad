// Loki's request parameters and answer pieces, shared by every Loki read
// endpoint (handler_loki_query.cc, handler_loki_meta.cc), with Loki's rules
// (grafana/loki pkg/loghttp/params.go) and error wording:
//
//   time       `1767225600` (≤ 10 digits: seconds), `1767225600000000000`
//              (longer: nanoseconds), `1767225600.5` (a dot: float seconds,
//              to the millisecond), else RFC 3339 / RFC3339Nano
//   step       float seconds (`30`, `0.5`) or a Prometheus duration
//              (`60000ms`, `1m`, `1h30m`)
//   direction  forward | backward, any case; default backward
//   limit      positive integer, default 100
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "server/http_server.h"

namespace loge {
class JsonWriter;
}

namespace loge::server {

inline constexpr int64_t kLokiNsPerSec = 1'000'000'000;
// Loki's default for `limit` on log queries.
inline constexpr int64_t kLokiDefaultLimit = 100;

// A request's parameters in order: a POST's form-encoded body first, then
// the URL's query string (Loki reads both through Go's ParseForm).
struct LokiForm {
  std::vector<std::pair<std::string, std::string>> values;
  // The first value of `name`, or "" when absent.
  std::string Get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> All(std::string_view name) const;
  bool Has(std::string_view name) const;
};

// InvalidArgument on a malformed %-escape.
Result<LokiForm> ReadLokiForm(const HttpRequest& req);

// Loki's parseTimestamp; `def` when v is empty. InvalidArgument with Go's
// strconv wording, or "out of range" when seconds overflow nanoseconds.
Result<int64_t> ParseLokiTime(const std::string& v, int64_t def);
// Loki's parseSecondsOrDuration, in ns (not checked for sign).
Result<int64_t> ParseLokiStep(const std::string& v);
// `forward` / `backward` in any case (default backward when empty):
// true for forward. InvalidArgument "invalid direction '<v>'" otherwise.
Result<bool> ParseLokiDirection(const std::string& v);
// Loki's limit: default when empty; InvalidArgument unless a positive
// integer; InvalidArgument with Loki's text above `max` (0 = no cap).
Result<int64_t> ParseLokiLimit(const std::string& v, int64_t def, int64_t max);

// [start, end] of a range endpoint: end (default now), start (default end
// minus `since`, else minus `default_window`). InvalidArgument names the
// parameter as Loki does; also when end is before start.
struct LokiRange {
  int64_t start = 0;
  int64_t end = 0;
};
Result<LokiRange> ParseLokiRange(const LokiForm& f, int64_t now, int64_t default_window);
// The last nanosecond of a window that ends, exclusively, at `end` (Loki's
// log queries): end - 1, or `end` itself when it is the smallest int64 —
// any time a client sends is a valid bound, never an overflow.
inline int64_t LastNanoBefore(int64_t end) { return end == std::numeric_limits<int64_t>::min() ? end : end - 1; }

// Loki's error body: the message and a newline as text/plain (Go's
// http.Error), with `status`.
HttpResponse LokiTextError(int status, const std::string& msg);
// A Status as a Loki text error: 400 for InvalidArgument, else the one
// Status -> HTTP mapping's code.
HttpResponse LokiTextError(const Status& st);
// A failed query as a Loki text error: 400 for InvalidArgument, 504 past
// --query-timeout and 499 for a client that left (as Loki), else 500.
HttpResponse LokiQueryError(const Status& st);

// {"k":"v",...} in the given order.
void WriteLokiLabels(const Labels& ls, JsonWriter* w);
// A sample time as Loki writes it: unix seconds, a number, with the
// milliseconds when there are any (1767229199.999).
void WriteLokiSampleTime(int64_t ns, JsonWriter* w);
// A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64).
std::string FormatLokiValue(double v);

}  // namespace loge::server
