// The route table (routes.h) and Server::Handle, which walks it.
#include "server/routes.h"

#include <string>

#include "server/handler_admin_tier.h"
#include "server/handler_delete.h"
#include "server/handler_explore.h"
#include "server/handler_ingest.h"
#include "server/server.h"
#include "server/web_assets.h"

namespace loge::server {

std::optional<std::string_view> MatchPattern(std::string_view pattern, std::string_view path) {
  const size_t open = pattern.find('{');
  if (open == std::string_view::npos) {
    if (pattern == path) return std::string_view();
    return std::nullopt;
  }
  const size_t close = pattern.find('}', open);
  const std::string_view prefix = pattern.substr(0, open);
  const std::string_view suffix = pattern.substr(close + 1);
  const std::string_view name = pattern.substr(open + 1, close - open - 1);
  if (path.size() < prefix.size() + suffix.size() || !path.starts_with(prefix) || !path.ends_with(suffix)) {
    return std::nullopt;
  }
  const std::string_view param = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (name.starts_with('/')) {  // {/rest...}: empty, or a subtree
    if (param.empty() || param.starts_with('/')) return param;
    return std::nullopt;
  }
  if (param.empty()) return std::nullopt;
  if (!name.ends_with("...") && param.find('/') != std::string_view::npos) return std::nullopt;
  return param;
}

RouteMatch FindRoute(std::span<const Route> routes, const HttpRequest& req) {
  for (const Route& r : routes) {
    auto param = MatchPattern(r.pattern, req.path);
    if (!param) continue;
    if (r.when != nullptr && !r.when(req)) continue;
    return RouteMatch{&r, *param};
  }
  return RouteMatch{};
}

RouteClass ClassOf(std::span<const Route> routes, const HttpRequest& req) {
  const RouteMatch m = FindRoute(routes, req);
  return m.route == nullptr ? RouteClass::kLight : m.route->cls;
}

bool MethodAllowed(const Route& r, std::string_view method) {
  if (r.methods == "*") return true;
  std::string_view rest = r.methods;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (one.starts_with(' ')) one.remove_prefix(1);
    if (one == method) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

namespace {

bool UnderPrefix(std::string_view p, std::string_view prefix) {
  return p.starts_with(prefix) && (p.size() == prefix.size() || p[prefix.size()] == '/');
}

// `/` is Elasticsearch's info call only when a shipper asks (IsEsProbe);
// a browser gets the web UI.
bool EsProbe(const HttpRequest& req) { return (req.method == "GET" || req.method == "HEAD") && IsEsProbe(req); }

// /<index>/_bulk at the root, but never for a path of the APIs (those stay
// a JSON 404 when unknown).
bool EsRootBulk(const HttpRequest& req) { return !IsApiPath(req.path); }

}  // namespace

bool IsApiPath(std::string_view p) {
  for (std::string_view prefix : {"/api", "/loki", "/otlp", "/prometheus"}) {
    if (UnderPrefix(p, prefix)) return true;
  }
  return false;
}

bool IsKeyedApiPath(std::string_view p) { return p.starts_with("/api/") || p.starts_with("/loki/api/"); }

std::span<const Route> Server::Routes() {
  using S = Server;
  using R = HttpRequest;
  using P = std::string_view;
  constexpr Access kOpen = Access::kOpen, kKey = Access::kApiKey;
  constexpr RouteClass kIngest = RouteClass::kIngest, kQuery = RouteClass::kQuery, kLight = RouteClass::kLight;
  static const Route kRoutes[] = {
      // ---- Pushes: open, so shippers need no key (docs/push-formats.md).
      {"/api/v1/push", "POST", kOpen, kIngest, [](S& s, R& r, P) { return s.HandlePush(r); }},
      {"/loki/api/v1/push", "POST", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleLokiPush(r); }},
      {"/otlp/v1/logs", "POST", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleOtlpLogs(r); }},
      {"/v1/logs", "POST", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleOtlpLogs(r); }},
      {"/insert/jsonline", "POST", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleJsonLine(r); }},
      // Elasticsearch: under /insert/elasticsearch, or at the root for the
      // paths only Elasticsearch has (/_bulk, /<index>/_bulk, /_license, …),
      // and / itself when an Elasticsearch client asks. Bulk rows come first.
      {"/insert/elasticsearch/_bulk", "POST, PUT", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleEsBulk(r, ""); }},
      {"/insert/elasticsearch/{index...}/_bulk", "POST, PUT", kOpen, kIngest,
       [](S& s, R& r, P index) { return s.HandleEsBulk(r, index); }},
      {"/insert/elasticsearch{/path...}", "*", kOpen, kIngest, [](S& s, R& r, P path) { return s.HandleEsApi(r, path); }},
      {"/_bulk", "POST, PUT", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleEsBulk(r, ""); }},
      {"/{index...}/_bulk", "POST, PUT", kOpen, kIngest, [](S& s, R& r, P index) { return s.HandleEsBulk(r, index); },
       false, EsRootBulk},
      {"/_{path...}", "*", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleEsApi(r, r.path); }},
      {"/", "GET, HEAD", kOpen, kIngest, [](S& s, R& r, P) { return s.HandleEsApi(r, "/"); }, false, EsProbe},
      // ---- Probes: open, like Loki's (docs/loki-api.md, "Metrics").
      {"/ready", "GET", kOpen, kLight, [](S& s, R& r, P) { return s.HandleReady(r); }},
      {"/metrics", "GET, HEAD", kOpen, kLight, [](S& s, R& r, P) { return s.HandleMetrics(r); }},
      // ---- Loki's read API. X-Scope-OrgID is accepted and ignored: one tenant.
      // The tail is a WebSocket (HandleUpgrade); a plain GET gets a 400 saying so.
      {"/loki/api/v1/tail", "GET", kKey, kQuery,
       [](S&, R&, P) {
         return ErrorFromStatus(Status::InvalidArgument(
             "GET /loki/api/v1/tail is a WebSocket endpoint: send Connection: Upgrade and Upgrade: websocket"));
       },
       true},
      {"/loki/api/v1/query_range", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiQuery(r, true); }},
      {"/loki/api/v1/query", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiQuery(r, false); }},
      {"/loki/api/v1/labels", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiLabels(r); }},
      {"/loki/api/v1/label/{name}/values", "GET, POST", kKey, kQuery,
       [](S& s, R& r, P name) { return s.HandleLokiLabelValues(r, name); }},
      {"/loki/api/v1/series", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiSeries(r); }},
      {"/loki/api/v1/index/stats", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiIndexStats(r); }},
      {"/loki/api/v1/index/volume", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiVolume(r, false); }},
      {"/loki/api/v1/index/volume_range", "GET, POST", kKey, kQuery,
       [](S& s, R& r, P) { return s.HandleLokiVolume(r, true); }},
      {"/loki/api/v1/format_query", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiFormatQuery(r); }},
      {"/loki/api/v1/drilldown-limits", "GET", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiDrilldownLimits(r); }},
      // The delete API (handler_delete.h): create, list, cancel.
      {"/loki/api/v1/delete", "GET, POST, DELETE", kKey, kQuery,
       [](S& s, R& r, P) { return HandleDelete(s.store_.get(), r); }},
      {"/loki/api/v1/status/buildinfo", "GET", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLokiBuildInfo(r); }},
      // Logs Drilldown's tabs (handler_loki_detected.cc).
      {"/loki/api/v1/detected_labels", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleDetectedLabels(r); }},
      {"/loki/api/v1/detected_fields", "GET, POST", kKey, kQuery,
       [](S& s, R& r, P) { return s.HandleDetectedFields(r, ""); }},
      {"/loki/api/v1/detected_field/{name...}/values", "GET, POST", kKey, kQuery,
       [](S& s, R& r, P name) { return s.HandleDetectedFields(r, name); }},
      {"/loki/api/v1/patterns", "GET, POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandlePatterns(r); }},
      // ---- loge's own read and admin API.
      {"/api/v1/query", "POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleQuery(r); }},
      {"/api/v1/search/plan", "GET", kKey, kQuery, [](S& s, R& r, P) { return s.HandleSearchPlan(r); }},
      {"/api/v1/labels", "GET", kKey, kQuery, [](S& s, R& r, P) { return s.HandleLabels(r); }},
      {"/api/v1/label/{name...}/values", "GET", kKey, kQuery,
       [](S& s, R& r, P name) { return HandleLabelValues(s.engine_.get(), r, name); }},
      {"/api/v1/volume", "GET", kKey, kQuery, [](S& s, R& r, P) { return HandleVolume(s.engine_.get(), r); }},
      {"/api/v1/stats", "GET", kKey, kQuery, [](S& s, R& r, P) { return s.HandleStats(r); }},
      {"/api/v1/admin/compact", "POST", kKey, kQuery, [](S& s, R& r, P) { return s.HandleCompact(r); }},
      {"/api/v1/delete", "GET, POST, DELETE", kKey, kQuery,
       [](S& s, R& r, P) { return HandleDelete(s.store_.get(), r); }},
      {"/api/v1/admin/deletes", "POST", kKey, kQuery, [](S& s, R& r, P) { return HandleAdminDeletes(s.store_.get(), r); }},
      {"/api/v1/admin/rotate", "POST", kKey, kQuery, [](S& s, R& r, P) { return HandleAdminRotate(s.store_.get(), r); }},
  };
  return kRoutes;
}

