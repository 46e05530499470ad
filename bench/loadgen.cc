// loge-loadgen: drives POST /api/v1/push with realistic log lines and reports
// throughput and push latency, in any push format (--format json, msgpack,
// protobuf: Loki's PushRequest, snappy-compressed per push as a client does).
//
// Two other sources replace the generated pool (bench/corpus_feed.h):
// --bodies FILE sends pre-built bodies once each, in file order, and stops
// when all are acknowledged (bench/vs: the same bytes to every system);
// --corpus FILE replays a corpus.py file endlessly, --batch lines per push,
// stamped at send time (bench/sustained). --path picks the URL path (any
// Loki-compatible push endpoint), --progress-file appends one JSON line of
// running totals per second.
//
// DESIGN (threads): main builds the body pool (untimed), connects every
// connection, then starts one thread per connection. Each thread loops:
// claim a body from the shared pool, copy it into its request, restamp it
// (protobuf: then snappy-compress it, on the connection's thread, inside the
// timed loop but outside the latency measurement), send it and wait for the
// reply (one request in flight per connection, as a durable client that
// waits for the ack). A 429 sleeps Retry-After (or an
// exponential backoff) and resends the same bytes. Threads stop at the
// deadline or when --lines are claimed; main waits for them, and past the
// deadline plus --grace it aborts their sockets so the run always ends.
// Each thread keeps its own counters and latencies; main merges them once.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <snappy.h>

#include "bench/body_pool.h"
#include "bench/corpus_feed.h"
#include "bench/push_client.h"
#include "core/json_writer.h"
#include "core/time.h"

namespace loge::bench {
namespace {

using Clock = std::chrono::steady_clock;

// First and last wait after a 429 without Retry-After; doubles in between.
constexpr auto kMinBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
// Pause before reconnecting after a transport error, so a dead server is not
// hammered with connects.
constexpr auto kReconnectPause = std::chrono::milliseconds(100);
// Lines kept in --dump-sample: enough for a fair zstd comparison, small
// enough to compress in seconds.
constexpr size_t kSampleMaxLines = 200000;
// How often --progress-file gets a line: the sustained benchmark samples
// every 5 s, so 1 s resolves the achieved rate well enough.
constexpr auto kProgressInterval = std::chrono::seconds(1);

// Command-line flags, as typed (see Main for their help text).
struct Flags {
  std::string addr = "http://127.0.0.1:3000";  // server base URL
  int connections = 8;   // keep-alive connections, one thread each
  size_t batch = 1000;   // lines per push
  size_t streams = 10;   // distinct streams per push
  std::string duration;  // Go duration; empty: 20s unless --lines is given
  uint64_t lines = 0;    // stop after this many lines; 0: no line limit
  uint64_t rate = 0;     // lines/s over all connections; 0: flat out
  std::string format = "json";  // push encoding: json, msgpack or protobuf
  size_t pool = 64;      // distinct pre-built bodies
  uint64_t seed = 1;     // data seed
  std::string grace = "30s";  // wait past the deadline before aborting sockets
  std::string dump_sample;    // file for raw sample lines; empty: none
  bool json = false;     // print the result as one JSON object
  std::string path;  // request target of every push; empty: the format's own endpoint
  std::string bodies;    // pre-built body file (each sent once); empty: none
  std::string corpus;    // corpus.py file to replay; empty: generated pool
  std::string progress_file;  // running totals, one JSON line per second; empty: none
};

struct Stats {
  uint64_t pushes = 0;         // acknowledged (2xx) pushes
  uint64_t lines = 0;          // lines in them
  uint64_t line_bytes = 0;     // raw line bytes in them
  uint64_t request_bytes = 0;  // request body bytes in them
  uint64_t retries = 0;        // resends after 429
  uint64_t errors = 0;         // non-2xx other than 429, and transport failures
  uint64_t abandoned = 0;      // bodies given up at the deadline while backing off
  std::vector<uint32_t> latency_us;  // per acknowledged push: send to reply
  Clock::time_point finished;
};

// State the connection threads share.
struct Shared {
  const Flags* flags;
  PushFormat format = PushFormat::kJson;
  const std::vector<PushBody>* pool;
  const std::vector<FileBody>* files = nullptr;  // --bodies
  const CorpusFeed* corpus = nullptr;            // --corpus
  std::atomic<uint64_t> next_file{0};            // --bodies: next body to send
  // Running totals for --progress-file (the per-connection Stats are merged
  // only at the end).
  std::atomic<uint64_t> acked_lines{0}, acked_pushes{0}, retries{0}, errors{0};
  std::atomic<uint32_t> max_latency_us{0};  // since the last progress line
  Clock::time_point start;
  Clock::time_point deadline;
  std::atomic<uint64_t> lines_claimed{0};
  std::atomic<int64_t> next_ts{0};  // next unused Unix-ns timestamp

