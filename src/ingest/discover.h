// What Loki adds to pushed data, so queries group and select as Grafana
// expects: a `service_name` stream label (from the first of service, app,
// application, …, job; else "unknown_service") and a `detected_level`
// structured-metadata entry on every line (from a level-like stream label,
// metadata field, the line's logfmt/JSON level field or level words; else
// "unknown"), normalised to trace, debug, info, warn, error, critical,
// fatal.
//
// Applied to a decoded payload before store::Store::Push by the push paths
// that follow Loki (its push API, OTLP, loge's own push: Server::
// StoreDiscovered), as flags --discover-service-name and
// --discover-log-levels allow (both on by default). The one place that
// decides detected_level: OTLP's severity arrives here as metadata.
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/types.h"

namespace loge::ingest {

struct DiscoverOptions {
  bool service_name = true;  // --discover-service-name: add service_name to streams
  bool log_levels = true;    // --discover-log-levels: add detected_level to entries
};

// Adds service_name and detected_level as configured. Labels stay sorted.
void DiscoverFields(const DiscoverOptions& opts, Payload* p);

// The labels service_name is taken from, first present wins (Loki's
// discover_service_name default), and the fields a level is read from
// (Loki's log_level_fields default), in order; for /drilldown-limits.
std::span<const std::string_view> ServiceNameLabels();
std::span<const std::string_view> LogLevelFields();

// The level of one entry (Loki's rules); never empty.
std::string DetectLevel(const Labels& stream, std::string_view metadata_json, std::string_view line);

}  // namespace loge::ingest
