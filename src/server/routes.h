// The route table: every HTTP endpoint loge serves, each with its path
// pattern, its methods and whether it needs the API key (Server::Routes in
// routes.cc lists them; docs/loki-api.md, "Routing and auth").
//
// A request goes to the first route whose pattern (and `when`, if set)
// matches its path; the gate then answers 401 when the route needs the key
// and the request lacks it, 405 with Allow when the method is not the
// route's, and only then calls the handler. A new endpoint is a new row, and
// a row must say its access: no endpoint can skip the gate.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "server/http_server.h"

namespace loge::server {

class Server;

enum class Access {
  kOpen,    // pushes, probes, /ready, /metrics: no key asked
  kApiKey,  // reads and administration: --api-key, when set, is required
};

// Which handler threads serve a route (HttpServer's pools, one per class;
// docs/reliability.md, "Queries cannot starve ingestion"): a class never
// waits for another's threads, so queries cannot hold up a push or a probe.
// The values are the pools' indexes (Server::PoolsFor).
enum class RouteClass {
  kIngest = 0,  // pushes and the shippers' probes: may wait for the WAL's fsync
  kQuery = 1,   // reads and administration: --max-concurrent-queries, --query-timeout
  kLight = 2,   // /ready, /metrics, the web UI and unknown paths: answered from memory
};

struct Route {
  // The path, literal except for at most one {parameter}:
  //   {name}     one non-empty segment without '/'
  //   {name...}  a non-empty rest that may hold '/'
  //   {/name...} nothing, or '/' and anything (a subtree under the prefix)
  // The handler gets the parameter's text (or "" when the pattern has none).
  std::string_view pattern;
  // "GET, POST" (also the Allow header of a 405), or "*" for any method
  // (the handler decides, as Elasticsearch's catch-all paths do).
  std::string_view methods;
  Access access;
  RouteClass cls;
  HttpResponse (*handle)(Server& s, HttpRequest& req, std::string_view param);
  // A WebSocket endpoint: HandleUpgrade gates it and then upgrades; a plain
  // request goes to `handle`.
  bool websocket = false;
  // An extra condition on the request (e.g. `/` only for an Elasticsearch
  // client's probe); null = always.
  bool (*when)(const HttpRequest& req) = nullptr;
};

// The parameter's text when `path` fits `pattern`; nullopt otherwise.
std::optional<std::string_view> MatchPattern(std::string_view pattern, std::string_view path);

struct RouteMatch {
  const Route* route = nullptr;  // null: no route takes the path
  std::string_view param;
};

// The class of a request: its route's, or kLight for a path no route takes
// (a 404 or the web UI).
RouteClass ClassOf(std::span<const Route> routes, const HttpRequest& req);

// The first route of `routes` that takes `req` (path and `when`; the method
// is the gate's business, so a known path with a wrong method is a 405).
RouteMatch FindRoute(std::span<const Route> routes, const HttpRequest& req);

bool MethodAllowed(const Route& r, std::string_view method);

// The prefixes of loge's, Loki's, OTLP's and Prometheus' APIs: a path under
// one that no route takes is a JSON 404, never the web UI.
bool IsApiPath(std::string_view path);

// Under /api/ or /loki/api/: an unknown path there needs the key before it
// learns it is unknown (401, then 404), like the known ones.
bool IsKeyedApiPath(std::string_view path);

}  // namespace loge::server
