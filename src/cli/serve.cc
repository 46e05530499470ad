#include "cli/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "core/time.h"
#include "server/server.h"

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

}  // namespace

void AddServeFlags(CLI::App* app, ServeFlags* f) {
  const DurationValidator dur;
  const SizeValidator size;
  app->add_option("--port", f->port, "HTTP server port")->capture_default_str()->check(CLI::Range(0, 65535));
  app->add_option("--listen", f->listen, "address to listen on")->capture_default_str();
  app->add_option("--buckets", f->buckets, "number of in-memory bucket workers")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  app->add_option("--payload-size", f->payload_size, "rows in a batch before it is flushed")
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
  app->add_option("--compact-interval", f->compact_interval, "how often to merge flush files into segments (0 disables)")
      ->capture_default_str()->check(dur);
  app->add_option("--compact-min-files", f->compact_min_files, "flush files needed before a compaction pass runs")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app->add_option("--compact-level", f->compact_level,
                  "zstd level of compacted segments: 19 stores ~2% smaller than 15 at ~5x the CPU")
      ->capture_default_str()->check(CLI::Range(1, 19));
  app->add_option("--compact-block-filter-lines", f->compact_block_filter_lines,
                  "lines per group of blocks that gets its own token and trigram filters in a segment (0 = one pair "
                  "per segment only; docs/format-segment.md)")
      ->capture_default_str()->check(CLI::Range(0, 1 << 24));
  app->add_option("--query-concurrency", f->query_concurrency, "max files a query scans in parallel")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app->add_option("--max-body-size", f->max_body_size, "largest request body accepted (413 beyond)")
      ->capture_default_str()->check(size);
  app->add_option("--max-line-size", f->max_line_size, "longest log line accepted (400 beyond)")
      ->capture_default_str()->check(size);
  app->add_option("--api-key", f->api_key,
                  "bearer token required by every read endpoint (query, labels, stats, ...); push stays open; "
                  "empty disables auth");
  app->add_option("--log-level", f->log_level, "server log level")
      ->capture_default_str()->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

int RunServe(const ServeFlags& f) {
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  server::ServerOptions o;
  o.http.port = f.port;
  o.http.address = f.listen;
  o.http.max_body_bytes = *ParseByteSize(f.max_body_size);
  o.limits.max_line_bytes = *ParseByteSize(f.max_line_size);
  auto& in = o.ingest;
  in.output_path = f.output_path;
  in.buckets = f.buckets;
  in.payload_size = static_cast<size_t>(f.payload_size);
  in.flush_interval = MustDuration(f.flush_interval);
  in.flush_level = *ingest::CompressionLevel(f.flush_compression);
  in.flush_workers = f.flush_workers > 0 ? f.flush_workers : std::max(f.buckets / 2, 2);
  in.flush_queue = f.flush_queue > 0 ? f.flush_queue : f.buckets;
  in.durable = f.durable;
  in.checkpoint_interval = MustDuration(f.checkpoint_interval);
  in.drop_on_backpressure = f.drop_on_backpressure;
  in.backpressure_wait = MustDuration(f.backpressure_wait);
  in.max_head_bytes = *ParseByteSize(f.max_head_size);
  in.compact_interval = MustDuration(f.compact_interval);
  in.compact_min_files = static_cast<size_t>(f.compact_min_files);
  in.compact_level = f.compact_level;
  in.compact_block_filter_lines = static_cast<size_t>(f.compact_block_filter_lines);
  if (in.compact_interval < Duration(0)) {
    std::fprintf(stderr, "loge: --compact-interval must not be negative\n");
    return 2;
  }
  o.engine.concurrency = f.query_concurrency;
  o.api_key = f.api_key;
  for (auto [name, d] : {std::pair{"--flush-interval", in.flush_interval},
                         std::pair{"--checkpoint-interval", in.checkpoint_interval}}) {
    if (d <= Duration(0)) {
      std::fprintf(stderr, "loge: %s must be positive\n", name);
      return 2;
    }
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
