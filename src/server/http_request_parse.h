// Internal to server/: how a connection turns bytes into an HttpRequest —
// the parser's limits, the request's head, the body limit of the pool that
// will serve it, and the answers to a request that cannot be read.
// http_session.cc reads from a socket with these; http_request_fuzz.cc feeds
// the same parser from memory, so both apply the same limits and answers.
//
// Thread-safety: stateless functions.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "server/http_server.h"

namespace loge::server {

// Bytes of a request's line and header fields a connection reads at most;
// beyond, the request is answered 400 and the connection closed.
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestHeader = boost::beast::http::request_header<>;

// An HttpRequest holding the method, target (split into path and query) and
// the header fields (names lowercased) of a parsed header; no body.
HttpRequest RequestHead(const RequestHeader& h);

// The pool (index into opts.pools, or 0 when opts.pools is empty) that
// serves `req`: opts.classify's choice, 0 when it has none or names no pool.
size_t PoolIndexFor(const HttpServerOptions& opts, const HttpRequest& req, size_t pools);

struct BodyLimit {
  size_t bytes = 0;  // the largest body the request may send
  std::string flag;  // the flag that sets it, named in a 413
};
// The body limit of a request served by `pool` (null: none known yet, as
// before the header is read): the pool's own when it has one, else
// opts.max_body_bytes (--max-body-size).
BodyLimit BodyLimitOf(const HttpServerOptions& opts, const HandlerPoolOptions* pool);

// A 413 when the header declares a Content-Length over `limit`, so an
// oversize body is refused before it is read; nullopt otherwise.
std::optional<HttpResponse> RefuseDeclaredLength(const RequestHeader& h, const BodyLimit& limit);

// The answer to a read that failed with `ec`: 413 past the body limit, 400
// for a malformed request (the connection is then closed); nullopt when
// there is nobody to answer (the client left, reset, or timed out).
std::optional<HttpResponse> ReadErrorAnswer(const boost::beast::error_code& ec, const BodyLimit& limit);

// {"status":"error","error":reason} with `status`: the answers of the HTTP
// layer itself, before any handler runs.
HttpResponse HttpErrorResponse(int status, const std::string& reason);

}  // namespace loge::server
