// GET /loki/api/v1/tail: Loki's live tail over a WebSocket (docs/loki-api.md,
// "Live tail").
//
//   query      LogQL log query: selector and pipeline (required)
//   limit      entries of the backfill, and at most per frame (default 100, ≤ 5000)
//   delay_for  seconds to hold entries back, 0–5 (default 0)
//   start      backfill from here (ns, seconds, RFC 3339; default now − 1 h)
//
// Everything is checked before the upgrade: a bad parameter answers 400
// and a missing or wrong --api-key 401, as plain HTTP responses. Then the
// tailer is registered (tail.h), the backfill query runs through the
// engine, and the connection opens with the backfill as its first frame.
#include <algorithm>
#include <map>

#include "core/json_writer.h"
#include "core/time.h"
#include "query/logql.h"
#include "server/handler_explore.h"
#include "server/loki_params.h"
#include "server/server.h"
#include "server/tail.h"

namespace loge::server {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// Loki's limits: maxDelayForInTailing, max_entries_limit_per_query.
constexpr int64_t kMaxDelayForSeconds = 5;
constexpr int64_t kMaxTailLimit = 5000;
constexpr int64_t kDefaultBackfill = 3600 * kNsPerSec;

// The application side of one tail connection.
class TailConnection : public WebSocketHandler {
 public:
  TailConnection(TailHub* hub, std::shared_ptr<Tailer> t, std::string first)
      : hub_(hub), tailer_(std::move(t)), first_(std::move(first)) {}
  void OnOpen(std::shared_ptr<WebSocketConn> conn) override { hub_->Open(tailer_, std::move(conn), std::move(first_)); }
  void OnClose() override { hub_->Remove(tailer_); }

 private:
  TailHub* const hub_;
  const std::shared_ptr<Tailer> tailer_;
  std::string first_;  // the backfill frame
};

HttpResponse BadRequest(const std::string& msg) {
  HttpResponse r;
  r.status = 400;
  r.content_type = "text/plain; charset=utf-8";
  r.body = msg + "\n";
  return r;
}

// The backfill's hits as one frame, oldest first, grouped by their labels
// (stream, structured metadata and parsed labels merged, as /query_range
// without categorize-labels).
std::string BackfillFrame(const std::vector<query::Hit>& hits) {
  std::map<Labels, std::vector<const query::Hit*>> streams;
  for (auto it = hits.rbegin(); it != hits.rend(); ++it) {
    Labels key = it->stream;
    key.insert(key.end(), it->structured.begin(), it->structured.end());
    key.insert(key.end(), it->parsed.begin(), it->parsed.end());
    std::sort(key.begin(), key.end());
    streams[key].push_back(&*it);
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("streams");
  w.BeginArray();
  for (const auto& [labels, entries] : streams) {
    w.BeginObject();
    w.Key("stream");
    w.BeginObject();
    for (const auto& [k, v] : labels) {
      w.Key(k);
      w.String(v);
    }
    w.EndObject();
    w.Key("values");
    w.BeginArray();
    for (const query::Hit* h : entries) {
      w.BeginArray();
      w.String(std::to_string(h->ts));
      w.String(h->line);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("dropped_entries");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace

UpgradeAnswer Server::HandleUpgrade(HttpRequest& req) {
  UpgradeAnswer a;
  const RouteMatch m = FindRoute(Routes(), req);
  if (m.route == nullptr || !m.route->websocket) {
    // Not a WebSocket endpoint: answer as a plain request would be.
    a.refuse = Handle(req);
    return a;
  }
  // The route's gate (401 before the upgrade, then 405), as for plain requests.
  if (auto refused = Gate(*m.route, req)) {
    a.refuse = std::move(*refused);
    return a;
  }
  auto params = ParseQueryString(req.query);
  if (!params.ok()) {
    a.refuse = BadRequest(params.status().message());
    return a;
  }
  auto get = [&](std::string_view name) -> std::string {
    for (const auto& [k, v] : *params) {
      if (k == name) return v;
    }
    return "";
  };
  query::ParseOptions po;
  po.loki_errors = true;
  po.require_matcher = true;
  auto expr = query::ParseExpr(get("query"), po);
  if (!expr.ok()) {
    a.refuse = BadRequest(expr.status().message());
    return a;
  }
  if (!(*expr)->IsLog()) {
    a.refuse = BadRequest("tail only supports log queries, not metric queries");
    return a;
  }
  int64_t limit = static_cast<int64_t>(query::kDefaultLimit);
  if (std::string l = get("limit"); !l.empty()) {
    if (!ParseInt64(l, &limit)) {
      a.refuse = BadRequest("strconv.Atoi: parsing " + query::GoQuote(l) + ": invalid syntax");
      return a;
    }
    if (limit <= 0) {
      a.refuse = BadRequest("limit must be a positive value");
      return a;
    }
    if (limit > kMaxTailLimit) {
      a.refuse = BadRequest("max entries limit per query exceeded, limit > max_entries_limit_per_query (" +
                            std::to_string(limit) + " > " + std::to_string(kMaxTailLimit) + ")");
      return a;
    }
  }
  int64_t delay = 0;
  if (std::string d = get("delay_for"); !d.empty()) {
    if (!ParseInt64(d, &delay) || delay < 0) {
      a.refuse = BadRequest("strconv.Atoi: parsing " + query::GoQuote(d) + ": invalid syntax");
      return a;
    }
    if (delay > kMaxDelayForSeconds) {
      a.refuse = BadRequest("delay_for can't be greater than " + std::to_string(kMaxDelayForSeconds));
      return a;
    }
  }
  const int64_t now = NowNanos();
  auto start = ParseLokiTime(get("start"), now - kDefaultBackfill);
  if (!start.ok()) {
    a.refuse = BadRequest(start.status().message());
    return a;
  }

  query::Query q;
  q.SetSelector((*expr)->selector);
  auto tailer = std::make_shared<Tailer>(q, static_cast<size_t>(limit), delay * kNsPerSec, tail_hub_->options());
  // Registered first: whatever is pushed from here on is offered live.
  tail_hub_->Add(tailer);
  q.start = *start;
  q.end = NowNanos();
  q.limit = static_cast<size_t>(limit);
  q.want_labels = true;
  auto res = engine_->Run(q);
  if (!res.ok()) {
    tail_hub_->Remove(tailer);
    a.refuse = ErrorFromStatus(res.status());
    return a;
  }
  std::string first;
  if (!res->hits.empty()) {
    std::vector<std::string> keys;
    keys.reserve(res->hits.size());
    for (const auto& h : res->hits) keys.push_back(Tailer::EntryKey(h.labels_json, h.ts, h.line));
    tailer->RememberSent(std::move(keys));
    first = BackfillFrame(res->hits);
  }
  a.accept = std::make_shared<TailConnection>(tail_hub_.get(), tailer, std::move(first));
  return a;
}

}  // namespace loge::server
