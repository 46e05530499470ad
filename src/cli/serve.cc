#include "cli/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <functional>

#include "core/time.h"
#include "ingest/json_document.h"
#include "server/server.h"
#include "tier/remote_reads.h"
#include "tier/s3_store.h"
#include "tier/segment_key.h"
#include "tier/uploader.h"

namespace loge::cli {

namespace {

// A CLI11 validator for Go-style durations.
struct DurationValidator : public CLI::Validator {
  DurationValidator() : CLI::Validator("DURATION") {
    func_ = [](const std::string& s) {
      auto d = ParseDuration(s);
      return d.ok() ? std::string() : d.status().message();
    };
  }
};

struct SizeValidator : public CLI::Validator {
  SizeValidator() : CLI::Validator("SIZE") {
    func_ = [](const std::string& s) {
      auto d = ParseByteSize(s);
      return d.ok() ? std::string() : d.status().message();
    };
  }
};

Duration MustDuration(const std::string& s) { return *ParseDuration(s); }

struct RetentionValidator : public CLI::Validator {
  RetentionValidator() : CLI::Validator("DURATION") {
    func_ = [](const std::string& s) {
      auto d = store::ParseRetentionPeriod(s);
      return d.ok() ? std::string() : d.status().message();
    };
  }
};

// The store's options from the --s3-* flags. InvalidArgument names the flag.
Result<tier::S3Options> S3OptionsFromFlags(const ServeFlags& f) {
  tier::S3Options o;
  o.bucket = f.s3_bucket;
  o.prefix = f.s3_prefix;
  o.endpoint = f.s3_endpoint;
  o.region = f.s3_region;
  o.force_path_style = f.s3_force_path_style;
  o.read_url_base = f.s3_read_url_base;
  o.acl = f.s3_acl;
  if (o.bucket.find('/') != std::string::npos) {
    return Status::InvalidArgument("--s3-bucket: a bucket name, without '/': " + o.bucket);
  }
  if (o.prefix.starts_with('/')) return Status::InvalidArgument("--s3-prefix must not start with '/'");
  for (const auto* url : {&o.endpoint, &o.read_url_base}) {
    if (!url->empty() && !url->starts_with("http://") && !url->starts_with("https://")) {
      return Status::InvalidArgument(std::string(url == &o.endpoint ? "--s3-endpoint" : "--s3-read-url-base") +
                                     " must start with http:// or https://: " + *url);
    }
  }
  for (char c : o.acl) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) {
      return Status::InvalidArgument("--s3-acl: a canned ACL such as public-read (a-z and '-'): " + o.acl);
    }
  }
  auto expiry = std::chrono::duration_cast<std::chrono::seconds>(MustDuration(f.s3_presign_expiry));
  if (expiry < std::chrono::seconds(1) || expiry > std::chrono::hours(24 * 7)) {
    return Status::InvalidArgument("--s3-presign-expiry must be between 1s and 168h");
  }
  o.presign_expiry = expiry;
  return o;
}

// --test-free-disk-file: "<free bytes> <total bytes>" read from a file.
std::function<Result<store::DiskSpace>(const std::string&)> FreeDiskFromFile(const std::string& file) {
  return [file](const std::string&) -> Result<store::DiskSpace> {
    std::ifstream in(file);
    store::DiskSpace s;
    if (!(in >> s.free_bytes >> s.total_bytes)) {
      return Status::IOError("--test-free-disk-file " + file + ": want \"<free bytes> <total bytes>\"");
    }
    return s;
  };
}

// File descriptors kept for files (segments a query opens, the WAL, merges,
// SQLite) below the limit; --max-connections past limit - this is warned about.
constexpr uint64_t kReservedFds = 256;

