// Server: the `loge serve` process. Owns the store (write path), the query
// engine (read path) and the HTTP server, and routes requests between them.
//
// Threads: see HttpServer (I/O and handler pools) and Store (flush
// workers, ticker, checkpointer). Server itself adds none.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ingest/decode_es_bulk.h"
#include "ingest/decode_json.h"
#include "ingest/decode_otlp.h"
#include "ingest/discover.h"
#include "store/store.h"
#include "query/engine.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/routes.h"
#include "server/syslog_listener.h"
#include "server/tail.h"

namespace loge {
class JsonWriter;
}
namespace loge::tier {
class ObjectStore;
}
namespace loge::query {
struct Expr;
struct MetricQuery;
struct MetricResult;
}

namespace loge::server {

class RequestMetrics;

struct ServerOptions {
  std::string api_key;  // --api-key: bearer token for every read endpoint; empty = open
  store::StoreOptions store;
  ingest::Limits limits;
  query::EngineOptions engine;
  HttpServerOptions http;
  // The cold tier's bucket, or null when none is configured (then
  // GET /api/v1/search/plan lists no segments). Not owned; must outlive
  // the Server.
  tier::ObjectStore* object_store = nullptr;
  // service_name / detected_level discovery on push (ingest/discover.h).
  ingest::DiscoverOptions discover;
  // Most series a metric query may answer with (Loki's max_query_series).
  size_t max_query_series = 500;
  // --max-entries-limit-per-query: the largest `limit` a Loki log query may
  // ask for (Loki's max_entries_limit_per_query; 400 beyond); 0 = no cap.
  int64_t max_entries_limit_per_query = 5000;
  // Lifetime of the presigned URLs the search plan hands out (default 15 min).
  std::chrono::seconds presign_expiry{900};
  // POST /otlp/v1/logs: which resource attributes become labels.
  ingest::OtlpOptions otlp;
  // POST /_bulk: the message, time and stream fields (--es-*-field(s)).
  ingest::EsBulkOptions es;
  // --es-version: the Elasticsearch version GET / reports to shippers.
  std::string es_version = "8.17.0";
  // --syslog-listen: "host:port" for syslog over TCP and UDP; "" = off.
  std::string syslog_listen;
  // GET /loki/api/v1/tail: each tailer's queue (--tail-queue-size).
  TailOptions tail;
  // ---- Reader isolation (docs/reliability.md, "Queries cannot starve
  // ingestion"): reads run on their own handler threads.
  // --query-timeout: a read request running longer is stopped and answered
  // 504 (Loki's query_timeout, default 1m); zero = none.
  std::chrono::milliseconds query_timeout{60'000};
  // --max-concurrent-queries: read requests queued or running at once (and
  // the read pool's threads); one more is answered 429 with Retry-After.
  int max_concurrent_queries = 16;
  // --max-query-size: largest body or query string of a read request, 413
  // before it is parsed (default 64 KiB).
  size_t max_query_bytes = 64 << 10;
};

class Server {
 public:
  // Opens the store (replaying the WAL) and then starts listening, so the
  // port opens only once every acknowledged line is queryable again.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // The syslog port (TCP and UDP), or 0 when --syslog-listen is off.
  int syslog_port() const;
  // Graceful stop: stop accepting, finish in-flight requests, flush every
  // batch, close the WAL. Idempotent.
  Status Shutdown();

  // Routes one request through the route table (exposed for tests that
  // skip the socket).
  HttpResponse Handle(HttpRequest& req);
  // What the HTTP server runs, on a handler thread, for every request it
  // read: HandleFromSocket (a read's size check and deadline, then Handle),
  // timed in /metrics. Public so a request parsed without a socket takes
  // the same path (http_request_fuzz.cc).
  HttpResponse Serve(HttpRequest& req);
  // The same for a WebSocket upgrade request (HandleUpgrade, timed). An
  // accepted answer's handler must get OnClose once the caller is done.
  UpgradeAnswer ServeUpgrade(HttpRequest& req);
  // The HTTP server's options for `opts`: its pools (ingest, query, light,
  // in RouteClass order, with their body limits and caps) and the classifier
  // that picks a request's pool.
  static HttpServerOptions PoolsFor(const ServerOptions& opts);
  // Every endpoint: path pattern, methods, access, handler (routes.cc). Tests
  // iterate it, so a new route is covered by the auth test automatically.
  static std::span<const Route> Routes();