  std::mutex mu;  // guards reported, done, and stderr printing
  std::set<int> reported;  // statuses already printed (0 = transport)
  int done = 0;
  std::condition_variable done_cv;

  // Timestamps for n lines: increasing across the whole run and never
  // behind the wall clock.
  int64_t ClaimTimestamps(size_t n) {
    const int64_t now = NowNanos();
    int64_t cur = next_ts.load();
    int64_t base;
    do {
      base = std::max(now, cur);
    } while (!next_ts.compare_exchange_weak(cur, base + static_cast<int64_t>(n)));
    return base;
  }

  void ReportOnce(const PushClient::Reply& r) {
    std::lock_guard<std::mutex> l(mu);
    if (!reported.insert(r.status).second) return;
    if (r.status == 0) {
      std::fprintf(stderr, "loge-loadgen: transport error (further ones counted silently): %s\n", r.error.c_str());
    } else {
      std::fprintf(stderr, "loge-loadgen: HTTP %d (further ones counted silently): %.300s\n", r.status,
                   r.body.c_str());
    }
  }
};

void SleepUntilOrDeadline(Clock::time_point t, const Shared& sh) {
  std::this_thread::sleep_until(std::min(t, sh.deadline));
}

void RunConnection(int id, PushClient* client, Shared* sh, Stats* st) {
  const Flags& f = *sh->flags;
  const auto& pool = *sh->pool;
  Rng rng(f.seed * 1000003 + static_cast<uint64_t>(id));
  size_t next_body = static_cast<size_t>(id) * pool.size() / static_cast<size_t>(f.connections);
  // Open-loop pacing per connection; when the server falls behind by more
  // than one interval the schedule restarts from now rather than bursting.
  const auto interval = f.rate == 0 ? Clock::duration::zero()
                                    : std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                          static_cast<double>(f.batch) * f.connections / static_cast<double>(f.rate)));
  // Connections start staggered across one interval, so a paced run sends
  // evenly instead of in bursts of --connections pushes.
  auto next_send = sh->start + interval * id / f.connections;
  std::string scratch;  // protobuf: the restamped message before compression

