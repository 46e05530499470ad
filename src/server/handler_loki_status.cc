// Loki's small informational endpoints (docs/loki-api.md):
//
//   GET      /loki/api/v1/drilldown-limits   what Logs Drilldown reads to size its UI
//   GET      /loki/api/v1/status/buildinfo   version and build facts
//   GET/POST /loki/api/v1/format_query       a LogQL query written the canonical way
#include "core/json_writer.h"
#include "core/version.h"
#include "ingest/discover.h"
#include "query/logql.h"
#include "server/loki_params.h"
#include "server/server.h"

namespace loge::server {

namespace {

// A duration as Prometheus' model.Duration prints it, which is how Loki
// reports retention_period: the largest units first (y, w, d, h, m, s, ms),
// "0s" for zero.
std::string ModelDuration(Duration d) {
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms <= 0) return "0s";
  std::string out;
  const std::pair<const char*, int64_t> units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000},
                                                   {"d", 86400000},         {"h", 3600000},
                                                   {"m", 60000},            {"s", 1000},
                                                   {"ms", 1}};
  for (const auto& [name, size] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

void KeyString(JsonWriter* w, std::string_view k, std::string_view v) {
  w->Key(k);
  w->String(v);
}

}  // namespace

// The fields Loki publishes (its drilldown_config allow-list), filled from
// loge's own settings: volume and patterns are always on, discovery follows
// --discover-*, the entry cap --max-entries-limit-per-query, the series cap
// --max-query-series; loge has no query length, lookback, range or timeout
// limits and no retention ("0s" each, Loki's spelling of none).
HttpResponse Server::HandleLokiDrilldownLimits(HttpRequest&) {
  JsonWriter w;
  w.BeginObject();
  w.Key("limits");
  w.BeginObject();
  w.Key("discover_log_levels");
  w.Bool(opts_.discover.log_levels);
  w.Key("discover_service_name");
  w.BeginArray();
  if (opts_.discover.service_name) {
    for (auto l : ingest::ServiceNameLabels()) w.String(l);
  }
  w.EndArray();
  w.Key("log_level_fields");
  w.BeginArray();
  for (auto l : ingest::LogLevelFields()) w.String(l);
  w.EndArray();
  w.Key("max_entries_limit_per_query");
  w.Int(opts_.max_entries_limit_per_query);
  w.Key("max_line_size_truncate");
  w.Bool(false);
  KeyString(&w, "max_query_bytes_read", "0B");
  KeyString(&w, "max_query_length", "0s");
  KeyString(&w, "max_query_lookback", "0s");
  KeyString(&w, "max_query_range", "0s");
  w.Key("max_query_series");
  w.Uint(opts_.max_query_series);
  w.Key("metric_aggregation_enabled");
  w.Bool(false);
  // OTLP resource attributes that become stream labels (--otlp-resource-labels).
  w.Key("otlp_config");
  w.BeginObject();
  w.Key("resource_attributes");
  w.BeginObject();
  w.Key("attributes_config");
  w.BeginArray();
  w.BeginObject();
  KeyString(&w, "action", "index_label");
  w.Key("attributes");
  w.BeginArray();
  for (const auto& a : opts_.otlp.label_attributes) w.String(a);
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndObject();
  w.Key("pattern_persistence_enabled");
  w.Bool(false);
  KeyString(&w, "query_timeout", "0s");
  KeyString(&w, "retention_period", ModelDuration(opts_.store.retention.max_age));
  w.Key("volume_enabled");
  w.Bool(true);
  w.Key("volume_max_series");
  w.Uint(opts_.max_query_series);
  w.EndObject();
  w.Key("pattern_ingester_enabled");
  w.Bool(true);
  KeyString(&w, "version", kVersion);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse Server::HandleLokiBuildInfo(HttpRequest&) {
  JsonWriter w;
  w.BeginObject();
  KeyString(&w, "version", kVersion);
  KeyString(&w, "revision", "");
  KeyString(&w, "branch", "");
  KeyString(&w, "buildUser", "");
  KeyString(&w, "buildDate", "");
  KeyString(&w, "goVersion", "");
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

// Loki answers a query that does not parse with 400 and a JSON body here
// (not the text its query endpoints use).
HttpResponse Server::HandleLokiFormatQuery(HttpRequest& req) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return LokiTextError(f.status());
  auto formatted = query::FormatQuery(f->Get("query"));
  JsonWriter w;
  w.BeginObject();
  HttpResponse r;
  if (!formatted.ok()) {
    r.status = 400;
    KeyString(&w, "status", "invalid-query");
    KeyString(&w, "error", formatted.status().message());
  } else {
    KeyString(&w, "status", "success");
    KeyString(&w, "data", *formatted);
  }
  w.EndObject();
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