 private:
  Server() = default;
  // The route's gate: 401 (with WWW-Authenticate) when it needs the key and
  // the request lacks it, then 405 (with Allow) for a method it does not
  // take; nullopt lets the request through. Handle and HandleUpgrade both
  // call it.
  std::optional<HttpResponse> Gate(const Route& route, const HttpRequest& req) const;
  static HttpResponse Unauthorized(const HttpRequest& req);
  HttpResponse HandlePush(HttpRequest& req);
  HttpResponse HandleLokiPush(HttpRequest& req);  // handler_loki.cc
  HttpResponse HandleReady(HttpRequest& req);     // handler_loki.cc
  HttpResponse HandleOtlpLogs(HttpRequest& req);  // handler_otlp.cc
  HttpResponse HandleJsonLine(HttpRequest& req);  // handler_jsonline.cc
  // handler_es.cc: POST /[<index>/]_bulk, and the other Elasticsearch
  // paths (`api_path` is the path below the root or /insert/elasticsearch).
  HttpResponse HandleEsBulk(HttpRequest& req, std::string_view default_index);
  HttpResponse HandleEsApi(HttpRequest& req, std::string_view api_path);
  // GET/POST /loki/api/v1/query_range (range) and /loki/api/v1/query
  // (handler_loki_query.cc).
  HttpResponse HandleLokiQuery(HttpRequest& req, bool range);
  struct LokiLogParams {
    int64_t start = 0, end = 0;  // ns, end exclusive
    int64_t limit = 100;
    bool forward = false;
    int64_t interval = 0;  // ns between kept entries; 0 = every entry
    bool categorize = false;  // X-Loki-Response-Encoding-Flags: categorize-labels
  };
  HttpResponse LokiLogAnswer(const query::Expr& e, const LokiLogParams& p);
  Result<std::vector<query::Hit>> RunLokiLogQuery(const query::Query& q, int64_t interval,
                                                  std::vector<std::string>* warnings);