  bool stop = false;
  while (!stop && Clock::now() < sh->deadline) {
    // What this push carries; tmpl is only used for the generated pool.
    const PushBody* tmpl = nullptr;
    const FileBody* file = nullptr;
    uint64_t first_row = 0, lines = 0, line_bytes = 0;
    if (sh->files != nullptr) {
      const uint64_t k = sh->next_file.fetch_add(1);
      if (k >= sh->files->size()) break;
      file = &(*sh->files)[k];
      lines = file->lines;
      line_bytes = file->line_bytes;
    } else if (sh->corpus != nullptr) {
      lines = f.batch;
      first_row = sh->lines_claimed.fetch_add(lines);
      if (f.lines > 0 && first_row >= f.lines) break;
    } else {
      tmpl = &pool[next_body++ % pool.size()];
      lines = tmpl->lines;
      line_bytes = tmpl->line_bytes;
      if (f.lines > 0 && sh->lines_claimed.fetch_add(lines) >= f.lines) break;
    }
    if (f.rate > 0) {
      const auto now = Clock::now();
      if (next_send + interval < now) next_send = now;
      if (next_send >= sh->deadline) break;
      std::this_thread::sleep_until(next_send);
      next_send += interval;
    }
    if (file != nullptr) {
      client->body()->assign(file->body);
    } else if (sh->corpus != nullptr) {
      client->body()->clear();
      sh->corpus->Build(first_row, lines, sh->ClaimTimestamps(lines), client->body(), &line_bytes);
    } else if (sh->format == PushFormat::kProtobuf) {
      scratch.assign(tmpl->body);
      Restamp(*tmpl, sh->format, sh->ClaimTimestamps(lines), &rng, &scratch);
      client->body()->clear();
      snappy::Compress(scratch.data(), scratch.size(), client->body());
    } else {
      client->body()->assign(tmpl->body);
      Restamp(*tmpl, sh->format, sh->ClaimTimestamps(lines), &rng, client->body());
    }
    const size_t sent_bytes = client->body()->size();

    auto backoff = Clock::duration(kMinBackoff);
    for (;;) {
      const auto t0 = Clock::now();
      PushClient::Reply r = client->Send();
      const auto t1 = Clock::now();
      if (r.status >= 200 && r.status < 300) {
        st->pushes++;
        st->lines += lines;
        st->line_bytes += line_bytes;
        st->request_bytes += sent_bytes;
        const auto us =
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
        st->latency_us.push_back(us);
        sh->acked_lines += lines;
        sh->acked_pushes++;
        uint32_t seen = sh->max_latency_us.load();
        while (us > seen && !sh->max_latency_us.compare_exchange_weak(seen, us)) {
        }
        break;
      }
      if (r.status == 429) {
        const auto wait = r.retry_after_s >= 0 ? std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(r.retry_after_s))
                                               : backoff;
        backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
        if (t1 + wait >= sh->deadline) {
          // The retry would land past the deadline: give up on this body
          // and stop, rather than start fresh bodies only to abandon them.
          st->abandoned++;
          stop = true;
          break;
        }
        std::this_thread::sleep_until(t1 + wait);
        st->retries++;
        sh->retries++;
        continue;
      }
      st->errors++;
      sh->errors++;
      sh->ReportOnce(r);
      if (r.status == 0) SleepUntilOrDeadline(Clock::now() + kReconnectPause, *sh);
      break;
    }
  }
  st->finished = Clock::now();
  std::lock_guard<std::mutex> l(sh->mu);
  sh->done++;
  sh->done_cv.notify_all();
}

// One --progress-file line: running totals since the start, and the slowest
// acknowledgement since the previous line.
void WriteProgress(std::FILE* out, Shared& sh) {
  std::fprintf(out,
               "{\"t\":%.3f,\"lines\":%llu,\"pushes\":%llu,\"retries\":%llu,\"errors\":%llu,"
               "\"claimed\":%llu,\"max_ms\":%.3f}\n",
               std::chrono::duration<double>(Clock::now() - sh.start).count(),
               static_cast<unsigned long long>(sh.acked_lines.load()),
               static_cast<unsigned long long>(sh.acked_pushes.load()),
               static_cast<unsigned long long>(sh.retries.load()), static_cast<unsigned long long>(sh.errors.load()),
               static_cast<unsigned long long>(sh.lines_claimed.load()), sh.max_latency_us.exchange(0) / 1000.0);
  std::fflush(out);
}

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// "http://host:port[/]" -> host, port. Returns false for anything else.
bool ParseAddr(const std::string& addr, std::string* host, std::string* port) {
  const std::string_view scheme = "http://";
  if (addr.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = addr.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos || rest.empty()) return false;
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.find(']', colon) != std::string::npos) {
    *host = rest;
    *port = "80";
  } else {
    *host = rest.substr(0, colon);
    *port = rest.substr(colon + 1);
  }
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  return !host->empty() && !port->empty();
}