// Raises RLIMIT_NOFILE's soft limit to its hard limit (a server's sockets
// and files all count against it; the soft default of 1024 is a desktop's).
// Returns the limit in force afterwards (0 when unknown).
uint64_t RaiseFileLimit() {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno));
    return 0;
  }
  if (rl.rlim_cur < rl.rlim_max) {
    const rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      spdlog::warn("cannot raise the file-descriptor limit from {} to {}: {}", before, rl.rlim_max,
                   std::strerror(errno));
      getrlimit(RLIMIT_NOFILE, &rl);
    } else {
      spdlog::info("file-descriptor limit raised from {} to {}", before, rl.rlim_cur);
    }
  }
  return rl.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace

void AddServeFlags(CLI::App* app, ServeFlags* f) {
  const DurationValidator dur;
  const SizeValidator size;
  app->add_option("--port", f->port, "HTTP server port")->capture_default_str()->check(CLI::Range(0, 65535));
  app->add_option("--listen", f->listen, "address to listen on")->capture_default_str();
  app->add_option("--buckets", f->buckets, "number of in-memory bucket workers")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  app->add_option("--payload-size", f->payload_size, "rows in a head batch before it is flushed (a batch also flushes at its byte share of --max-head-size)")
      ->capture_default_str()->check(CLI::Range(1, 10000000));
  app->add_option("--output-path", f->output_path, "directory for the data files and the WAL")->capture_default_str();
  app->add_option("--flush-interval", f->flush_interval, "how often a bucket flushes a non-empty batch")
      ->capture_default_str()->check(dur);
  app->add_option("--flush-compression", f->flush_compression, "zstd level of flush files")
      ->capture_default_str()->check(CLI::IsMember({"fastest", "default", "better", "best"}));
  app->add_option("--flush-workers", f->flush_workers, "threads writing flush files (default max(buckets/2,2))")
      ->check(CLI::Range(1, 256));
  app->add_option("--flush-queue", f->flush_queue, "sealed batches that may wait for a flush worker (default = buckets)")
      ->check(CLI::Range(1, 65536));
  app->add_option("--durable", f->durable, "fsync each push to the write-ahead log before acknowledging (200); false answers 202 at once")
      ->capture_default_str();
  app->add_option("--checkpoint-interval", f->checkpoint_interval, "how often to fsync new files and prune the WAL")
      ->capture_default_str()->check(dur);
  app->add_option("--drop-on-backpressure", f->drop_on_backpressure,
                  "answer 429 at once when the flush pipeline is saturated instead of waiting --backpressure-wait")
      ->capture_default_str();
  app->add_option("--backpressure-wait", f->backpressure_wait, "how long a push waits for room before 429")
      ->capture_default_str()->check(dur);
  app->add_option("--max-head-size", f->max_head_size, "unflushed bytes held in memory before pushes wait")
      ->capture_default_str()->check(size);
  app->add_option("--min-free-disk", f->min_free_disk,
                  "free space on the --output-path file system below which ingest turns read-only (pushes 503, "
                  "/ready 503, queries keep working) until space is freed: a size (2GiB; 0 = never) or a "
                  "percentage of the file system (10%) (default \"\": 1GiB or 5%, whichever is smaller)")
      ->check([](const std::string& s) {
        auto m = store::ParseMinFreeDisk(s);
        return m.ok() ? std::string() : m.status().message();
      });
  // Test-only (hidden): the free space comes from this file ("<free bytes>
  // <total bytes>"), read at every check, so a test can fill and free a
  // disk without filling one (docs/reliability.md, "Disk full").
  app->add_option("--test-free-disk-file", f->test_free_disk_file)->group("");
  app->add_option("--compact-interval", f->compact_interval,
                  "how often background merges re-check their policy besides each new flush file (0 disables "
                  "background merges: only POST /api/v1/admin/compact merges; docs/merges.md)")
      ->capture_default_str()->check(dur);
  app->add_option("--compact-min-files", f->compact_min_files,
                  "flush files that start a merge into a segment (so does --segment-size of their text)")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app->add_option("--compact-max-age", f->compact_max_age, "longest a flush file waits for a merge")
      ->capture_default_str()->check(dur);
  app->add_option("--compact-level", f->compact_level, "zstd level of merged segments (docs/benchmarks.md)")
      ->capture_default_str()->check(CLI::Range(1, 19));
  app->add_option("--compact-block-filter-lines", f->compact_block_filter_lines,
                  "lines per group of blocks with its own filter in every file (0 = no content filters; "
                  "docs/format-segment.md)")
      ->capture_default_str()->check(CLI::Range(0, 1 << 24));
  app->add_option("--segment-size", f->segment_size,
                  "line text a merged segment aims at; a segment of half that is final and never merged again")
      ->capture_default_str()->check(size);
  app->add_option("--merge-threads", f->merge_threads, "merges that may run at once")
      ->capture_default_str()->check(CLI::Range(1, 64));
  app->add_option("--merge-nice", f->merge_nice,
                  "nice value of merge threads: they yield the CPU to pushes and queries (0 = same priority)")
      ->capture_default_str()->check(CLI::Range(0, 19));
  app->add_option("--max-merge-backlog", f->max_merge_backlog,
                  "flush files waiting for merges before flushes wait, and then pushes (429 after --backpressure-wait)")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  app->add_option("--filter-cache-size", f->filter_cache_size,
                  "memory for local segments' group filters; beyond it a needle query reads them from the file "
                  "(docs/merges.md, \"Memory\")")
      ->capture_default_str()->check(size);
  app->add_option("--filter-resident-size", f->filter_resident_size,
                  "file pages of mapped content filters kept in the process's resident set; beyond it the longest "
                  "unused are given back to the page cache (0 = no bound; docs/memory.md)")
      ->capture_default_str()->check(size);
  app->add_option("--query-concurrency", f->query_concurrency, "max files a query scans in parallel")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app->add_option("--max-body-size", f->max_body_size, "largest request body accepted (413 beyond)")
      ->capture_default_str()->check(size);
  app->add_option("--query-timeout", f->query_timeout,
                  "a read request running longer is stopped and answered 504 (Loki's query_timeout); 0 = none")
      ->capture_default_str()->check(dur);
  app->add_option("--max-concurrent-queries", f->max_concurrent_queries,
                  "read requests running at once; one more is answered 429 with Retry-After")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app->add_option("--max-query-size", f->max_query_size,
                  "largest body or query string of a read request (413 before parsing)")
      ->capture_default_str()->check(size);
  app->add_option("--max-connections", f->max_connections,
                  "open connections at most; more wait in the listen backlog (0 = half the file-descriptor limit)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app->add_option("--max-line-size", f->max_line_size, "longest log line accepted (400 beyond)")
      ->capture_default_str()->check(size);
  app->add_option("--max-label-name-length", f->max_label_name_length,
                  "longest label name a push may carry, in bytes (Loki's max_label_name_length; 400 beyond)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app->add_option("--max-label-value-length", f->max_label_value_length,
                  "longest label value a push may carry, in bytes (Loki's max_label_value_length; 400 beyond)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 24));
  app->add_option("--max-label-names-per-series", f->max_label_names_per_series,
                  "most labels a pushed stream may carry, not counting those loge adds such as service_name "
                  "(Loki's max_label_names_per_series; 400 beyond)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app->add_option("--api-key", f->api_key,
                  "bearer token required by every read endpoint (query, labels, stats, ...); push stays open; "
                  "empty disables auth");
  app->add_option("--discover-log-levels", f->discover_log_levels,
                  "add detected_level (from a level label or field, OTLP's severity, or level words in the line) "
                  "as structured metadata to every entry pushed through Loki's push API, loge's own or OTLP, as "
                  "Loki does")
      ->capture_default_str();
  app->add_option("--discover-service-name", f->discover_service_name,
                  "add a service_name label to streams pushed to /loki/api/v1/push (from service, app, ..., job; "
                  "else unknown_service), as Loki does")
      ->capture_default_str();
  app->add_option("--max-entries-limit-per-query", f->max_entries_limit_per_query,
                  "largest `limit` a Loki log query may ask for (Loki's max_entries_limit_per_query; 400 beyond; "
                  "0 = no cap)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app->add_option("--max-query-series", f->max_query_series,
                  "most series a metric query may answer with (400 beyond)")
      ->capture_default_str()->check(CLI::Range(1, 10000000));
  app->add_option("--s3-bucket", f->s3_bucket,
                  "S3 bucket of the cold tier: segments older than --s3-rotate-age move there (default \"\": disabled). "
                  "Credentials come from the AWS chain only (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                  "~/.aws/credentials, ~/.aws/config)")
      ->capture_default_str();
  app->add_option("--s3-prefix", f->s3_prefix, "key prefix of every object in the bucket")->capture_default_str();
  app->add_option("--s3-endpoint", f->s3_endpoint,
                  "S3 endpoint (scheme://host[:port]), e.g. http://127.0.0.1:9000 (default \"\": AWS for --s3-region)")
      ->capture_default_str();
  app->add_option("--s3-region", f->s3_region,
                  "signing region (default \"\": AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1)")
      ->capture_default_str();
  app->add_option("--s3-force-path-style", f->s3_force_path_style,
                  "address objects as endpoint/bucket/key (MinIO, self-hosted servers, bucket names with dots)")
      ->capture_default_str();
  app->add_option("--s3-read-url-base", f->s3_read_url_base,
                  "base URL for public reads of objects, e.g. a CDN (default \"\": the object's own URL)")
      ->capture_default_str();
  app->add_option("--s3-acl", f->s3_acl, "canned ACL sent with uploads (x-amz-acl), e.g. public-read (default \"\": none)")
      ->capture_default_str();
  app->add_option("--retention", f->retention,
                  "delete files whose newest row is older than this, local and in S3, and never return older rows "
                  "(e.g. 30d, 720h; 0 = keep forever; docs/retention.md)")
      ->capture_default_str()->check(RetentionValidator());
  app->add_option("--retention-rule", f->retention_rules,
                  "per-stream retention, repeatable: '<stream selector>=<duration>', e.g. '{app=\"debug\"}=24h'; "
                  "the shortest matching rule wins and may be longer than --retention (docs/retention.md)");
  app->add_option("--retention-size", f->retention_size,
                  "compressed bytes of local files kept; past it the oldest files are deleted (0 = no bound)")
      ->capture_default_str()->check(size);
  app->add_option("--s3-retention-size", f->s3_retention_size,
                  "compressed bytes of remote segments kept in the bucket; past it the oldest are deleted "
                  "(0 = no bound; docs/retention.md)")
      ->capture_default_str()->check(size);
  app->add_option("--retention-interval", f->retention_interval, "how often the retention pass runs")
      ->capture_default_str()->check(dur);
  app->add_option("--delete-cancel-period", f->delete_cancel_period,
                  "a delete request's rows leave the files only this long after it was made (until then "
                  "DELETE /loki/api/v1/delete cancels it); queries hide them at once (docs/retention.md)")
      ->capture_default_str()->check(dur);
  app->add_option("--delete-interval", f->delete_interval,
                  "how often the pass that removes delete requests' rows from files runs (0 = only on "
                  "POST /api/v1/admin/deletes)")
      ->capture_default_str()->check(dur);
  app->add_option("--s3-rotate-age", f->s3_rotate_age,
                  "a local segment moves to S3 once its newest row is this old")
      ->capture_default_str()->check(dur);
  app->add_option("--s3-rotate-interval", f->s3_rotate_interval,
                  "how often to rotate segments and reconcile the catalog with the bucket listing")
      ->capture_default_str()->check(dur);
  app->add_option("--s3-rotate-grace", f->s3_rotate_grace,
                  "how long a rotated segment's local copy stays for queries that already planned with it")
      ->capture_default_str()->check(dur);
  app->add_option("--s3-frame-cache-size", f->s3_frame_cache_size,
                  "decoded frames of remote segments cached in memory (256 KiB each)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app->add_option("--s3-presign-expiry", f->s3_presign_expiry,
                  "lifetime of presigned URLs handed to clients (1s..168h)")
      ->capture_default_str()->check(dur);
  app->add_option("--node-id", f->node_id,
                  "this node's id in object keys, 1-64 of A-Za-z0-9_- (default \"\": generated once and kept in "
                  "the catalog)")
      ->capture_default_str();
  std::string otlp_default;
  for (const auto& a : ingest::DefaultOtlpLabelAttributes()) otlp_default += (otlp_default.empty() ? "" : ",") + a;
  app->add_option("--otlp-resource-labels", f->otlp_resource_labels,
                  "OTLP resource attributes that become stream labels (dots become underscores), comma-separated; "
                  "the rest is structured metadata (default: Loki's list, " + otlp_default + ")");
  app->add_option("--es-message-field", f->es_message_field,
                  "Elasticsearch bulk: fields holding the log line, first present wins (nested fields as a.b)")
      ->capture_default_str();
  app->add_option("--es-time-field", f->es_time_field,
                  "Elasticsearch bulk: the field holding the time (RFC 3339 or unix seconds/ms/us/ns)")
      ->capture_default_str();
  app->add_option("--es-stream-fields", f->es_stream_fields,
                  "Elasticsearch bulk: fields that become stream labels, comma-separated; the rest is metadata")
      ->capture_default_str();
  app->add_option("--es-version", f->es_version,
                  "the Elasticsearch version GET / reports to Filebeat, Logstash and the clients")
      ->capture_default_str();
  app->add_option("--syslog-listen", f->syslog_listen,
                  "host:port for syslog (RFC 5424 and 3164) over TCP and UDP, e.g. 0.0.0.0:514 (default \"\": off)")
      ->capture_default_str();
  app->add_option("--tail-queue-size", f->tail_queue_size,
                  "entries a live tail (GET /loki/api/v1/tail) holds for a slow client before it drops and "
                  "reports them in dropped_entries")
      ->capture_default_str()->check(CLI::Range(1, 10000000));
  app->add_option("--log-level", f->log_level, "server log level")
      ->capture_default_str()->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

int RunServe(const ServeFlags& f) {
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  server::ServerOptions o;
  o.http.port = f.port;
  o.http.address = f.listen;
  o.http.max_body_bytes = *ParseByteSize(f.max_body_size);
  const uint64_t fds = RaiseFileLimit();
  o.http.max_connections = f.max_connections > 0 ? static_cast<size_t>(f.max_connections) : fds / 2;
  if (fds > 0 && o.http.max_connections + kReservedFds > fds) {
    spdlog::warn("--max-connections {} leaves fewer than {} of the {} file descriptors for data files, the WAL and "
                 "merges",
                 o.http.max_connections, kReservedFds, fds);
  }
  o.query_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(MustDuration(f.query_timeout));
  o.max_concurrent_queries = f.max_concurrent_queries;
  o.max_query_bytes = *ParseByteSize(f.max_query_size);
  o.limits.max_line_bytes = *ParseByteSize(f.max_line_size);
  o.limits.max_label_name_bytes = static_cast<size_t>(f.max_label_name_length);
  o.limits.max_label_value_bytes = static_cast<size_t>(f.max_label_value_length);
  o.limits.max_labels_per_stream = static_cast<size_t>(f.max_label_names_per_series);
  auto& in = o.store;
  in.output_path = f.output_path;
  in.buckets = f.buckets;
  in.payload_size = static_cast<size_t>(f.payload_size);
  in.flush_interval = MustDuration(f.flush_interval);
  in.flush_level = *store::CompressionLevel(f.flush_compression);
  in.flush_workers = f.flush_workers > 0 ? f.flush_workers : std::max(f.buckets / 2, 2);
  in.flush_queue = f.flush_queue > 0 ? f.flush_queue : f.buckets;
  in.durable = f.durable;
  in.checkpoint_interval = MustDuration(f.checkpoint_interval);
  in.drop_on_backpressure = f.drop_on_backpressure;
  in.backpressure_wait = MustDuration(f.backpressure_wait);
  in.max_head_bytes = *ParseByteSize(f.max_head_size);
  in.disk.min_free = *store::ParseMinFreeDisk(f.min_free_disk);
  if (!f.test_free_disk_file.empty()) in.disk.space = FreeDiskFromFile(f.test_free_disk_file);
  in.merge_interval = MustDuration(f.compact_interval);
  in.flush_merge_files = static_cast<size_t>(f.compact_min_files);
  in.flush_merge_age = MustDuration(f.compact_max_age);
  in.merge_level = f.compact_level;
  in.group_lines = static_cast<size_t>(f.compact_block_filter_lines);
  in.segment_bytes = *ParseByteSize(f.segment_size);
  in.filter_cache_bytes = *ParseByteSize(f.filter_cache_size);
  in.filter_resident_bytes = *ParseByteSize(f.filter_resident_size);
  in.merge_threads = f.merge_threads;
  in.merge_nice = f.merge_nice;
  in.max_backlog_files = static_cast<size_t>(f.max_merge_backlog);
  in.retention.max_age = *store::ParseRetentionPeriod(f.retention);
  for (const auto& text : f.retention_rules) {
    auto rule = store::ParseRetentionRule(text);
    if (!rule.ok()) {
      std::fprintf(stderr, "loge: %s\n", rule.status().message().c_str());
      return 2;
    }
    in.retention.rules.push_back(std::move(*rule));
  }
  in.retention.max_local_bytes = *ParseByteSize(f.retention_size);
  in.retention.max_remote_bytes = *ParseByteSize(f.s3_retention_size);
  if (in.retention.max_remote_bytes > 0 && f.s3_bucket.empty()) {
    std::fprintf(stderr, "loge: --s3-retention-size needs --s3-bucket\n");
    return 2;
  }
  in.retention.interval = MustDuration(f.retention_interval);
  if (in.retention.interval <= Duration(0)) {
    std::fprintf(stderr, "loge: --retention-interval must be positive\n");
    return 2;
  }
  in.deletes.cancel_period = MustDuration(f.delete_cancel_period);
  in.deletes.interval = MustDuration(f.delete_interval);
  if (in.deletes.cancel_period < Duration(0) || in.deletes.interval < Duration(0)) {
    std::fprintf(stderr, "loge: --delete-cancel-period and --delete-interval must not be negative\n");
    return 2;
  }
  if (in.merge_interval < Duration(0)) {
    std::fprintf(stderr, "loge: --compact-interval must not be negative\n");
    return 2;
  }
  o.engine.concurrency = f.query_concurrency;
  if (!f.otlp_resource_labels.empty()) o.otlp.label_attributes = ingest::SplitFieldList(f.otlp_resource_labels);
  o.es.doc.message_fields = ingest::SplitFieldList(f.es_message_field);
  o.es.doc.time_field = f.es_time_field;
  o.es.doc.stream_fields = ingest::SplitFieldList(f.es_stream_fields);
  o.es_version = f.es_version;
  o.syslog_listen = f.syslog_listen;
  o.tail.queue_entries = static_cast<size_t>(f.tail_queue_size);
  if (o.es.doc.message_fields.empty()) {
    std::fprintf(stderr, "loge: --es-message-field must name at least one field\n");
    return 2;
  }
  o.api_key = f.api_key;
  o.discover.log_levels = f.discover_log_levels;
  o.discover.service_name = f.discover_service_name;
  o.max_query_series = static_cast<size_t>(f.max_query_series);
  o.max_entries_limit_per_query = f.max_entries_limit_per_query;
  for (auto [name, d] : {std::pair{"--flush-interval", in.flush_interval},
                         std::pair{"--checkpoint-interval", in.checkpoint_interval}}) {
    if (d <= Duration(0)) {
      std::fprintf(stderr, "loge: %s must be positive\n", name);
      return 2;
    }
  }

  // The S3 cold tier. Declared before the server, so it outlives it: the
  // store stops the uploader in Close(), before the catalog closes.
  std::unique_ptr<tier::S3Store> store;
  std::unique_ptr<tier::Uploader> uploader;
  if (!f.s3_bucket.empty()) {
    auto s3 = S3OptionsFromFlags(f);
    if (!s3.ok()) {
      std::fprintf(stderr, "loge: %s\n", s3.status().message().c_str());
      return 2;
    }
    tier::UploaderOptions uo;
    uo.rotate_age = MustDuration(f.s3_rotate_age);
    uo.rotate_interval = std::chrono::duration_cast<std::chrono::milliseconds>(MustDuration(f.s3_rotate_interval));
    uo.grace = std::chrono::duration_cast<std::chrono::milliseconds>(MustDuration(f.s3_rotate_grace));
    uo.node_id = f.node_id;
    if (uo.rotate_age < Duration(0) || uo.grace < std::chrono::milliseconds(0)) {
      std::fprintf(stderr, "loge: --s3-rotate-age and --s3-rotate-grace must not be negative\n");
      return 2;
    }
    if (uo.rotate_interval <= std::chrono::milliseconds(0)) {
      std::fprintf(stderr, "loge: --s3-rotate-interval must be positive\n");
      return 2;
    }
    if (!f.node_id.empty()) {
      if (Status st = tier::ValidateNodeId(f.node_id); !st.ok()) {
        std::fprintf(stderr, "loge: %s\n", st.message().c_str());
        return 2;
      }
    }
    // Credentials come from the AWS chain inside Open; no message names them.
    auto opened = tier::S3Store::Open(*s3);
    if (!opened.ok()) {
      std::fprintf(stderr, "loge: cannot use S3 bucket %s: %s\n", f.s3_bucket.c_str(),
                   opened.status().ToString().c_str());
      return 1;
    }
    store = std::move(*opened);
    uploader = std::make_unique<tier::Uploader>(uo, store.get());
    in.catalog_worker = uploader.get();
    spdlog::info("S3 tier: bucket {}, prefix {}, rotate age {}, interval {}, grace {}", f.s3_bucket, f.s3_prefix,
                 f.s3_rotate_age, f.s3_rotate_interval, f.s3_rotate_grace);
    tier::RemoteReadOptions ro;
    ro.frame_cache_frames = static_cast<size_t>(f.s3_frame_cache_size);
    if (Status st = tier::EnableRemoteReads(ro); !st.ok()) {
      std::fprintf(stderr, "loge: %s\n", st.ToString().c_str());
      return 1;
    }
    o.object_store = store.get();
    o.presign_expiry = s3->presign_expiry;
  }

  // Signals are taken by sigwait on this thread only; every thread started
  // below inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  spdlog::info("loge starting: output path {}, {} buckets, durable={}, read auth {}", in.output_path, in.buckets,
               in.durable, f.api_key.empty() ? "off" : "on");
  auto srv = server::Server::Start(o);
  if (!srv.ok()) {
    spdlog::error("cannot start: {}", srv.status().ToString());
    return 1;
  }
  if ((*srv)->syslog_port() != 0) {
    spdlog::info("syslog listening on tcp and udp port {}", (*srv)->syslog_port());
  }
  spdlog::info("listening on {}:{}", f.listen, (*srv)->port());
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("received {}, shutting down: flushing batches and closing the WAL", sig == SIGINT ? "SIGINT" : "SIGTERM");
  Status st = (*srv)->Shutdown();
  if (!st.ok()) {
    spdlog::error("shutdown: {}", st.ToString());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace loge::cli
