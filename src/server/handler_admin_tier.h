// The S3 tier's admin endpoint:
//
//   POST /api/v1/admin/rotate
//       {"status":"success","data":{"uploaded":1,"upload_failed":0,"waiting":0,
//        "adopted":0,"dropped":0,"pending":0,"retired_deleted":0,"local_deleted":0}}
//       Runs one rotation pass now (segments older than --s3-rotate-age go
//       to S3), then a reconcile pass against the bucket listing, then
//       releases local copies whose grace window has passed — so tests and
//       operators never wait for --s3-rotate-interval. 503 when no S3 tier
//       is configured (no --s3-bucket) or a segment could not be uploaded
//       (it stays local; the message carries the counts and the S3 error).
//
// Thread-safety: a stateless function; passes are serialised by the uploader.
#pragma once

#include "server/http_server.h"

namespace loge::store {
class Store;
}

namespace loge::server {

HttpResponse HandleAdminRotate(store::Store* store, HttpRequest& req);

}  // namespace loge::server