double Percentile(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

void PrintReport(const Flags& f, const Stats& t, double elapsed_s, double cpu_s, bool as_json) {
  std::vector<uint32_t> lat = t.latency_us;
  std::sort(lat.begin(), lat.end());
  const double p50 = Percentile(lat, 0.50), p99 = Percentile(lat, 0.99), mx = lat.empty() ? 0 : lat.back() / 1000.0;
  const double secs = elapsed_s > 0 ? elapsed_s : 1;
  const double lps = static_cast<double>(t.lines) / secs;
  const double line_mbps = static_cast<double>(t.line_bytes) / secs / 1e6;
  const double req_mbps = static_cast<double>(t.request_bytes) / secs / 1e6;
  if (as_json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("addr"); w.String(f.addr);
    w.Key("format"); w.String(f.format);
    w.Key("connections"); w.Int(f.connections);
    w.Key("batch"); w.Uint(f.batch);
    w.Key("streams_per_push"); w.Uint(f.streams);
    w.Key("rate"); w.Uint(f.rate);
    char buf[64];
    auto num = [&](const char* key, double v) {
      std::snprintf(buf, sizeof(buf), "%.3f", v);
      w.Key(key);
      w.Raw(buf);
    };
    num("elapsed_s", elapsed_s);
    w.Key("pushes"); w.Uint(t.pushes);
    w.Key("lines"); w.Uint(t.lines);
    w.Key("line_bytes"); w.Uint(t.line_bytes);
    w.Key("request_bytes"); w.Uint(t.request_bytes);
    w.Key("retries"); w.Uint(t.retries);
    w.Key("errors"); w.Uint(t.errors);
    w.Key("abandoned"); w.Uint(t.abandoned);
    num("lines_per_s", lps);
    num("line_mb_per_s", line_mbps);
    num("request_mb_per_s", req_mbps);
    num("p50_ms", p50);
    num("p99_ms", p99);
    num("max_ms", mx);
    num("client_cpu_s", cpu_s);
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return;
  }
  std::printf("elapsed        %.2f s\n", elapsed_s);
  std::printf("lines/s        %.0f\n", lps);
  std::printf("MB/s (lines)   %.2f   (MB = 10^6 bytes of raw line text)\n", line_mbps);
  std::printf("MB/s (request) %.2f   (%s request bodies as sent)\n", req_mbps, f.format.c_str());
  std::printf("latency ms     p50 %.2f   p99 %.2f   max %.2f   (acknowledged pushes)\n", p50, p99, mx);
  std::printf("pushes         %llu\n", static_cast<unsigned long long>(t.pushes));
  std::printf("lines          %llu\n", static_cast<unsigned long long>(t.lines));
  std::printf("retries (429)  %llu\n", static_cast<unsigned long long>(t.retries));
  std::printf("errors         %llu\n", static_cast<unsigned long long>(t.errors));
  std::printf("abandoned      %llu   (bodies still backing off at the deadline)\n",
              static_cast<unsigned long long>(t.abandoned));
  std::printf("client cpu     %.2f s   (this process, user+sys, during the run)\n", cpu_s);
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app("loge-loadgen: push realistic logs to loge and measure throughput and latency");
  app.add_option("--addr", f.addr, "server base URL (http only)")->capture_default_str();
  app.add_option("--connections", f.connections, "keep-alive connections, one thread each")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--batch", f.batch, "lines per push")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--streams", f.streams, "streams per push, of " + std::to_string(kStreamCount))
      ->capture_default_str()->check(CLI::Range(size_t{1}, kStreamCount));
  app.add_option("--duration", f.duration, "how long to push, Go syntax (20s, 1m30s); default 20s unless --lines");
  app.add_option("--lines", f.lines, "stop after about this many lines (whole pushes); 0 = no limit")
      ->capture_default_str();
  app.add_option("--rate", f.rate, "target lines/s over all connections; 0 = flat out")->capture_default_str();
  app.add_option("--format", f.format,
                 "push encoding: json, msgpack or protobuf (Loki PushRequest + snappy) to /api/v1/push; otlp or "
                 "otlp-json to /otlp/v1/logs, es-bulk to /_bulk, jsonline to /insert/jsonline (bench/body_pool.h)")
      ->capture_default_str();
  app.add_option("--pool", f.pool, "distinct pre-built bodies to cycle through")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--seed", f.seed, "random seed for the generated data")->capture_default_str();
  app.add_option("--grace", f.grace, "after the deadline, how long to wait for in-flight pushes before aborting")
      ->capture_default_str();
  app.add_option("--dump-sample", f.dump_sample,
                 "write up to " + std::to_string(kSampleMaxLines) + " generated raw lines to FILE, one per line");
  app.add_flag("--json", f.json, "print the result as one JSON object on stdout");
  app.add_option("--path", f.path, "URL path of every push (e.g. /loki/api/v1/push, /insert/loki/api/v1/push; default: the --format's own endpoint)")
      ->capture_default_str();
  app.add_option("--bodies", f.bodies,
                 "send the pre-built bodies of FILE (records: u64 LE body bytes, lines, line bytes; then the body) "
                 "once each, in order, instead of generated ones; ends when all are acknowledged");
  app.add_option("--corpus", f.corpus,
                 "replay the lines of a bench/vs/corpus.py FILE endlessly, --batch per push, stamped at send time "
                 "(Zeek uids changed per pass), instead of generated lines");
  app.add_option("--progress-file", f.progress_file,
                 "append one JSON line of running totals (acknowledged lines, 429s, errors) per second to FILE");
  CLI11_PARSE(app, argc, argv);
  if (!f.bodies.empty() && !f.corpus.empty()) {
    std::fprintf(stderr, "loge-loadgen: give --bodies or --corpus, not both\n");
    return 2;
  }
  std::vector<FileBody> files;
  CorpusFeed corpus;
  if (!f.bodies.empty() || !f.corpus.empty()) {
    const auto t = Clock::now();
    std::string err = f.bodies.empty() ? corpus.Load(f.corpus) : ReadBodyFile(f.bodies, &files);
    if (!err.empty()) {
      std::fprintf(stderr, "loge-loadgen: %s\n", err.c_str());
      return 2;
    }
    std::fprintf(stderr, "loge-loadgen: loaded %zu %s in %.2f s\n", f.bodies.empty() ? corpus.size() : files.size(),
                 f.bodies.empty() ? "corpus lines" : "bodies",
                 std::chrono::duration<double>(Clock::now() - t).count());
  }
  const bool own_source = !f.bodies.empty() || !f.corpus.empty();

  PushFormat format;
  if (!ParsePushFormat(f.format, &format) || format == PushFormat::kSyslog) {
    std::fprintf(stderr, "loge-loadgen: --format %s: want json, msgpack, protobuf, otlp, otlp-json, es-bulk or jsonline\n",
                 f.format.c_str());
    return 2;
  }
  std::string host, port;
  if (!ParseAddr(f.addr, &host, &port)) {
    std::fprintf(stderr, "loge-loadgen: --addr %s: want http://HOST[:PORT]\n", f.addr.c_str());
    return 2;
  }
  Duration duration = (f.lines > 0 || !f.bodies.empty()) && f.duration.empty() ? std::chrono::hours(24 * 365)
                                                                                 : std::chrono::seconds(20);
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d.ok() || *d <= Duration(0)) {
      std::fprintf(stderr, "loge-loadgen: --duration %s: want a positive Go duration such as 20s\n",
                   f.duration.c_str());
      return 2;
    }
    duration = *d;
  }
  auto grace = ParseDuration(f.grace);
  if (!grace.ok() || *grace < Duration(0)) {
    std::fprintf(stderr, "loge-loadgen: --grace %s: want a Go duration such as 30s\n", f.grace.c_str());
    return 2;
  }

  const auto build_start = Clock::now();
  std::string sample;
  BodyPoolOptions po{f.seed, f.pool, f.batch, f.streams, format};
  const std::vector<PushBody> pool =
      own_source ? std::vector<PushBody>{}
                 : BuildBodies(po, f.dump_sample.empty() ? nullptr : &sample, kSampleMaxLines);
  size_t pool_lines = 0, pool_line_bytes = 0, pool_bytes = 0;
  for (const auto& b : pool) {
    pool_lines += b.lines;
    pool_line_bytes += b.line_bytes;
    pool_bytes += b.body.size();
  }
  if (!own_source) {
    std::fprintf(stderr,
                 "loge-loadgen: pool of %zu bodies built in %.2f s: %zu lines per body, %.1f B per line raw, "
                 "%.1f KB per body\n",
                 pool.size(), std::chrono::duration<double>(Clock::now() - build_start).count(), f.batch,
                 static_cast<double>(pool_line_bytes) / static_cast<double>(pool_lines),
                 static_cast<double>(pool_bytes) / static_cast<double>(pool.size()) / 1e3);
  }
  if (!f.dump_sample.empty()) {
    std::ofstream out(f.dump_sample, std::ios::binary);
    out << sample;
    if (!out.flush()) {
      std::fprintf(stderr, "loge-loadgen: cannot write %s\n", f.dump_sample.c_str());
      return 1;
    }
  }

  std::vector<std::unique_ptr<PushClient>> clients;
  for (int i = 0; i < f.connections; i++) {
    const std::string path = f.path.empty() ? PushPath(format) : f.path;
    clients.push_back(std::make_unique<PushClient>(host, port, path));
    clients.back()->set_content_type(own_source ? "application/json" : ContentType(format));
    std::string err = clients.back()->Connect();
    if (!err.empty()) {
      std::fprintf(stderr, "loge-loadgen: %s\n", err.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "loge-loadgen: %d connections to %s, batch %zu, %zu streams per push, rate %s\n",
               f.connections, f.addr.c_str(), f.batch, f.streams,
               f.rate == 0 ? "unlimited" : (std::to_string(f.rate) + " lines/s").c_str());

  Shared sh;
  sh.flags = &f;
  sh.format = format;
  sh.pool = &pool;
  if (!f.bodies.empty()) sh.files = &files;
  if (!f.corpus.empty()) sh.corpus = &corpus;
  sh.start = Clock::now();
  sh.deadline = sh.start + std::chrono::duration_cast<Clock::duration>(duration);
  const double cpu0 = CpuSeconds();
  std::vector<Stats> stats(static_cast<size_t>(f.connections));
  std::vector<std::thread> threads;
  for (int i = 0; i < f.connections; i++) {
    threads.emplace_back(RunConnection, i, clients[i].get(), &sh, &stats[i]);
  }
  std::FILE* progress = nullptr;
  if (!f.progress_file.empty() && (progress = std::fopen(f.progress_file.c_str(), "a")) == nullptr) {
    std::fprintf(stderr, "loge-loadgen: cannot open %s\n", f.progress_file.c_str());
  }
  {
    std::unique_lock<std::mutex> l(sh.mu);
    const auto hard_stop = sh.deadline + std::chrono::duration_cast<Clock::duration>(*grace);
    // One progress line per second until every connection is done.
    auto all_done = [&] { return sh.done == f.connections; };
    for (auto next = sh.start + kProgressInterval; progress != nullptr && next < hard_stop;
         next += kProgressInterval) {
      if (sh.done_cv.wait_until(l, next, all_done)) break;
      WriteProgress(progress, sh);
    }
    if (!sh.done_cv.wait_until(l, hard_stop, [&] { return sh.done == f.connections; })) {
      std::fprintf(stderr, "loge-loadgen: pushes still in flight %.0f s after the deadline; aborting them\n",
                   std::chrono::duration<double>(*grace).count());
      for (auto& c : clients) c->Abort();
    }
  }
  for (auto& t : threads) t.join();
  if (progress != nullptr) std::fclose(progress);
  const double cpu_s = CpuSeconds() - cpu0;

  Stats total;
  // A run that ended at the deadline lasted until the deadline even if a
  // paced connection sent its last push earlier.
  const bool by_lines = (f.lines > 0 && sh.lines_claimed.load() >= f.lines) || !f.bodies.empty();
  Clock::time_point end = by_lines ? sh.start : sh.deadline;
  for (auto& s : stats) {
    total.pushes += s.pushes;
    total.lines += s.lines;
    total.line_bytes += s.line_bytes;
    total.request_bytes += s.request_bytes;
    total.retries += s.retries;
    total.errors += s.errors;
    total.abandoned += s.abandoned;
    total.latency_us.insert(total.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    end = std::max(end, s.finished);
  }
  PrintReport(f, total, std::chrono::duration<double>(end - sh.start).count(), cpu_s, f.json);
  return total.pushes > 0 ? 0 : 1;
}

}  // namespace
}  // namespace loge::bench

int main(int argc, char** argv) { return loge::bench::Main(argc, argv); }
