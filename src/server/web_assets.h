// The web UI bundle: webdist/ (built from web/ by `make web`, committed)
// compiled into the binary, and how it is served at "/".
//
// The build turns every file under webdist/ into a byte array
// (web/embed.cmake writes <build>/generated/web_assets_data.cc), so the
// server never touches the file system to answer a UI request and can serve
// nothing but the bundle. A file `x.js` may come with `x.js.gz`, gzipped at
// build time; that variant is sent to clients that accept gzip.
//
// Thread-safety: the table is immutable static data; every function is pure.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "server/http_server.h"

namespace loge::server {

struct EmbeddedFile {
  const char* path;           // relative to webdist/: "index.html", "assets/app-4F2A.js"
  const unsigned char* data;  // the file's bytes
  size_t size;                // bytes
};

// Every embedded file, sorted by path; empty when webdist/ was empty at build
// time. Defined in the generated web_assets_data.cc.
std::span<const EmbeddedFile> EmbeddedFiles();

// The file at `path` (no leading '/'), or nullptr.
const EmbeddedFile* FindEmbeddedFile(std::string_view path);

// Content-Type for a file name by its extension ("text/html; charset=utf-8",
// "text/javascript; charset=utf-8", ...); application/octet-stream when unknown.
std::string_view ContentTypeFor(std::string_view path);

// True if an Accept-Encoding header value admits gzip ("gzip", "br, gzip;q=0.8",
// "*"), false for absent, "identity", or "gzip;q=0".
bool AcceptsGzip(std::string_view accept_encoding);

// Answers a GET or HEAD for a path outside /api/: the embedded file at that
// path, or index.html for any other path (the UI routes on the client). Hashed
// assets (under assets/) are cacheable for a year; index.html must be
// revalidated. 405 for other methods; 404 only when the bundle is empty.
HttpResponse ServeUi(const HttpRequest& req);

}  // namespace loge::server
