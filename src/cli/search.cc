#include "cli/search.h"

#include <curl/curl.h>
#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/engine.h"
#include "query/logql.h"
#include "server/server.h"
#include "storage/file_set.h"
#include "storage/zstd_vfs.h"
#include "tier/remote_reads.h"

namespace loge::cli {

namespace {

// Seconds the whole request may take before the CLI gives up.
constexpr long kRequestTimeoutSeconds = 120;

Status UsageError(const std::string& m) { return Status::InvalidArgument(m); }

// --start/--end: RFC 3339 or unix nanoseconds.
Result<int64_t> ParseAbsolute(const std::string& flag, const std::string& v) {
  int64_t ns;
  if (ParseInt64(v, &ns)) return ns;
  auto t = ParseRfc3339(v);
  if (!t.ok()) return UsageError(flag + ": " + t.status().message());
  return *t;
}

Result<int64_t> ParseRelative(const std::string& flag, const std::string& v, int64_t now) {
  auto d = ParseDuration(v);
  if (!d.ok()) return UsageError(flag + ": " + d.status().message());
  return now - d->count();
}

size_t CollectBody(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

// Shows the selector with a caret under the error position.
void PrintSelectorError(const std::string& selector, const Status& st) {
  std::fprintf(stderr, "loge search: bad selector: %s\n", st.message().c_str());
  auto [line, col] = query::ErrorPosition(st);
  if (line <= 0 || col <= 0) return;
  // Print the offending line of the selector.
  size_t begin = 0;
  for (int l = 1; l < line; l++) {
    size_t nl = selector.find('\n', begin);
    if (nl == std::string::npos) return;
    begin = nl + 1;
  }
  size_t end = selector.find('\n', begin);
  std::string text = selector.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  std::fprintf(stderr, "  %s\n  %s^\n", text.c_str(), std::string(static_cast<size_t>(col - 1), ' ').c_str());
}

std::string CompactLabels(simdjson::dom::object labels) {
  std::string out = "{";
  bool first = true;
  for (auto field : labels) {
    std::string_view v;
    if (field.value.get_string().get(v)) continue;
    if (!first) out += ", ";
    first = false;
    out += std::string(field.key);
    out += "=";
    JsonWriter::Escape(v, &out);
  }
  out += "}";
  return out;
}

// One HTTP exchange with the server. rc is curl's result; http the status.
struct Exchange {
  CURLcode rc = CURLE_OK;
  long http = 0;
  std::string body;
  std::string error;  // curl's message when rc != CURLE_OK
};

// POSTs `body` (JSON) to url, or GETs url when post is false.
Exchange Send(const std::string& url, bool post, const std::string& body, const std::string& api_key) {
  Exchange ex;
  CURL* curl = curl_easy_init();
  if (!curl) {
    ex.rc = CURLE_FAILED_INIT;
    ex.error = "cannot initialise libcurl";
    return ex;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  std::string auth;
  if (!api_key.empty()) {
    auth = "Authorization: Bearer " + api_key;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (post) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ex.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, kRequestTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  ex.rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ex.http);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (ex.rc != CURLE_OK) ex.error = errbuf[0] ? errbuf : curl_easy_strerror(ex.rc);
  return ex;
}

std::string Escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// The plan's rows and segments as the engine's inputs: the hot rows are the
// "head", the segments remote files. Engine::Run then merges exactly as the
// server does.
class PlanSource final : public query::DataSource {
 public:
  PlanSource(std::vector<query::Hit> hot, std::vector<query::FileRef> files, query::Tombstones deletes)
      : hot_(std::move(hot)), files_(std::move(files)), deletes_(std::move(deletes)) {}
  void Snapshot(const query::Query&, query::TopK* head, std::vector<query::FileRef>* files) override {
    for (const auto& h : hot_) head->Add(h);  // the server applied its deletes to these
    *files = files_;
  }
  std::vector<std::string> LabelKeys() override { return {}; }
  // The server's pending delete requests: hidden in the segments read here too.
  query::Tombstones PendingDeletes() override { return deletes_; }

 private:
  std::vector<query::Hit> hot_;
  std::vector<query::FileRef> files_;
  query::Tombstones deletes_;
};

Status Malformed(const std::string& what) {
  return Status::IOError("the server's search plan is malformed: " + what);
}

// Scans the plan's segments here and returns the answer in the shape of a
// POST /api/v1/query response ({"data": [...], "partial", "warnings"}), so
// the printing below is the same for both paths.
Result<std::string> RunLocalPlan(const SearchFlags& f, const query::Query& q, const std::string& plan_json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(plan_json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) return Malformed("not JSON");
  simdjson::dom::array hot, segments;
  if (doc["hot"].get_array().get(hot)) return Malformed("no hot array");
  if (doc["segments"].get_array().get(segments)) return Malformed("no segments array");
  std::vector<query::Hit> hits;
  for (simdjson::dom::element row : hot) {
    query::Hit h;
    std::string_view line;
    simdjson::dom::object labels;
    if (row["timestamp"].get_int64().get(h.ts) || row["line"].get_string().get(line) ||
        row["labels"].get_object().get(labels)) {
      return Malformed("a hot row lacks timestamp, line or labels");
    }
    h.line = std::string(line);
    h.labels_json = simdjson::minify(labels);
    simdjson::dom::object meta;
    if (row["metadata"].get_object().get(meta) == simdjson::SUCCESS) h.metadata = simdjson::minify(meta);
    hits.push_back(std::move(h));
  }
  std::vector<query::FileRef> files;
  for (simdjson::dom::element seg : segments) {
    storage::CatalogEntry e;
    std::string_view url;
    uint64_t bytes = 0, rows = 0;
    if (seg["id"].get_int64().get(e.id) || seg["url"].get_string().get(url) ||
        seg["min_ts"].get_int64().get(e.min_ts) || seg["max_ts"].get_int64().get(e.max_ts)) {
      return Malformed("a segment lacks id, url, min_ts or max_ts");
    }
    if (seg["bytes"].get_uint64().get(bytes) == simdjson::SUCCESS) e.bytes = bytes;
    if (seg["rows"].get_uint64().get(rows) == simdjson::SUCCESS) e.rows = rows;
    simdjson::dom::array keys;
    if (seg["label_keys"].get_array().get(keys) == simdjson::SUCCESS) {
      for (auto k : keys) {
        std::string_view s;
        if (k.get_string().get(s) == simdjson::SUCCESS) e.label_keys.emplace_back(s);
      }
    } else {
      // null (a segment adopted from a bucket listing, whose keys nobody
      // knows) or no keys listed: the server pruned by them already, so the
      // engine's own pruning must keep the file.
      e.label_keys_known = false;
    }
    e.kind = storage::FileKind::kSegment;
    e.tier = storage::Tier::kRemote;
    e.path = std::string(url);
    if (!storage::IsRemoteUrl(e.path)) return Malformed("segment url is not http(s)");
    files.push_back(std::make_shared<const storage::FileHandle>(std::move(e), "", nullptr));
  }

  // Pending delete requests (absent from older servers' plans: none).
  auto deletes = std::make_shared<std::vector<query::Tombstone>>();
  simdjson::dom::array plan_deletes;
  if (doc["deletes"].get_array().get(plan_deletes) == simdjson::SUCCESS) {
    for (simdjson::dom::element d : plan_deletes) {
      std::string_view id, text;
      int64_t start = 0, end = 0;
      if (d["request_id"].get_string().get(id) || d["query"].get_string().get(text) ||
          d["start"].get_int64().get(start) || d["end"].get_int64().get(end)) {
        return Malformed("a delete request lacks request_id, query, start or end");
      }
      auto t = query::Tombstone::Make(std::string(id), text, start, end);
      if (!t.ok()) return Malformed("delete request " + std::string(id) + ": " + t.status().message());
      deletes->push_back(std::move(*t));
    }
  }
  std::vector<std::string> warnings;
  simdjson::dom::array plan_warnings;
  if (doc["warnings"].get_array().get(plan_warnings) == simdjson::SUCCESS) {
    for (auto w : plan_warnings) {
      std::string_view s;
      if (w.get_string().get(s) == simdjson::SUCCESS) warnings.emplace_back(s);
    }
  }
  query::QueryResult res;
  if (files.empty()) {
    // Nothing cold to read: the hot rows are the answer.
    res.hits = std::move(hits);
  } else {
    tier::RemoteReadOptions ro;
    ro.frame_cache_frames = static_cast<size_t>(f.frame_cache_size);
    LOGE_RETURN_IF_ERROR(tier::EnableRemoteReads(ro));
    query::EngineOptions eo;
    eo.concurrency = f.concurrency;
    PlanSource source(std::move(hits), std::move(files),
                      deletes->empty() ? nullptr : query::Tombstones(std::move(deletes)));
    query::Engine engine(eo, &source);
    LOGE_ASSIGN_OR_RETURN(res, engine.Run(q));
  }
  for (auto& w : res.warnings) warnings.push_back(std::move(w));

  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  server::WriteHits(res.hits, &w);  // the shape of the server's answer
  w.EndArray();
  w.Key("partial");
  w.Bool(!warnings.empty());
  w.Key("warnings");
  w.BeginArray();
  for (const auto& m : warnings) w.String(m);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace

CLI::App* AddSearchCommand(CLI::App* app, SearchFlags* f) {
  CLI::App* cmd = app->add_subcommand("search", "query a running loge server with a LogQL selector");
  cmd->add_option("selector", f->selector,
                  "LogQL log or metric query, e.g. '{app=\"web\"} |= \"timeout\"' or "
                  "'sum by (level) (rate({app=\"web\"}[1m]))'")
      ->required();
  cmd->add_option("--step", f->step, "a metric query's resolution, e.g. 1m (default: the window / 250)");
  cmd->add_option("--addr", f->addr, "base URL of the running loge server")->capture_default_str();
  cmd->add_option("--since", f->since, "relative window start, e.g. 1h or 30m (from now)");
  cmd->add_option("--until", f->until, "relative window end, e.g. 5m (that long ago)");
  cmd->add_option("--start", f->start, "absolute window start: RFC 3339 or unix nanoseconds (overrides --since)");
  cmd->add_option("--end", f->end, "absolute window end: RFC 3339 or unix nanoseconds (overrides --until)");
  cmd->add_option("--limit", f->limit, "max results (the server caps at 5000)")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--output", f->output, "output format")
      ->capture_default_str()->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--api-key", f->api_key, "API key for a server started with --api-key")->envname("LOGE_API_KEY");
  cmd->add_flag("--local", f->local,
                "scan the cold (S3) segments on this machine: the server sends its own rows and presigned "
                "segment URLs (GET /api/v1/search/plan)");
  cmd->add_option("--concurrency", f->concurrency, "with --local: segments scanned at once")
      ->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--frame-cache-size", f->frame_cache_size,
                  "with --local: decoded zstd frames cached per segment")
      ->capture_default_str()->check(CLI::Range(0, 1 << 20));
  return cmd;
}

int RunSearch(const SearchFlags& f) {
  // The query is checked here first, so a typo shows a caret at once.
  auto expr = query::ParseExpr(f.selector);
  const bool metric = expr.ok() && !(*expr)->IsLog();
  auto sel = metric ? Result<query::Selector>(query::Selector{}) : query::ParseSelector(f.selector);
  if (!sel.ok()) {
    bool looks_metric = !expr.ok() && f.selector.find_first_not_of(" \t\r\n") != std::string::npos &&
                        std::string("{|!").find(f.selector[f.selector.find_first_not_of(" \t\r\n")]) == std::string::npos;
    PrintSelectorError(f.selector, looks_metric ? expr.status() : sel.status());
    return 2;
  }
  if (metric && f.local) {
    std::fprintf(stderr, "loge search: --local runs log queries only\n");
    return 2;
  }
  const int64_t now = NowNanos();
  int64_t start = 0, end = 0;
  auto window = [&]() -> Status {
    if (!f.since.empty()) {
      LOGE_ASSIGN_OR_RETURN(start, ParseRelative("--since", f.since, now));
    }
    if (!f.until.empty()) {
      LOGE_ASSIGN_OR_RETURN(end, ParseRelative("--until", f.until, now));
    }
    if (!f.start.empty()) {
      LOGE_ASSIGN_OR_RETURN(start, ParseAbsolute("--start", f.start));
    }
    if (!f.end.empty()) {
      LOGE_ASSIGN_OR_RETURN(end, ParseAbsolute("--end", f.end));
    }
    if (start != 0 && end != 0 && start > end) return UsageError("the window starts after it ends");
    return Status::OK();
  }();
  if (!window.ok()) {
    std::fprintf(stderr, "loge search: %s\n", window.message().c_str());
    return 2;
  }

  // The same request the server's own clients (web UI, curl) send.
  JsonWriter w;
  w.BeginObject();
  w.Key("query");
  w.String(f.selector);
  if (start != 0) {
    w.Key("start");
    w.Int(start);
  }
  if (end != 0) {
    w.Key("end");
    w.Int(end);
  }
  w.Key("limit");
  w.Int(f.limit);
  if (metric && !f.step.empty()) {
    w.Key("step");
    w.String(f.step);
  }
  w.EndObject();
  std::string body = w.Take();

  std::string base = f.addr;
  while (!base.empty() && base.back() == '/') base.pop_back();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Exchange ex;
  if (f.local) {
    std::string url = base + "/api/v1/search/plan?query=" + Escape(f.selector) + "&limit=" + std::to_string(f.limit);
    if (start != 0) url += "&start=" + std::to_string(start);
    if (end != 0) url += "&end=" + std::to_string(end);
    ex = Send(url, /*post=*/false, "", f.api_key);
  } else {
    ex = Send(base + "/api/v1/query", /*post=*/true, body, f.api_key);
  }
  if (ex.rc != CURLE_OK) {
    if (ex.rc == CURLE_COULDNT_CONNECT) {
      std::fprintf(stderr, "loge search: cannot connect to %s: connection refused (is loge running there?)\n",
                   f.addr.c_str());
    } else {
      std::fprintf(stderr, "loge search: request to %s failed: %s\n", f.addr.c_str(), ex.error.c_str());
    }
    return 1;
  }
  const long http = ex.http;
  std::string resp = std::move(ex.body);
  if (f.local && http == 200) {
    // The same window and limit the server parsed; the selector parsed above.
    query::Query q;
    q.SetSelector(std::move(*sel));
    if (start != 0) q.start = start;
    if (end != 0) q.end = end;
    q.limit = std::min<size_t>(static_cast<size_t>(f.limit), query::kMaxLimit);
    auto local = RunLocalPlan(f, q, resp);
    if (!local.ok()) {
      std::fprintf(stderr, "loge search: --local: %s\n", local.status().ToString().c_str());
      return 1;
    }
    resp = std::move(local).value();
  }

  simdjson::dom::parser parser;
  simdjson::padded_string padded(resp);
  simdjson::dom::element doc;
  bool json_ok = parser.parse(padded).get(doc) == simdjson::SUCCESS;
  if (http != 200) {
    std::string reason;
    std::string_view e;
    if (json_ok && doc["error"].get_string().get(e) == simdjson::SUCCESS) reason = std::string(e);
    if (http == 401) {
      std::fprintf(stderr, "loge search: %s (401): %s\n",
                   f.api_key.empty() ? "the server needs an API key: pass --api-key or set LOGE_API_KEY"
                                     : "the server rejected the API key",
                   reason.c_str());
    } else if (http == 400) {
      // The server parses the same selector: a 400 here is a usage error.
      std::fprintf(stderr, "loge search: the server rejected the query: %s\n", reason.c_str());
      return 2;
    } else {
      std::fprintf(stderr, "loge search: server answered %ld: %s\n", http,
                   reason.empty() ? resp.substr(0, 200).c_str() : reason.c_str());
    }
    return 1;
  }
  simdjson::dom::object metric_data;
  if (metric && json_ok && doc["data"].get_object().get(metric_data) == simdjson::SUCCESS) {
    return PrintMetricAnswer(f, metric_data);
  }
  simdjson::dom::array rows;
  if (!json_ok || doc["data"].get_array().get(rows)) {
    std::fprintf(stderr, "loge search: the server's answer is not a query result\n");
    return 1;
  }
  simdjson::dom::array warnings;
  if (doc["warnings"].get_array().get(warnings) == simdjson::SUCCESS) {
    for (auto warn : warnings) {
      std::string_view m;
      if (warn.get_string().get(m) == simdjson::SUCCESS) {
        std::fprintf(stderr, "loge search: warning: partial results: %.*s\n", static_cast<int>(m.size()), m.data());
      }
    }
  }
  const bool color = f.output == "text" && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  std::string out;
  for (simdjson::dom::element row : rows) {
    int64_t ts = 0;
    std::string_view line;
    simdjson::dom::object labels;
    if (row["timestamp"].get_int64().get(ts) || row["line"].get_string().get(line) ||
        row["labels"].get_object().get(labels)) {
      std::fprintf(stderr, "loge search: the server's answer has a malformed row\n");
      return 1;
    }
    if (f.output == "json") {
      JsonWriter jw;
      jw.BeginObject();
      jw.Key("timestamp");
      jw.Int(ts);
      jw.Key("labels");
      jw.Raw(simdjson::minify(labels));
      jw.Key("line");
      jw.String(line);
      simdjson::dom::object meta;
      if (row["metadata"].get_object().get(meta) == simdjson::SUCCESS) {
        jw.Key("metadata");
        jw.Raw(simdjson::minify(meta));
      }
      jw.EndObject();
      out += jw.str();
    } else {
      std::string t = FormatLocalRfc3339Millis(ts);
      std::string l = CompactLabels(labels);
      if (color) {
        out += "\x1b[2m" + t + "\x1b[0m \x1b[36m" + l + "\x1b[0m ";
      } else {
        out += t + " " + l + " ";
      }
      out += line;
    }
    out.push_back('\n');
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace loge::cli
