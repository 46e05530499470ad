// `loge search QUERY`: queries a running server over POST /api/v1/query
// and prints the rows, newest first, or a metric query's samples as a table. With --local, it asks the server for a
// search plan (GET /api/v1/search/plan: the server's own rows plus presigned
// URLs of the cold segments that may hold more) and scans those segments on
// this machine with the same engine and VFS the server uses, then merges.
#pragma once

#include <string>

namespace CLI {
class App;
}
namespace simdjson::dom {
class object;
}

namespace loge::cli {

struct SearchFlags {
  std::string selector;
  std::string addr = "http://localhost:3000";
  std::string since;  // relative: "1h" means from now-1h
  std::string until;  // relative: "5m" means until now-5m
  std::string start;  // RFC 3339 or unix ns; overrides --since
  std::string end;    // RFC 3339 or unix ns; overrides --until
  int limit = 100;
  std::string output = "text";
  std::string api_key;  // --api-key or LOGE_API_KEY
  bool local = false;      // --local: scan the cold segments here
  int concurrency = 8;     // --concurrency: segments scanned at once with --local
  int frame_cache_size = 512;  // --frame-cache-size: decoded frames kept per segment with --local
  std::string step;        // --step: a metric query's resolution ("1m"); "" = the server's default
};

// Registers `search` on app; returns the subcommand.
CLI::App* AddSearchCommand(CLI::App* app, SearchFlags* f);

// Runs the search. Exit code: 0 success (also with no rows), 1 server or
// transport error, 2 usage or selector error.
int RunSearch(const SearchFlags& f);

// Prints a metric answer's `data` ({resultType, result}) as a table, or one
// JSON object per sample with --output json (search_metric.cc).
int PrintMetricAnswer(const SearchFlags& f, simdjson::dom::object data);

}  // namespace loge::cli
