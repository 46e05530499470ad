// GET / and every other path outside /api/: the embedded web UI.
#include <string>

#include "server/server.h"
#include "server/web_assets.h"

namespace loge::server {

namespace {

// File names under assets/ carry a content hash (web/scripts/build.mjs), so
// a cached copy can never be stale: let browsers keep it for a year.
constexpr std::string_view kImmutableCache = "public, max-age=31536000, immutable";
// index.html names the current hashes, so it is revalidated on every load.
constexpr std::string_view kRevalidate = "no-cache";
// The UI loads only its own script and stylesheet and talks only to this
// server; style attributes are set from script (virtualised rows).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

}  // namespace

HttpResponse ServeUi(const HttpRequest& req) {
  bool head = req.method == "HEAD";
  if (req.method != "GET" && !head) {
    HttpResponse r = ErrorFromStatus(Status::InvalidArgument("method " + req.method + " not allowed on " + req.path));
    r.status = 405;
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  std::string_view path = req.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  // A .gz file is only ever a variant of another file, never a page.
  const EmbeddedFile* file = path.ends_with(".gz") ? nullptr : FindEmbeddedFile(path);
  if (file == nullptr) file = FindEmbeddedFile("index.html");
  HttpResponse r;
  if (file == nullptr) {
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "This loge was built without its web UI: run `make web`, then rebuild.\n";
    return r;
  }
  std::string_view name = file->path;
  r.content_type = std::string(ContentTypeFor(name));
  r.headers.emplace_back("Cache-Control", std::string(name.starts_with("assets/") ? kImmutableCache : kRevalidate));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (name == "index.html") {
    r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  const EmbeddedFile* body = file;
  if (const EmbeddedFile* gz = FindEmbeddedFile(std::string(name) + ".gz")) {
    r.headers.emplace_back("Vary", "Accept-Encoding");
    if (AcceptsGzip(req.Header("accept-encoding"))) {
      body = gz;
      r.headers.emplace_back("Content-Encoding", "gzip");
    }
  }
  // For HEAD too: the HTTP layer sends its length, not its bytes.
  r.body.assign(reinterpret_cast<const char*>(body->data), body->size);
  return r;
}

}  // namespace loge::server
