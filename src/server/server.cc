#include "server/server.h"

#include <spdlog/spdlog.h>

#include "core/heap.h"
#include "core/json_writer.h"
#include "core/metrics.h"
#include "server/request_metrics.h"

namespace loge::server {

namespace {

// Seconds a client should wait before retrying after a 429 or 503.
constexpr int kRetryAfterSeconds = 1;

}  // namespace

HttpResponse ErrorFromStatus(const Status& st) {
  HttpResponse r;
  switch (st.code()) {
    case Code::kInvalidArgument: r.status = 400; break;
    case Code::kNotFound: r.status = 404; break;
    case Code::kPayloadTooLarge: r.status = 413; break;
    case Code::kUnsupported: r.status = 415; break;
    case Code::kResourceExhausted:
      r.status = 429;
      r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
      break;
    case Code::kUnavailable:
      r.status = 503;
      r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
      break;
    case Code::kDeadlineExceeded: r.status = 504; break;
    case Code::kCancelled: r.status = 499; break;  // nginx's and Loki's "client closed request"
    default: r.status = 500; break;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("error");
  w.Key("error");
  w.String(st.message());
  w.EndObject();
  r.body = w.Take();
  return r;
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& opts) {
  std::unique_ptr<Server> s(new Server());
  s->opts_ = opts;
  s->auth_ = std::make_unique<ApiKeyAuth>(opts.api_key);
  // --- Live tail and /metrics (issue 13) ---
  TailOptions tail = opts.tail;
  tail.pending_deletes = [raw = s.get()]() -> query::Tombstones {
    return raw->store_ ? raw->store_->PendingDeletes() : nullptr;
  };
  s->tail_hub_ = std::make_unique<TailHub>(tail);
  s->request_metrics_ = std::make_unique<RequestMetrics>();
  store::StoreOptions so = opts.store;
  so.push_observer = s->tail_hub_.get();
  LOGE_ASSIGN_OR_RETURN(s->store_, store::Store::Open(so));
  s->engine_ = std::make_unique<query::Engine>(opts.engine, s->store_.get());
  Server* raw = s.get();
  // Every request's handler time goes to RequestMetrics (GET /metrics).
  s->http_ = std::make_unique<HttpServer>(
      PoolsFor(opts), [raw](HttpRequest& req) { return raw->Serve(req); },
      [raw](HttpRequest& req) { return raw->ServeUpgrade(req); });
  Status st = s->http_->Start();
  if (!st.ok()) {
    (void)s->store_->Close();
    return st;
  }
  if (!opts.syslog_listen.empty()) {
    SyslogListenerOptions so;
    so.listen = opts.syslog_listen;
    so.limits = opts.limits;
    store::Store* store = s->store_.get();
    auto listener = SyslogListener::Start(so, [store](Payload p) { return store->Push(std::move(p)); });
    if (!listener.ok()) {
      s->http_->Stop();
      (void)s->store_->Close();
      return listener.status();
    }
    s->syslog_ = std::move(*listener);
  }
  return s;
}

HttpResponse Server::Serve(HttpRequest& req) {
  const int64_t t0 = SteadyNanos();
  HttpResponse r = HandleFromSocket(req);
  request_metrics_->Observe(req.path, SecondsSince(t0));
  return r;
}

UpgradeAnswer Server::ServeUpgrade(HttpRequest& req) {
  const int64_t t0 = SteadyNanos();
  UpgradeAnswer a = HandleUpgrade(req);
  request_metrics_->Observe(req.path, SecondsSince(t0));
  return a;
}

HttpServerOptions Server::PoolsFor(const ServerOptions& opts) {
  HttpServerOptions h = opts.http;
  const int queries = std::max(1, opts.max_concurrent_queries);
  // Indexed by RouteClass.
  h.pools = {
      HandlerPoolOptions{"ingest", h.handler_threads, 0, "", 0, ""},
      HandlerPoolOptions{"query", queries, static_cast<size_t>(queries),
                         "too many outstanding requests: " + std::to_string(queries) +
                             " queries are running (--max-concurrent-queries); retry later",
                         opts.max_query_bytes, "--max-query-size"},
      // Probes and the UI answer from memory: two threads, so a slow scrape
      // does not hold up /ready.
      HandlerPoolOptions{"light", 2, 0, "", 0, ""},
  };
  h.classify = [](const HttpRequest& req) { return static_cast<size_t>(ClassOf(Routes(), req)); };
  return h;
}

HttpResponse Server::HandleFromSocket(HttpRequest& req) {
  if (ClassOf(Routes(), req) != RouteClass::kQuery) return Handle(req);
  if (req.query.size() > opts_.max_query_bytes) {
    return ErrorFromStatus(Status::PayloadTooLarge("query string of " + std::to_string(req.query.size()) +
                                                   " bytes exceeds the limit of " +
                                                   std::to_string(opts_.max_query_bytes) + " bytes (--max-query-size)"));
  }
  query::ScopedCancel scope(std::make_shared<const query::Cancel>(opts_.query_timeout, req.client_gone));
  HttpResponse r = Handle(req);
  if (r.status == 504) queries_timed_out_.fetch_add(1);
  if (r.status == 499) queries_cancelled_.fetch_add(1);
  return r;
}

Server::~Server() { (void)Shutdown(); }

int Server::port() const { return http_->port(); }

int Server::syslog_port() const { return syslog_ ? syslog_->port() : 0; }

Status Server::Shutdown() {
  if (shut_) return Status::OK();
  shut_ = true;
  if (syslog_) syslog_->Stop();  // its last batches still reach the store
  if (http_) http_->Stop();      // closes the tails' WebSockets
  if (tail_hub_) tail_hub_->Stop();
  return store_ ? store_->Close() : Status::OK();
}

HttpResponse Server::HandleStats(HttpRequest&) {
  auto s = store_->Stats();
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("segments_total");
  w.Uint(s.segments);
  w.Key("segments_local");
  w.Uint(s.segments - s.segments_remote);
  w.Key("segments_remote");
  w.Uint(s.segments_remote);
  w.Key("flush_files");
  w.Uint(s.flush_files);
  w.Key("rows_total");
  w.Uint(s.rows_total);
  w.Key("min_timestamp");
  w.Int(s.min_ts);
  // Per tier, and what retention deleted since start (docs/retention.md).
  w.Key("rows_local");
  w.Uint(s.rows_local);
  w.Key("rows_remote");
  w.Uint(s.rows_remote);
  w.Key("bytes_local");
  w.Uint(s.local_bytes);
  w.Key("bytes_remote");
  w.Uint(s.remote_bytes);
  w.Key("retention_floor");
  w.Int(s.retention_floor);
  w.Key("retention_passes");
  w.Uint(s.retention.passes);
  w.Key("retention_deleted_files");
  w.Uint(s.retention.files_deleted);
  w.Key("retention_deleted_rows");
  w.Uint(s.retention.rows_deleted);
  w.Key("retention_deleted_bytes");
  w.Uint(s.retention.bytes_deleted);
  w.Key("retention_deleted_remote");
  w.Uint(s.retention.remote_deleted);
  w.Key("retention_failures");
  w.Uint(s.retention.failures);
  w.Key("retention_rewritten_files");
  w.Uint(s.retention.files_rewritten);
  w.Key("delete_requests_pending");
  w.Uint(s.deletes.pending);
  w.Key("delete_requests_processed");
  w.Uint(s.deletes.processed);
  w.Key("delete_rows_deleted");
  w.Uint(s.deletes.rows_deleted);
  w.Key("delete_bytes_deleted");
  w.Uint(s.deletes.bytes_deleted);
  w.Key("delete_files_rewritten");
  w.Uint(s.deletes.files_rewritten);
  w.Key("delete_failures");
  w.Uint(s.deletes.failures);
  w.Key("delete_waiting_remote");
  w.Uint(s.deletes.waiting_remote);
  w.Key("max_timestamp");
  w.Int(s.max_ts);
  w.Key("head_rows");
  w.Uint(s.head_rows);
  w.Key("head_bytes");
  w.Uint(s.head_bytes);
  w.Key("wal_bytes");
  w.Uint(s.wal_bytes);
  w.Key("wal_files");
  w.Uint(s.wal_files);
  w.Key("wal_watermark");
  w.Uint(s.watermark);
  // Disk guard (docs/reliability.md, "Disk full").
  w.Key("disk_read_only");
  w.Bool(s.disk.read_only);
  w.Key("disk_read_only_reason");
  w.String(s.disk.reason);
  w.Key("disk_free_bytes");
  w.Uint(s.disk.free_bytes);
  w.Key("disk_total_bytes");
  w.Uint(s.disk.total_bytes);
  w.Key("disk_min_free_bytes");
  w.Uint(s.disk.min_free_bytes);
  w.Key("disk_read_only_entered");
  w.Uint(s.disk.entered);
  w.Key("wal_healthy");
  w.Bool(s.wal_healthy);
  // Startup's WAL replay (docs/format-wal.md, "Damage").
  w.Key("wal_corrupt_records");
  w.Uint(s.wal_corrupt_records);
  w.Key("wal_corrupt_bytes");
  w.Uint(s.wal_corrupt_bytes);
  w.Key("wal_torn_bytes");
  w.Uint(s.wal_torn_bytes);
  w.Key("rejected_backpressure");
  w.Uint(s.rejected_backpressure);
  w.Key("backpressure_waiting");
  w.Uint(s.backpressure_waiting);
  // Merges (docs/merges.md). compacted_rows and compaction_seconds keep
  // their old names for existing dashboards and scripts.
  w.Key("compacted_rows");
  w.Uint(s.merged_rows);
  w.Key("compaction_seconds");
  w.Raw(std::to_string(s.merge_seconds));
  w.Key("merges");
  w.Uint(s.merges);
  w.Key("merged_rows");
  w.Uint(s.merged_rows);
  w.Key("merge_seconds");
  w.Raw(std::to_string(s.merge_seconds));
  w.Key("merge_cpu_seconds");
  w.Raw(std::to_string(s.merge_cpu_seconds));
  w.Key("merges_running");
  w.Uint(s.merges_running);
  w.Key("merge_failures");
  w.Uint(s.merge_failures);
  w.Key("merge_backlog_files");
  w.Uint(s.backlog_files);
  w.Key("merge_backlog_bytes");
  w.Uint(s.backlog_bytes);
  w.Key("merge_lag_seconds");
  w.Raw(std::to_string(s.merge_lag_seconds));
  w.Key("flush_failures");
  w.Uint(s.flush_failures);
  w.Key("files_quarantined");
  w.Uint(s.files_quarantined);
  w.Key("quarantine_failures");
  w.Uint(s.quarantine_failures);
  w.Key("catalog_rebuilds");
  w.Uint(s.catalog_rebuilds);
  w.Key("flush_stalls");
  w.Uint(s.flush_stalls);
  w.Key("flush_stalled");
  w.Bool(s.flush_stalled);
  w.Key("local_bytes");
  w.Uint(s.local_bytes);
  w.Key("filter_memory_bytes");
  w.Uint(s.filter_memory_bytes);
  w.Key("filter_memory_flush_bytes");
  w.Uint(s.filter_memory_flush_bytes);
  w.Key("filter_mapped_bytes");
  w.Uint(s.filter_mapped_bytes);
  w.Key("filter_resident_bytes");
  w.Uint(s.filter_resident_bytes);
  w.Key("filter_released_bytes");
  w.Uint(s.filter_released_bytes);
  w.Key("filter_cache_bytes");
  w.Uint(s.filter_cache_bytes);
  w.Key("filter_cache_hits");
  w.Uint(s.filter_cache_hits);
  w.Key("filter_cache_misses");
  w.Uint(s.filter_cache_misses);
  w.Key("line_bytes");
  w.Uint(s.line_bytes);
  const HeapStats heap = ReadHeap();  // docs/memory.md
  w.Key("heap_allocator");
  w.String(heap.allocator);
  w.Key("heap_allocated_bytes");
  w.Uint(heap.allocated);
  w.Key("heap_resident_bytes");
  w.Uint(heap.resident);
  w.Key("files_by_level");
  w.BeginObject();
  for (const auto& [level, n] : s.files_by_level) {
    w.Key(std::to_string(level));
    w.Uint(n);
  }
  w.EndObject();
  if (syslog_) {  // --syslog-listen: what the listener stored, refused and dropped
    const auto& c = syslog_->counters();
    w.Key("syslog_stored");
    w.Uint(c.stored.load());
    w.Key("syslog_invalid");
    w.Uint(c.invalid.load());
    w.Key("syslog_udp_dropped");
    w.Uint(c.udp_dropped.load());
    w.Key("syslog_tcp_connections");
    w.Uint(c.tcp_connections.load());
  }
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

// Flushes, checkpoints and merges until the layout is final, so tests,
// benchmarks and operators never wait for background merges.
HttpResponse Server::HandleCompact(HttpRequest&) {
  Status st = store_->CompactNow();
  if (!st.ok()) return ErrorFromStatus(st);
  HttpResponse r;
  r.body = R"({"status":"success"})";
  return r;
}

HttpResponse Server::HandleLabels(HttpRequest&) {
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const auto& k : engine_->LabelKeys()) w.String(k);
  w.EndArray();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
