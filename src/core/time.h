// Time parsing: Go-style durations ("500ms", "1h30m") and timestamps.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loge {

using Duration = std::chrono::nanoseconds;

// Parses a Go duration: an optional sign, then one or more decimal numbers
// (fractions allowed) each with a unit of ns, us (or µs), ms, s, m, h. "0" alone
// is allowed. Returns InvalidArgument with the offending text otherwise.
Result<Duration> ParseDuration(std::string_view s);

// Formats like Go's time.Duration.String(): "1h30m0s", "500ms", "0s".
std::string FormatDuration(Duration d);

// Parses a decimal int64 ("1700000000000000000"); no sign other than '-',
// no spaces, no overflow.
bool ParseInt64(std::string_view s, int64_t* out);

// Parses a byte size: digits with an optional unit B, KB, MB, GB (powers of
// 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive: "64MiB", "1000".
Result<uint64_t> ParseByteSize(std::string_view s);

// Parses RFC 3339 ("2026-06-01T00:00:00Z", "2026-06-01T02:00:00.123+02:00")
// into unix nanoseconds.
Result<int64_t> ParseRfc3339(std::string_view s);

// Formats unix nanoseconds as local-time RFC 3339 with milliseconds
// ("2026-06-01T02:00:00.123+02:00").
std::string FormatLocalRfc3339Millis(int64_t ns);

// Unix nanoseconds now, from the system clock.
int64_t NowNanos();

}  // namespace loge
