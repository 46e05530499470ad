// The read endpoints behind the web UI's autocompletion and histogram:
//
//   GET /api/v1/label/<name>/values[?start=&end=&query=]
//       {"status":"success","data":["api","web"],"truncated":false}
//       The distinct values of one label, sorted, over the streams that
//       match `query` (a LogQL selector; its stages are ignored) and have
//       rows in [start, end] (default: all time; in files, to the
//       granularity of a block). At most kMaxLabelValues; more sets
//       truncated.
//
//   GET /api/v1/volume?query=&start=&end=&step=
//       {"status":"success","data":{"start":…,"end":…,"step":…,"counts":[…],
//        "total":N,"rows_scanned":N,"truncated":false}}
//       How many rows match `query` (a LogQL selector with line and label
//       filter stages; empty = every row) in each step of [start, end]: counts[i] covers
//       [start + i*step, start + (i+1)*step), the last step also its end
//       (ceil((end - start) / step) steps, at most kMaxVolumeSteps). step
//       is a duration ("30s") or nanoseconds, by default (end - start) / 100,
//       and start defaults to an hour before end. The scan stops after
//       kMaxVolumeRows rows in the window and then says truncated: true
//       (the counts are then lower bounds).
//
// Times are unix nanoseconds or RFC 3339; end defaults to now. Errors are
// 400 naming the parameter; a bad selector's message starts with its
// line:col like POST /api/v1/query.
//
// Thread-safety: stateless functions; the Engine is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "query/engine.h"
#include "server/http_server.h"

namespace loge::server {

// Distinct values a label-values answer lists at most: enough for any
// autocompletion list, small enough to answer fast on high-cardinality labels.
inline constexpr size_t kMaxLabelValues = 10000;
// Histogram bars a volume answer may have: more than any screen shows.
inline constexpr int64_t kMaxVolumeSteps = 1000;
// Rows a volume answer examines at most: under a second of scanning on one
// core (about 7 million rows/s measured), so a histogram never holds a
// handler thread for long.
inline constexpr uint64_t kMaxVolumeRows = 5'000'000;

HttpResponse HandleLabelValues(query::Engine* engine, const HttpRequest& req, std::string_view name);
HttpResponse HandleVolume(query::Engine* engine, const HttpRequest& req);

// Splits a raw query string into decoded (name, value) pairs: '+' is a space
// and %XX a byte. InvalidArgument on a malformed escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseQueryString(std::string_view raw);

}  // namespace loge::server
