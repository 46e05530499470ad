// GET /metrics: Prometheus' text exposition format 0.0.4 (docs/loki-api.md,
// "Metrics"). The store's figures come from Store::Stats (the same numbers
// GET /api/v1/stats reports), request latencies from RequestMetrics, the
// tail's from TailHub. Open like /ready: no --api-key (see the docs).
#include "core/heap.h"
#include "core/log_throttle.h"
#include "core/metrics.h"
#include "ingest/decode_json.h"
#include "server/request_metrics.h"
#include "server/server.h"
#include "server/tail.h"

namespace loge::server {

HttpResponse Server::HandleMetrics(HttpRequest&) {
  const store::StoreStats s = store_->Stats();
  MetricsWriter w;
  auto one = [&](std::string_view name, std::string_view type, std::string_view help, double v) {
    w.Family(name, type, help);
    w.Sample(name, v);
  };
  // Ingest.
  one("loge_ingested_lines_total", "counter", "Log lines acknowledged by pushes since start.",
      static_cast<double>(s.ingested_lines));
  one("loge_ingested_bytes_total", "counter", "Line bytes acknowledged by pushes since start.",
      static_cast<double>(s.ingested_bytes));
  one("loge_backpressure_rejected_total", "counter", "Pushes answered 429 because the head was full.",
      static_cast<double>(s.rejected_backpressure));
  one("loge_backpressure_waiting", "gauge", "Pushes waiting for room in the head now.",
      static_cast<double>(s.backpressure_waiting));
  {
    // Ingest validation (docs/reliability.md, "Ingest limits", "Invalid UTF-8").
    const ingest::IngestCounters& c = ingest::Counters();
    one("loge_ingest_invalid_utf8_pushes_total", "counter",
        "Pushes whose invalid UTF-8 (lines, label values, JSON text) was replaced by U+FFFD.",
        static_cast<double>(c.invalid_utf8_pushes.load(std::memory_order_relaxed)));
    w.Family("loge_ingest_rejected_total", "counter", "Pushes refused (400) by a label limit, by limit.");
    w.Sample("loge_ingest_rejected_total", static_cast<double>(c.label_name_too_long.load()),
             {{"reason", "label_name_too_long"}});
    w.Sample("loge_ingest_rejected_total", static_cast<double>(c.label_value_too_long.load()),
             {{"reason", "label_value_too_long"}});
    w.Sample("loge_ingest_rejected_total", static_cast<double>(c.too_many_labels.load()),
             {{"reason", "max_label_names_per_series"}});
  }
  request_metrics_->Write(&w);
  // Reader isolation (docs/reliability.md).
  const HttpServerStats hs = http_->Stats();
  w.Family("loge_http_in_flight", "gauge", "Requests queued or running now, by handler pool.");
  for (const auto& p : hs.pools) w.Sample("loge_http_in_flight", static_cast<double>(p.in_flight), {{"pool", p.name}});
  w.Family("loge_http_rejected_total", "counter",
           "Requests answered 429 at a pool's cap (--max-concurrent-queries), by handler pool.");
  for (const auto& p : hs.pools) w.Sample("loge_http_rejected_total", static_cast<double>(p.rejected), {{"pool", p.name}});
  one("loge_http_connections", "gauge", "Open HTTP and WebSocket connections.", static_cast<double>(hs.connections));
  one("loge_http_accept_paused_total", "counter", "Times accepting paused at --max-connections.",
      static_cast<double>(hs.accept_paused));
  one("loge_http_accept_errors_total", "counter", "accept() failures (EMFILE, ...) since start.",
      static_cast<double>(hs.accept_errors));
  one("loge_http_clients_gone_total", "counter", "Requests whose client closed the connection while handled.",
      static_cast<double>(hs.clients_gone));
  one("loge_queries_timed_out_total", "counter", "Read requests stopped at --query-timeout (504).",
      static_cast<double>(queries_timed_out_.load()));
  one("loge_queries_cancelled_total", "counter", "Read requests stopped because their client went away (499).",
      static_cast<double>(queries_cancelled_.load()));
  one("loge_log_suppressed_total", "counter", "Repeated log lines dropped by the log throttle.",
      static_cast<double>(LogThrottle::TotalSuppressed()));
  // WAL.
  w.Family("loge_wal_fsync_duration_seconds", "histogram", "Duration of each WAL group-commit fsync.");
  w.HistogramSamples("loge_wal_fsync_duration_seconds", s.wal_fsync_seconds);
  one("loge_wal_healthy", "gauge", "1 while the WAL writes; 0 after a write or fsync failed (restart needed).",
      s.wal_healthy ? 1 : 0);
  one("loge_wal_bytes", "gauge", "Bytes in WAL files.", static_cast<double>(s.wal_bytes));
  one("loge_wal_files", "gauge", "WAL files on disk.", static_cast<double>(s.wal_files));
  one("loge_wal_corrupt_records", "gauge",
      "Acknowledged WAL records lost to damage at startup's replay (logged at error with file and offset).",
      static_cast<double>(s.wal_corrupt_records));
  one("loge_wal_corrupt_bytes", "gauge", "Bytes of damaged WAL regions skipped at startup's replay.",
      static_cast<double>(s.wal_corrupt_bytes));
  one("loge_wal_torn_bytes", "gauge", "Bytes of torn WAL tails (never acknowledged) dropped at startup's replay.",
      static_cast<double>(s.wal_torn_bytes));
  // Disk guard (docs/reliability.md, "Disk full").
  one("loge_disk_read_only", "gauge", "1 while ingest is read-only because free disk is below --min-free-disk.",
      s.disk.read_only ? 1 : 0);
  one("loge_disk_free_bytes", "gauge", "Free bytes on the output path's file system at the last check.",
      static_cast<double>(s.disk.free_bytes));
  one("loge_disk_min_free_bytes", "gauge", "The --min-free-disk threshold in bytes (0: the guard is off).",
      static_cast<double>(s.disk.min_free_bytes));
  one("loge_disk_read_only_entered_total", "counter", "Times ingest turned read-only since start.",
      static_cast<double>(s.disk.entered));
  one("loge_disk_check_failures_total", "counter", "Reads of the free disk space that failed.",
      static_cast<double>(s.disk.check_failures));
  // Head and flushes.
  one("loge_head_rows", "gauge", "Rows not yet in a published file.", static_cast<double>(s.head_rows));
  one("loge_head_bytes", "gauge", "Accounted bytes of the head's rows.", static_cast<double>(s.head_bytes));
  one("loge_flushes_total", "counter", "Head batches written as flush files since start.",
      static_cast<double>(s.flushes));
  w.Family("loge_flush_duration_seconds", "histogram", "Duration of each flush (write, fsync, catalog).");
  w.HistogramSamples("loge_flush_duration_seconds", s.flush_seconds);
  one("loge_flush_failures_total", "counter", "Flush attempts that failed (retried).",
      static_cast<double>(s.flush_failures));
  one("loge_files_quarantined_total", "counter",
      "Damaged files moved to quarantine/ since start (at startup or when a read or merge found them).",
      static_cast<double>(s.files_quarantined));
  one("loge_quarantine_failures_total", "counter",
      "Damaged files that could not be moved aside or dropped from the catalog (logged; retried on the next read).",
      static_cast<double>(s.quarantine_failures));
  one("loge_catalog_rebuilds_total", "counter", "Startups that rebuilt an unreadable catalog.sqlite from the files.",
      static_cast<double>(s.catalog_rebuilds));
  one("loge_flush_stalls_total", "counter", "Times a flush waited for the merge backlog to shrink.",
      static_cast<double>(s.flush_stalls));
  // Merges.
  one("loge_merges_total", "counter", "Merges (compactions) completed since start.", static_cast<double>(s.merges));
  one("loge_merge_duration_seconds_total", "counter", "Wall time spent in completed merges.", s.merge_seconds);
  one("loge_merge_cpu_seconds_total", "counter", "CPU time of the merge threads.", s.merge_cpu_seconds);
  one("loge_merged_rows_total", "counter", "Rows written by merges since start.", static_cast<double>(s.merged_rows));
  one("loge_merge_failures_total", "counter", "Merges that failed (retried).", static_cast<double>(s.merge_failures));
  one("loge_merges_running", "gauge", "Merges running now.", static_cast<double>(s.merges_running));
  one("loge_merge_backlog_files", "gauge", "Files a merge is due for.", static_cast<double>(s.backlog_files));
  one("loge_merge_backlog_bytes", "gauge", "Line bytes of the files a merge is due for.",
      static_cast<double>(s.backlog_bytes));
  one("loge_merge_lag_seconds", "gauge", "Age of the oldest flush file waiting for a merge.", s.merge_lag_seconds);
  // Files.
  w.Family("loge_files", "gauge", "Published files by tier.");
  w.Sample("loge_files", static_cast<double>(s.files - s.segments_remote), {{"tier", "local"}});
  w.Sample("loge_files", static_cast<double>(s.segments_remote), {{"tier", "remote"}});
  w.Family("loge_file_bytes", "gauge", "Compressed bytes of published files by tier.");
  w.Sample("loge_file_bytes", static_cast<double>(s.local_bytes), {{"tier", "local"}});
  w.Sample("loge_file_bytes", static_cast<double>(s.remote_bytes), {{"tier", "remote"}});
  w.Family("loge_level_files", "gauge", "Published files by merge level (0: flush files).");
  for (const auto& [level, n] : s.files_by_level) {
    w.Sample("loge_level_files", static_cast<double>(n), {{"level", std::to_string(level)}});
  }
  w.Family("loge_level_bytes", "gauge", "Compressed bytes of published files by merge level.");
  for (const auto& [level, n] : s.bytes_by_level) {
    w.Sample("loge_level_bytes", static_cast<double>(n), {{"level", std::to_string(level)}});
  }
  one("loge_rows", "gauge", "Rows in published files.", static_cast<double>(s.rows_total));
  w.Family("loge_tier_rows", "gauge", "Rows in published files by tier.");
  w.Sample("loge_tier_rows", static_cast<double>(s.rows_local), {{"tier", "local"}});
  w.Sample("loge_tier_rows", static_cast<double>(s.rows_remote), {{"tier", "remote"}});
  one("loge_oldest_row_timestamp_seconds", "gauge", "Time of the oldest stored row (0 when empty).",
      static_cast<double>(s.min_ts) / 1e9);
  // Retention (docs/retention.md).
  one("loge_retention_floor_timestamp_seconds", "gauge",
      "Oldest time queries may return under --retention (0 when it is off).",
      static_cast<double>(s.retention_floor) / 1e9);
  one("loge_retention_passes_total", "counter", "Retention passes run.", static_cast<double>(s.retention.passes));
  one("loge_retention_deleted_files_total", "counter", "Files deleted by retention, local and remote.",
      static_cast<double>(s.retention.files_deleted));
  one("loge_retention_deleted_rows_total", "counter", "Rows in the files deleted by retention.",
      static_cast<double>(s.retention.rows_deleted));
  one("loge_retention_deleted_bytes_total", "counter", "Compressed bytes of the files deleted by retention.",
      static_cast<double>(s.retention.bytes_deleted));
  one("loge_retention_failures_total", "counter", "File deletions by retention that failed (retried).",
      static_cast<double>(s.retention.failures));
  one("loge_retention_rewritten_files_total", "counter",
      "Files per-stream retention rewrote without their expired rows.",
      static_cast<double>(s.retention.files_rewritten));
  one("loge_delete_requests_pending", "gauge", "Delete requests not yet processed (their rows hidden from queries).",
      static_cast<double>(s.deletes.pending));
  one("loge_delete_requests_processed", "gauge", "Delete requests processed (their rows gone from every file).",
      static_cast<double>(s.deletes.processed));
  one("loge_delete_rows_deleted_total", "counter", "Rows removed from files by delete requests.",
      static_cast<double>(s.deletes.rows_deleted));
  one("loge_delete_bytes_deleted_total", "counter",
      "Bytes of line text (uncompressed) removed from files by delete requests.",
      static_cast<double>(s.deletes.bytes_deleted));
  one("loge_delete_files_rewritten_total", "counter", "Files rewritten without the rows of delete requests.",
      static_cast<double>(s.deletes.files_rewritten));
  one("loge_delete_failures_total", "counter", "Delete passes or rewrites that failed (retried next pass).",
      static_cast<double>(s.deletes.failures));
  one("loge_filter_memory_bytes", "gauge", "Memory held for published files' content filters.",
      static_cast<double>(s.filter_memory_bytes));
  one("loge_filter_memory_flush_bytes", "gauge", "Of loge_filter_memory_bytes, the flush files' (bounded by the backlog cap).",
      static_cast<double>(s.filter_memory_flush_bytes));
  one("loge_filter_mapped_bytes", "gauge", "Content filters of local files mapped from the files (page cache, not heap).",
      static_cast<double>(s.filter_mapped_bytes));
  one("loge_filter_resident_bytes", "gauge",
      "File pages the process holds resident above its level at start: mostly mapped filters needles probed "
      "(bounded by --filter-resident-size).",
      static_cast<double>(s.filter_resident_bytes));
  one("loge_filter_released_bytes_total", "counter",
      "Mapped filter bytes given back to the page cache to keep the resident set under --filter-resident-size.",
      static_cast<double>(s.filter_released_bytes));
  one("loge_filter_cache_bytes", "gauge", "Local segments' group filters held in the filter cache (--filter-cache-size).",
      static_cast<double>(s.filter_cache_bytes));
  const HeapStats heap = ReadHeap();  // docs/memory.md
  one("loge_heap_allocated_bytes", "gauge", "Bytes in live heap allocations (the allocator's count).",
      static_cast<double>(heap.allocated));
  one("loge_heap_resident_bytes", "gauge",
      "Bytes the heap allocator keeps in RAM: live allocations plus free memory not yet returned.",
      static_cast<double>(heap.resident));
  // Live tail.
  one("loge_tailers", "gauge", "Live tail connections (GET /loki/api/v1/tail) now.",
      static_cast<double>(tail_hub_->connected()));
  one("loge_tail_dropped_entries_total", "counter",
      "Entries not sent to a tailer because its queue was full (reported to it in dropped_entries).",
      static_cast<double>(tail_hub_->dropped_total()));
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
