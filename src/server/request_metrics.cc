#include "server/request_metrics.h"

namespace loge::server {

namespace {

constexpr std::string_view kPushEndpoints[] = {
    "/api/v1/push", "/loki/api/v1/push", "/otlp/v1/logs", "/v1/logs", "/insert/jsonline", "/_bulk",
};
constexpr std::string_view kQueryEndpoints[] = {
    "/loki/api/v1/query_range",   "/loki/api/v1/query",          "/loki/api/v1/labels",
    "/loki/api/v1/label/:name/values", "/loki/api/v1/series",    "/loki/api/v1/index/stats",
    "/loki/api/v1/index/volume",  "/loki/api/v1/index/volume_range", "/loki/api/v1/detected_labels",
    "/loki/api/v1/detected_fields", "/loki/api/v1/detected_field/:name/values", "/loki/api/v1/patterns",
    "/loki/api/v1/tail",          "/api/v1/query",               "/api/v1/labels",
    "/api/v1/label/:name/values", "/api/v1/volume",              "/api/v1/search/plan",
};

// `path` as prefix + one segment + suffix becomes prefix + ":name" + suffix.
bool NamedSegment(std::string_view path, std::string_view prefix, std::string_view suffix) {
  if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size()) {
    return false;
  }
  std::string_view name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  return name.find('/') == std::string_view::npos;
}

}  // namespace

RequestMetrics::RequestMetrics() {
  for (auto e : kPushEndpoints) push_.emplace(std::string(e), std::make_unique<Histogram>());
  for (auto e : kQueryEndpoints) query_.emplace(std::string(e), std::make_unique<Histogram>());
}

std::string RequestMetrics::Endpoint(std::string_view path, bool* push) {
  *push = false;
  for (auto e : kPushEndpoints) {
    if (path == e) {
      *push = true;
      return std::string(e);
    }
  }
  // Elasticsearch bulk, at the root, per index, or under /insert/elasticsearch.
  if (path.ends_with("/_bulk")) {
    *push = true;
    return "/_bulk";
  }
  for (auto e : kQueryEndpoints) {
    if (path == e) return std::string(e);
  }
  if (NamedSegment(path, "/loki/api/v1/label/", "/values")) return "/loki/api/v1/label/:name/values";
  if (NamedSegment(path, "/loki/api/v1/detected_field/", "/values")) return "/loki/api/v1/detected_field/:name/values";
  if (NamedSegment(path, "/api/v1/label/", "/values")) return "/api/v1/label/:name/values";
  return "";
}

void RequestMetrics::Observe(std::string_view path, double seconds) {
  bool push;
  const std::string e = Endpoint(path, &push);
  if (e.empty()) return;
  auto& m = push ? push_ : query_;
  if (auto it = m.find(e); it != m.end()) it->second->Observe(seconds);
}

void RequestMetrics::Write(MetricsWriter* w) const {
  auto family = [&](const auto& m, std::string_view name, std::string_view help) {
    w->Family(name, "histogram", help);
    for (const auto& [endpoint, h] : m) {
      const Histogram::Snapshot s = h->Take();
      if (s.count > 0) w->HistogramSamples(name, s, {{"endpoint", endpoint}});
    }
  };
  family(push_, "loge_push_duration_seconds",
         "Time from a push request's arrival at its handler to its answer (WAL fsync included when durable).");
  family(query_, "loge_query_duration_seconds",
         "Time to answer a read request, by endpoint (for the tail: the upgrade and its backfill query).");
}

}  // namespace loge::server
