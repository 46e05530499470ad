#include "server/handler_delete.h"

#include <cstdio>

#include "core/json_writer.h"
#include "core/time.h"
#include "server/loki_params.h"
#include "server/server.h"
#include "store/store.h"

namespace loge::server {

namespace {

// Unix ns as Loki prints a delete request's times: a JSON number of seconds
// to the millisecond, without trailing zeros (1591616227, 1591616227.5).
std::string Seconds(int64_t ns) {
  const int64_t ms = ns / 1'000'000;
  std::string out = std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) frac = -frac;
  if (frac == 0) return out;
  char buf[8];
  std::snprintf(buf, sizeof(buf), ".%03lld", static_cast<long long>(frac));
  std::string f = buf;
  while (f.back() == '0') f.pop_back();
  return out + f;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse Create(store::Store* store, const LokiForm& f) {
  const std::string query = f.Get("query");
  if (query.empty()) return ErrorFromStatus(Status::InvalidArgument("query: a delete request needs a query"));
  if (!f.Has("start") || f.Get("start").empty()) {
    return ErrorFromStatus(
        Status::InvalidArgument("start: a delete request needs a start time (unix seconds or RFC 3339)"));
  }
  auto start = ParseLokiTime(f.Get("start"), 0);
  if (!start.ok()) return ErrorFromStatus(start.status().WithContext("start"));
  auto end = ParseLokiTime(f.Get("end"), NowNanos());
  if (!end.ok()) return ErrorFromStatus(end.status().WithContext("end"));
  if (*start > *end) return ErrorFromStatus(Status::InvalidArgument("start: the start must not be after the end"));
  auto r = store->CreateDelete(query, *start, *end);
  if (!r.ok()) return ErrorFromStatus(r.status());
  return NoContent();
}

HttpResponse List(store::Store* store) {
  JsonWriter w;
  w.BeginArray();
  for (const auto& r : store->ListDeletes()) {
    w.BeginObject();
    w.Key("request_id");
    w.String(r.id);
    w.Key("start_time");
    w.Raw(Seconds(r.start));
    w.Key("end_time");
    w.Raw(Seconds(r.end));
    w.Key("query");
    w.String(r.query);
    w.Key("status");
    w.String(r.processed ? "processed" : "received");
    w.Key("created_at");
    w.Raw(Seconds(r.created_at));
    w.Key("rows_deleted");
    w.Uint(r.rows_deleted);
    w.EndObject();
  }
  w.EndArray();
  HttpResponse resp;
  resp.body = w.Take();
  return resp;
}

}  // namespace

HttpResponse HandleDelete(store::Store* store, HttpRequest& req) {
  auto f = ReadLokiForm(req);
  if (!f.ok()) return ErrorFromStatus(f.status());
  if (req.method == "POST") return Create(store, *f);
  if (req.method == "DELETE") {
    const std::string id = f->Get("request_id");
    if (id.empty()) return ErrorFromStatus(Status::InvalidArgument("request_id: which delete request to cancel"));
    Status st = store->CancelDelete(id);
    if (!st.ok()) return ErrorFromStatus(st);
    return NoContent();
  }
  return List(store);
}

HttpResponse HandleAdminDeletes(store::Store* store, HttpRequest&) {
  Status st = store->RunDeletesNow();
  if (!st.ok()) return ErrorFromStatus(st);
  const auto s = store->Stats().deletes;
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  w.Key("pending");
  w.Uint(s.pending);
  w.Key("processed");
  w.Uint(s.processed);
  w.Key("rows_deleted");
  w.Uint(s.rows_deleted);
  w.Key("bytes_deleted");
  w.Uint(s.bytes_deleted);
  w.Key("files_rewritten");
  w.Uint(s.files_rewritten);
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace loge::server