std::optional<HttpResponse> Server::Gate(const Route& route, const HttpRequest& req) const {
  if (route.access == Access::kApiKey && !auth_->Allows(req.Header("authorization"))) return Unauthorized(req);
  if (!MethodAllowed(route, req.method)) {
    HttpResponse r = ErrorFromStatus(Status::InvalidArgument("method " + req.method + " not allowed on " + req.path));
    r.status = 405;
    r.headers.emplace_back("Allow", std::string(route.methods));
    return r;
  }
  return std::nullopt;
}

HttpResponse Server::Unauthorized(const HttpRequest& req) {
  HttpResponse r = ErrorFromStatus(Status::InvalidArgument(
      req.Header("authorization").empty() ? "missing API key: send Authorization: Bearer <key>" : "wrong API key"));
  r.status = 401;
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"loge\"");
  return r;
}

HttpResponse Server::Handle(HttpRequest& req) {
  const RouteMatch m = FindRoute(Routes(), req);
  if (m.route == nullptr) {
    // Unknown paths of the APIs answer 404 with a JSON reason: never the UI
    // page (clients would fail parsing HTML) and never 405 (shippers treat a
    // 405 as final and drop their data). Under /api/ and /loki/api/ the key
    // comes first, as for the known paths there.
    if (IsKeyedApiPath(req.path) && !auth_->Allows(req.Header("authorization"))) return Unauthorized(req);
    if (IsApiPath(req.path)) return ErrorFromStatus(Status::NotFound("no route for " + req.method + " " + req.path));
    // Everything else is the embedded web UI (index.html for any path it
    // does not hold, so client-side routes survive a reload).
    return ServeUi(req);
  }
  if (auto refused = Gate(*m.route, req)) return std::move(*refused);
  return m.route->handle(*this, req, m.param);
}

}  // namespace loge::server
