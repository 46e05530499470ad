// GET /api/v1/search/plan?query=&start=&end=&limit= : what `loge search
// --local` needs to answer a query on the client's machine (docs/s3.md
// "Search plan"):
//
//   {"status":"success",
//    "hot":[{timestamp, line, labels, metadata?}, …],   // like /api/v1/query's data
//    "segments":[{"id","url","min_ts","max_ts","bytes","rows","label_keys"}, …],
//                                 // label_keys: null when unknown (a segment adopted by reconcile)
//    "expires_at": <unix seconds>,                      // when the URLs stop working
//    "partial": bool, "warnings": [...], "stats": {…}}
//
// `hot` is the server's own answer over the head and its local files (the
// top `limit` rows). `segments` are the remote segments that survive catalog
// pruning (time, label keys, content filters) and could still beat the
// limit-th hot row, newest first, each with a presigned GET URL. Merging the
// client's scan of the segments with `hot` and keeping the newest `limit`
// gives exactly the answer of POST /api/v1/query.
#include <chrono>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "server/handler_explore.h"
#include "server/server.h"
#include "store/store.h"
#include "storage/zstd_vfs.h"
#include "tier/object_store.h"
#include "tier/sigv4.h"

namespace loge::server {

namespace {

Status ParseTime(const std::string& name, const std::string& v, int64_t* out) {
  if (ParseInt64(v, out)) return Status::OK();
  auto t = ParseRfc3339(v);
  if (!t.ok()) {
    return Status::InvalidArgument(name + ": want unix nanoseconds or an RFC 3339 time, got \"" + v + "\"");
  }
  *out = *t;
  return Status::OK();
}

Result<query::Query> ParsePlanRequest(const HttpRequest& req) {
  LOGE_ASSIGN_OR_RETURN(auto params, ParseQueryString(req.query));
  query::Query q;
  for (const auto& [name, v] : params) {
    if (v.empty()) continue;
    if (name == "start") {
      LOGE_RETURN_IF_ERROR(ParseTime("start", v, &q.start));
    } else if (name == "end") {
      LOGE_RETURN_IF_ERROR(ParseTime("end", v, &q.end));
    } else if (name == "limit") {
      int64_t n = 0;
      if (!ParseInt64(v, &n) || n < 0) return Status::InvalidArgument("limit: want a non-negative integer");
      q.limit = n == 0 ? query::kDefaultLimit : std::min<size_t>(static_cast<size_t>(n), query::kMaxLimit);
    } else if (name == "query") {
      if (v.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      auto sel = query::ParseSelector(v);
      if (!sel.ok()) return sel.status();  // "1:14: …": the position leads
      q.SetSelector(std::move(*sel));
    }
  }
  if (q.start > q.end) return Status::InvalidArgument("start is after end");
  return q;
}

}  // namespace

Result<std::string> KeyFromPublicUrl(const tier::ObjectStore& store, std::string_view url) {
  const std::string base = store.PublicUrl("");
  if (!url.starts_with(base) || url.size() == base.size()) {
    return Status::InvalidArgument(storage::RemoteCacheKey(url) + " is not an object under " + base);
  }
  return tier::sigv4::UriDecode(url.substr(base.size()), /*plus_is_space=*/false);
}

HttpResponse Server::HandleSearchPlan(HttpRequest& req) {
  auto q = ParsePlanRequest(req);
  if (!q.ok()) return ErrorFromStatus(q.status());
  auto plan = engine_->Plan(*q);
  if (!plan.ok()) return ErrorFromStatus(plan.status());
  query::QueryResult& local = plan->local;

  struct Segment {
    const storage::FileHandle* file;
    std::string url;
  };
  std::vector<Segment> segments;
  const auto expiry = opts_.presign_expiry;
  const int64_t expires_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() +
      expiry.count();
  for (const auto& f : plan->remote) {
    const std::string shown = storage::RemoteCacheKey(f->entry.path);
    if (opts_.object_store == nullptr) {
      local.warnings.push_back(shown + ": not listed: this server has no object store configured");
      continue;
    }
    auto key = KeyFromPublicUrl(*opts_.object_store, f->entry.path);
    Result<std::string> url = key.ok() ? opts_.object_store->PresignGet(*key, expiry) : key.status();
    if (!url.ok()) {
      local.warnings.push_back(shown + ": not listed: " + url.status().ToString());
      continue;
    }
    segments.push_back({f.get(), std::move(*url)});
  }
  local.partial = !local.warnings.empty();

  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("hot");
  w.BeginArray();
  WriteHits(local.hits, &w);
  w.EndArray();
  w.Key("segments");
  w.BeginArray();
  for (const auto& s : segments) {
    const storage::CatalogEntry& e = s.file->entry;
    w.BeginObject();
    w.Key("id");
    w.Int(e.id);
    w.Key("url");
    w.String(s.url);
    w.Key("min_ts");
    w.Int(e.min_ts);
    w.Key("max_ts");
    w.Int(e.max_ts);
    w.Key("bytes");
    w.Uint(e.bytes);
    w.Key("rows");
    w.Uint(e.rows);
    w.Key("label_keys");
    if (!e.label_keys_known) {
      // Adopted from a bucket listing (reconcile): the keys are unknown, and
      // an empty list would let the client prune the segment for any label
      // matcher. null tells it to keep the segment (as the server's planner does).
      w.Null();
    } else {
      w.BeginArray();
      for (const auto& k : e.label_keys) w.String(k);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  // The pending delete requests: the client hides their rows in the
  // segments it scans itself, as the server does (docs/retention.md).
  w.Key("deletes");
  w.BeginArray();
  if (const query::Tombstones deletes = store_->PendingDeletes()) {
    for (const auto& t : *deletes) {
      w.BeginObject();
      w.Key("request_id");
      w.String(t.id());
      w.Key("query");
      w.String(t.query());
      w.Key("start");
      w.Int(t.start());
      w.Key("end");
      w.Int(t.end());
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("expires_at");
  w.Int(segments.empty() ? 0 : expires_at);
  WritePartial(local, &w);
  w.Key("stats");
  w.BeginObject();
  w.Key("files_considered");
  w.Uint(local.stats.files_considered);
  w.Key("files_pruned");
  w.Uint(local.stats.files_pruned);
  w.Key("files_opened");
  w.Uint(local.stats.files_opened);
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
