// Loki's delete API (docs/loki-api.md, docs/retention.md "Deleting lines"),
// under /loki/api/v1/delete and /api/v1/delete, behind --api-key:
//
//   POST   ?query=<selector [line filters]>&start=<time>[&end=<time>]
//          204: recorded; its rows are hidden from every query at once.
//          start is required (as in Loki); end defaults to now. Times as
//          Loki's (unix seconds, float seconds, ns, RFC 3339).
//   GET    200: [{"request_id","start_time","end_time","query","status",
//          "created_at","rows_deleted"}], oldest first; times in unix
//          seconds (float), status "received" or "processed".
//   DELETE ?request_id=<id>  204: cancelled (its rows show again); 404
//          unknown id; 400 once processed.
//
//   POST /api/v1/admin/deletes  runs one processing pass now (the rows of
//          requests past --delete-cancel-period leave the files).
//
// Thread-safety: stateless functions; the store serialises the work.
#pragma once

#include "server/http_server.h"

namespace loge::store {
class Store;
}

namespace loge::server {

HttpResponse HandleDelete(store::Store* store, HttpRequest& req);
HttpResponse HandleAdminDeletes(store::Store* store, HttpRequest& req);

}  // namespace loge::server
