// What every ingest handler (Loki push, OTLP, Elasticsearch bulk, JSON
// lines) shares before its decoder runs. Internal to server/.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/http_server.h"

namespace loge::server {

// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaType(std::string_view content_type);

// Replaces req->body by its decoding under Content-Encoding gzip, x-gzip or
// deflate (capped at max_bytes: PayloadTooLarge past it); absent and
// identity leave it alone. Any other encoding is Unsupported.
Status UndoContentEncoding(HttpRequest* req, size_t max_bytes);

// True when a request for / comes from an Elasticsearch client checking the
// server (Filebeat, Logstash, the clients: Accept mentions json, an
// x-elastic-* header, or a shipper's User-Agent) rather than from a browser
// (Accept: text/html) or curl, which get the web UI.
bool IsEsProbe(const HttpRequest& req);

}  // namespace loge::server
