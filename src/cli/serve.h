// `loge serve` (also plain `loge`): flags -> ServerOptions, run until signalled.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace loge::cli {

// Raw flag values as typed; ToOptions validates and converts them.
struct ServeFlags {
  int port = 3000;
  std::string listen = "0.0.0.0";
  int buckets = 4;
  int payload_size = 1000000;
  std::string output_path = "tmp/";
  std::string flush_interval = "1s";
  std::string flush_compression = "fastest";
  int flush_workers = 0;  // 0 = max(buckets/2, 2)
  int flush_queue = 0;    // 0 = buckets
  bool durable = true;
  std::string checkpoint_interval = "2s";
  bool drop_on_backpressure = false;
  int query_concurrency = 8;
  std::string max_body_size = "64MiB";
  // Reader isolation (docs/reliability.md).
  std::string query_timeout = "1m";     // --query-timeout; 0 = none
  int max_concurrent_queries = 16;      // --max-concurrent-queries
  std::string max_query_size = "64KiB"; // --max-query-size
  int64_t max_connections = 0;          // --max-connections; 0 = half the file-descriptor limit
  std::string max_line_size = "256KiB";
  // Loki's label limits (ingest::Limits, docs/reliability.md "Ingest limits").
  int max_label_name_length = 1024;      // --max-label-name-length: bytes
  int max_label_value_length = 2048;     // --max-label-value-length: bytes
  int max_label_names_per_series = 15;   // --max-label-names-per-series
  std::string max_head_size = "48MiB";
  std::string min_free_disk;       // --min-free-disk: "" = min(1GiB, 5%)
  std::string test_free_disk_file;  // hidden --test-free-disk-file (tests only)
  std::string backpressure_wait = "5s";
  std::string compact_interval = "10s";
  int compact_min_files = 64;
  int compact_level = 1;
  int compact_block_filter_lines = 2048;
  std::string compact_max_age = "5m";
  std::string segment_size = "256MiB";
  std::string filter_cache_size = "64MiB";
  std::string filter_resident_size = "128MiB";
  int merge_threads = 2;
  int merge_nice = 10;
  int max_merge_backlog = 256;
  std::string log_level = "info";
  std::string api_key;  // --api-key
  bool discover_log_levels = true;    // --discover-log-levels
  bool discover_service_name = true;  // --discover-service-name
  int max_query_series = 500;         // --max-query-series
  int64_t max_entries_limit_per_query = 5000;  // --max-entries-limit-per-query
  // S3 cold tier (docs/s3.md). An empty bucket disables it.
  std::string s3_bucket;
  std::string s3_prefix = "loge/";
  std::string s3_endpoint;
  std::string s3_region;
  bool s3_force_path_style = false;
  std::string s3_read_url_base;
  std::string s3_acl;
  std::string s3_rotate_age = "1h";
  std::string retention = "0";           // --retention: 0 = keep forever
  std::string retention_size = "0";      // --retention-size: 0 = no bound
  std::vector<std::string> retention_rules;  // --retention-rule (repeatable)
  std::string s3_retention_size = "0";   // --s3-retention-size: 0 = no bound
  std::string retention_interval = "1m";  // --retention-interval
  std::string delete_cancel_period = "24h";  // --delete-cancel-period
  std::string delete_interval = "5m";        // --delete-interval
  std::string s3_rotate_interval = "1m";
  std::string s3_rotate_grace = "1m";
  int s3_frame_cache_size = 512;
  std::string s3_presign_expiry = "15m";
  std::string node_id;  // --node-id; "" = generated once, kept in the catalog
  // Shippers' protocols (docs/push-formats.md).
  std::string otlp_resource_labels;  // "" = Loki's default list
  std::string es_message_field = "message,log,msg";
  std::string es_time_field = "@timestamp";
  std::string es_stream_fields = "host.name,service.name,app";
  std::string es_version = "8.17.0";
  std::string syslog_listen;  // "" = off
  int tail_queue_size = 10000;  // entries a live tailer holds before it drops
};

// Registers the serve flags on app (the root command and `serve` share them).
void AddServeFlags(CLI::App* app, ServeFlags* f);

// Runs the server until SIGINT/SIGTERM; returns the process exit code
// (0 after a clean shutdown, 1 if it could not start or stop cleanly,
// 2 for a flag value that does not validate).
int RunServe(const ServeFlags& f);

}  // namespace loge::cli