  // ---- Loki's metadata read API (handler_loki_meta.cc; drilldown-limits,
  // format_query and buildinfo in handler_loki_status.cc; docs/loki-api.md) ----
  HttpResponse HandleLokiLabels(HttpRequest& req);
  HttpResponse HandleLokiLabelValues(HttpRequest& req, std::string_view name);
  HttpResponse HandleLokiSeries(HttpRequest& req);
  HttpResponse HandleLokiIndexStats(HttpRequest& req);
  HttpResponse HandleLokiVolume(HttpRequest& req, bool range);
  HttpResponse HandleLokiDrilldownLimits(HttpRequest& req);
  HttpResponse HandleLokiFormatQuery(HttpRequest& req);
  HttpResponse HandleLokiBuildInfo(HttpRequest& req);
  HttpResponse LokiMetricAnswer(const query::MetricQuery& mq);
  // Logs Drilldown's tabs (handler_loki_detected.cc): GET/POST
  // /loki/api/v1/detected_labels, /detected_fields (value_name empty) and
  // /detected_field/<value_name>/values, /patterns.
  HttpResponse HandleDetectedLabels(HttpRequest& req);
  HttpResponse HandleDetectedFields(HttpRequest& req, std::string_view value_name);
  HttpResponse HandlePatterns(HttpRequest& req);
  // Undoes Content-Encoding and decodes the body by Content-Type into *out
  // (handler_push.cc). `loki`: a missing or unknown Content-Type means
  // protobuf, as in Loki; otherwise it is Unsupported.
  Status DecodePushBody(HttpRequest& req, bool loki, Payload* out);
  // Stores a decoded push after adding what Loki adds on ingest
  // (ingest/discover.h, as --discover-* allow): detected_level on every
  // entry, and a service_name label when `service_name` (Loki's push API;
  // loge's own push keeps labels as sent, OTLP's mapper names the service).
  // The push paths that emulate Loki (its push API, OTLP, loge's own) go
  // through here; Elasticsearch bulk, JSON lines and syslog store as decoded.
  Status StoreDiscovered(Payload p, bool service_name);
  HttpResponse HandleQuery(HttpRequest& req);
  HttpResponse HandleSearchPlan(HttpRequest& req);  // handler_search_plan.cc
  HttpResponse HandleLabels(HttpRequest& req);
  HttpResponse HandleStats(HttpRequest& req);
  HttpResponse HandleCompact(HttpRequest& req);
  // WebSocket upgrades: GET /loki/api/v1/tail (handler_tail.cc); any other
  // path is answered as a plain request.
  UpgradeAnswer HandleUpgrade(HttpRequest& req);
  HttpResponse HandleMetrics(HttpRequest& req);  // GET /metrics (handler_metrics.cc)
  // Every request from the socket: Handle, and for a read (RouteClass::kQuery)
  // first the --max-query-size check, then under the request's deadline and
  // client-gone flag (query/cancel.h ScopedCancel).
  HttpResponse HandleFromSocket(HttpRequest& req);

  ServerOptions opts_;
  std::unique_ptr<ApiKeyAuth> auth_;
  // The store's push observer: declared before store_ so that it outlives it.
  std::unique_ptr<TailHub> tail_hub_;
  std::unique_ptr<RequestMetrics> request_metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<query::Engine> engine_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<SyslogListener> syslog_;  // null unless --syslog-listen
  std::atomic<bool> shut_{false};  // set first thing in Shutdown; /ready answers 503 from then on
  // Read requests stopped at --query-timeout (504), and by their client
  // leaving (499), since start.
  std::atomic<uint64_t> queries_timed_out_{0};
  std::atomic<uint64_t> queries_cancelled_{0};
};

// Status -> HTTP, in exactly one place: 400 InvalidArgument, 404 NotFound,
// 413 PayloadTooLarge, 415 Unsupported, 429 ResourceExhausted and 503
// Unavailable (both with Retry-After, so shippers retry), 504
// DeadlineExceeded and 499 Cancelled (as Loki answers a query past its
// timeout or abandoned by its client), 500 otherwise. Body {"status":"error","error":…}.
HttpResponse ErrorFromStatus(const Status& st);

// Decodes a POST /api/v1/query body; an empty body is an all-defaults query.
// InvalidArgument names the field.
Result<query::Query> ParseQueryRequest(std::string_view body);

// Writes hits as the `data` array entries of a query answer
// ({timestamp, line, labels, metadata?}), shared by the query and plan endpoints.
void WriteHits(const std::vector<query::Hit>& hits, JsonWriter* w);
// Writes the `resultType` and `result` keys of a metric answer in Loki's
// shapes (matrix, vector, scalar), shared by POST /api/v1/query and Loki's
// endpoints.
void WriteMetricResult(const query::MetricResult& res, JsonWriter* w);
// Writes `"partial": bool, "warnings": [...]` keys of a query answer.
void WritePartial(const query::QueryResult& res, JsonWriter* w);

// The object key of a remote segment URL: `url` minus the store's
// PublicUrl("") prefix, percent-decoded. InvalidArgument when the URL is not
// under that prefix (e.g. --s3-read-url-base changed since the upload).
Result<std::string> KeyFromPublicUrl(const tier::ObjectStore& store, std::string_view url);

}  // namespace loge::server
