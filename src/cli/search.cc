#include "cli/search.h"

#include <curl/curl.h>
#include <simdjson.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"

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

}  // namespace

CLI::App* AddSearchCommand(CLI::App* app, SearchFlags* f) {
  CLI::App* cmd = app->add_subcommand("search", "query a running loge server with a LogQL selector");
  cmd->add_option("selector", f->selector, "LogQL selector, e.g. '{app=\"web\"} |= \"timeout\"'")->required();
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
  return cmd;
}

int RunSearch(const SearchFlags& f) {
  // The selector is checked here first, so a typo shows a caret at once.
  auto sel = query::ParseSelector(f.selector);
  if (!sel.ok()) {
    PrintSelectorError(f.selector, sel.status());
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
  w.EndObject();
  std::string body = w.Take();

  std::string url = f.addr;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v1/query";

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  if (!curl) {
    std::fprintf(stderr, "loge search: cannot initialise libcurl\n");
    return 1;
  }
  std::string resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  std::string auth;
  if (!f.api_key.empty()) {
    auth = "Authorization: Bearer " + f.api_key;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, kRequestTimeoutSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    if (rc == CURLE_COULDNT_CONNECT) {
      std::fprintf(stderr, "loge search: cannot connect to %s: connection refused (is loge running there?)\n",
                   f.addr.c_str());
    } else {
      std::fprintf(stderr, "loge search: request to %s failed: %s\n", f.addr.c_str(),
                   errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    return 1;
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
  simdjson::dom::array rows;
  if (!json_ok || doc["data"].get_array().get(rows)) {
    std::fprintf(stderr, "loge search: the server's answer is not a query result\n");
    return 1;
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
