// Loki's ingest surface: POST /loki/api/v1/push and GET /ready, with Loki's
// status codes and plain-text errors, so Promtail, Grafana Alloy, Vector,
// Fluent Bit, the Docker driver and the Node transports ship here unchanged.
//
//   204  stored (after the WAL fsync when --durable), empty body
//   400  bad input, text/plain reason (clients drop the batch)
//   413  body or decoded body over --max-body-size
//   415  unsupported Content-Encoding (Loki says 400; both are final for clients)
//   429  head full, with Retry-After (clients retry)
//   503  shutting down or read-only (clients retry)
#include "server/server.h"

namespace loge::server {

namespace {

// Loki's errors are Go http.Error output: the message and a newline, as
// text/plain. The status code and headers (Retry-After) come from the one
// Status -> HTTP mapping.
HttpResponse TextError(const Status& st) {
  HttpResponse r = ErrorFromStatus(st);
  r.content_type = "text/plain; charset=utf-8";
  r.body = st.message() + "\n";
  return r;
}

}  // namespace

HttpResponse Server::HandleLokiPush(HttpRequest& req) {
  // X-Scope-OrgID (the tenant) is accepted and ignored: loge has one tenant.
  Payload p;
  Status st = DecodePushBody(req, /*loki=*/true, &p);
  if (st.ok()) st = StoreDiscovered(std::move(p), /*service_name=*/true);
  if (!st.ok()) return TextError(st);
  HttpResponse r;
  r.status = 204;
  return r;
}

// The port opens only after WAL replay (Server::Start), so a listening server
// is ready until Shutdown begins; from then on 503, so a health-checking
// shipper (Vector) holds its data rather than send it to a server going away.
// Also 503, with the reason, while pushes would be refused: read-only mode
// (disk nearly full) or a failed WAL (docs/reliability.md, "Disk full").
HttpResponse Server::HandleReady(HttpRequest&) {
  if (shut_.load()) return TextError(Status::Unavailable("shutting down"));
  if (Status st = store_->Writable(); !st.ok()) return TextError(st);
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "ready\n";
  return r;
}

}  // namespace loge::server
